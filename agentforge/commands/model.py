"""`agentforge model`: serve a scripted model, launch a local vLLM, check an endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(help="Serve, launch and check OpenAI-compatible model endpoints.",
                  no_args_is_help=True)


@app.command("serve-scripted")
def serve_scripted(
    script: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="Rules file (.toml or .json); see agentforge/llm/README."),
    port: int = typer.Option(8000, help="Port on 127.0.0.1; 0 picks a free one."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port_file: Path = typer.Option(None, help="Write the chosen port here once listening."),
    verbose: bool = typer.Option(False, help="Log every request to stderr."),
) -> None:
    """Serve an OpenAI-compatible API whose answers come from a script of rules."""
    from agentforge.llm import scripted

    argv = ["--script", str(script), "--port", str(port), "--host", host]
    if port_file:
        argv += ["--port-file", str(port_file)]
    if verbose:
        argv.append("--verbose")
    raise typer.Exit(scripted.main(argv))


@app.command("serve-vllm")
def serve_vllm(
    model: str = typer.Argument(..., help="Model to serve, e.g. Qwen/Qwen2.5-Coder-32B-Instruct."),
    port: int = typer.Option(8000, help="Port on 127.0.0.1."),
    tensor_parallel_size: int = typer.Option(None, help="GPUs to shard the model over."),
    max_model_len: int = typer.Option(None, help="Context length cap."),
    tool_call_parser: str = typer.Option(
        None, help="Enable tool calls with this parser (hermes for Qwen2.5, llama3_json, ...)."),
    startup_timeout: float = typer.Option(1800.0, help="Seconds to wait for the model."),
    command: str = typer.Option(None, hidden=True,
                                help="Replace `vllm serve` (a shell-quoted command)."),
) -> None:
    """Run `vllm serve` on 127.0.0.1 until Ctrl-C, after waiting for the model to be served."""
    import shlex
    import signal

    from agentforge.llm.vllm import VllmConfig, VllmServer

    config = VllmConfig(port=port, tensor_parallel_size=tensor_parallel_size,
                        max_model_len=max_model_len, tool_call_parser=tool_call_parser,
                        startup_timeout=startup_timeout,
                        **({"command": shlex.split(command)} if command else {}))
    # SIGTERM (from a supervisor) stops the server as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    server = VllmServer(model, config)
    typer.echo(f"starting: {' '.join(server.command())} (log: {server.log_path})", err=True)
    try:
        with server:
            typer.echo(f"serving {model} at {server.base_url}", err=True)
            while True:
                server.check_alive()
                time.sleep(2)
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command("check")
def check(
    model: str = typer.Option(..., help="Model spec (openai:NAME, vllm:NAME, scripted:PATH) "
                              "or, with --endpoint, the served model name."),
    endpoint: str = typer.Option(None, help="Base URL (…/v1) of an OpenAI-compatible server."),
    api_key_env: str = typer.Option(None, help="Environment variable holding the API key."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Send one chat and one tool-call request; exit 0 only when both work."""
    import json

    from agentforge.llm.check import check_endpoint
    from agentforge.llm.spec import resolve_endpoint

    target = resolve_endpoint(model, endpoint=endpoint, api_key_env=api_key_env)
    report = check_endpoint(target)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(f"model {report.model} at {report.base_url}")
        for name, probe in (("chat", report.chat), ("tool calling", report.tools)):
            mark = "ok  " if probe.ok else "FAIL"
            typer.echo(f"{mark} {name}: {probe.latency_s:.2f}s, {probe.prompt_tokens} prompt + "
                       f"{probe.completion_tokens} completion tokens; {probe.detail}")
        if report.token_param:
            typer.echo(f"completion cap sent as {report.token_param} "
                       f"({report.token_param_reason})")
        if report.hint:
            typer.echo(f"hint: {report.hint}")
    raise typer.Exit(0 if report.ok else 1)
