"""`agentforge agent`: run an agent directory's own tests, or run it on a repository."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import typer

app = typer.Typer(help="Check an agent (its own tests) or run it on one repository.",
                  no_args_is_help=True)


def _default_agent() -> Path:
    from agentforge.paths import archive_dir

    return archive_dir() / "base"


@app.command()
def test(
    agent_dir: Path = typer.Argument(None, help="Agent directory (default: the seed agent)."),
    timeout: float = typer.Option(300.0, help="Seconds the test suite may run."),
) -> None:
    """Run the agent's own tests in a sandbox with the scripted model; exit with pytest's code."""
    from agentforge.agent_runner import load_agent, run_agent_tests
    from agentforge.sandbox import Sandbox, SandboxConfig

    agent = load_agent(agent_dir or _default_agent())
    with Sandbox(SandboxConfig(labels={"agentforge.role": "agent-tests"})) as box:
        result = run_agent_tests(box, agent, timeout=timeout)
    sys.stdout.write(result.output)
    typer.echo(f"[agent {agent.name}] tests {'passed' if result.ok else 'FAILED'} "
               f"in {result.duration:.1f}s", err=True)
    raise typer.Exit(0 if result.ok else (result.exit_code or 1))


@app.command()
def run(
    agent_dir: Path = typer.Argument(None, help="Agent directory (default: the seed agent)."),
    repo: Path = typer.Option(..., help="Host directory copied into the sandbox's /workspace."),
    problem: Path = typer.Option(..., help="File holding the task statement."),
    model: str = typer.Option(..., help="Model spec: openai:NAME, vllm:NAME, scripted:FILE."),
    out: Path = typer.Option(Path("agent-run"), help="Folder for patch.diff, trajectory, ledger."),
    strategy: str = typer.Option(None, help="Passed as --strategy to the agent, if given."),
    timeout: float = typer.Option(1800.0, help="Seconds the agent may run."),
) -> None:
    """Run an agent on a repository in a sandbox, the model reached through the gateway."""
    from agentforge.agent_runner import load_agent, run_agent
    from agentforge.llm.gateway import Gateway
    from agentforge.llm.ledger import Ledger
    from agentforge.llm.spec import resolve_endpoint
    from agentforge.sandbox import Sandbox, SandboxConfig

    agent = load_agent(agent_dir or _default_agent())
    out.mkdir(parents=True, exist_ok=True)
    endpoint = resolve_endpoint(model)
    with Gateway(endpoint, Ledger(out / "ledger.sqlite")) as gateway:
        grant = gateway.grant(run_id=f"agent-run-{uuid.uuid4().hex[:8]}", role="agent")
        with Sandbox(grant.apply(SandboxConfig(labels={"agentforge.role": "agent"}))) as box:
            grant.start_forwarder(box)
            box.copy_in(repo, "/workspace")
            result = run_agent(box, agent, problem.read_text(encoding="utf-8"),
                               args=["--strategy", strategy] if strategy else [],
                               timeout=timeout, trajectory_dir=out)
    (out / "patch.diff").write_text(result.patch, encoding="utf-8")
    usage = (result.trajectory or {}).get("usage", {})
    typer.echo(json.dumps({"stop_reason": result.stop_reason, "exit_code": result.exit_code,
                           "timed_out": result.timed_out, "duration": round(result.duration, 1),
                           "usage": usage, "patch": str(out / "patch.diff"),
                           "trajectory": str(out / "out" / "trajectory.json")}, indent=1))
    raise typer.Exit(0 if result.exit_code == 0 else 1)
