"""`agentforge model`: serve a scripted model, launch a local vLLM, check an endpoint."""

from __future__ import annotations

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
