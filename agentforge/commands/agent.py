"""`agentforge agent`: run an agent's own tests, run it on a repository, export it.

An agent is named by a directory or by `RUN_DIR@NODE` (a node id or `best`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(help="Check an agent (its own tests), run it on one repository, export it.",
                  no_args_is_help=True)

AGENT = typer.Argument(None, metavar="AGENT",
                       help="Agent directory or RUN_DIR@NODE (node id or best); "
                            "default: the seed agent.")


def _agent(ref: str | None):
    """The AgentSpec a reference names (the seed agent when none is given)."""
    from agentforge.evolve.rundir.agent_ref import resolve_runnable_agent
    from agentforge.paths import archive_dir

    return resolve_runnable_agent(ref or archive_dir() / "base")[1]


@app.command()
def test(
    agent_ref: str = AGENT,
    timeout: float = typer.Option(300.0, help="Seconds the test suite may run."),
    contract: bool = typer.Option(False, "--contract",
                                  help="Also run the contract check (a freshly drawn task "
                                       "through the scripted model), as validation does."),
) -> None:
    """Run the agent's own tests as validation does (sandbox, the grader's pytest launcher and
    guard, scripted model at hand); exit 1 with the reason when validation would refuse it."""
    from agentforge.evolve.validation.agent import contract_check, own_tests

    agent = _agent(agent_ref)
    result = own_tests(agent, timeout=timeout)
    sys.stdout.write(result.output)
    reason = result.reason or (contract_check(agent, timeout) if contract else None)
    verdict = f"FAILED: {reason}" if reason else "passed"
    typer.echo(f"[agent {agent.name}] {'checks' if contract else 'tests'} {verdict} "
               f"(tests took {result.duration:.1f}s)", err=True)
    raise typer.Exit(1 if reason else 0)


@app.command()
def run(
    agent_ref: str = AGENT,
    repo: Path = typer.Option(..., help="Host directory copied into the sandbox's /workspace."),
    problem: Path = typer.Option(..., help="File holding the task statement."),
    model: str = typer.Option(..., help="Model spec: openai:NAME, vllm:NAME, scripted:FILE."),
    out: Path = typer.Option(Path("agent-run"), help="Folder for patch.diff, trajectory, ledger."),
    strategy: str = typer.Option(None, help="Passed as --strategy to the agent, if given."),
    timeout: float = typer.Option(1800.0, help="Seconds the agent may run."),
) -> None:
    """Run an agent on a repository in a sandbox, the model reached through the gateway."""
    from agentforge.agents.api import solve_in_sandbox

    result = solve_in_sandbox(_agent(agent_ref), repo, problem.read_text(encoding="utf-8"),
                              model=model, out=out, strategy=strategy, timeout=timeout)
    typer.echo(json.dumps({"stop_reason": result.stop_reason, "exit_code": result.exit_code,
                           "timed_out": result.timed_out, "duration": round(result.duration, 1),
                           "usage": result.usage, "cost_usd": round(result.cost_usd, 6),
                           "tokens": result.tokens,
                           "patch": str(out / "patch.diff"),
                           "trajectory": str(out / "out" / "trajectory.json")}, indent=1))
    raise typer.Exit(0 if result.exit_code == 0 else 1)


@app.command()
def export(
    agent_ref: str = typer.Argument(..., metavar="RUN_DIR@NODE",
                                    help="RUN_DIR@NODE (node id or best), or an agent directory."),
    out: Path = typer.Option(..., "--out", help="New or empty folder for the export."),
    git: bool = typer.Option(False, "--git", help="Make it a git repository, one commit per "
                             "ancestor (messages from the proposals)."),
) -> None:
    """Write a standalone agent: source, agentforge-agent.json, LINEAGE.md, lineage.patch."""
    from agentforge.agents.export import MANIFEST, export_agent

    folder = export_agent(agent_ref, out, git=git)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    typer.echo(f"exported {agent_ref} to {folder} ({len(manifest['files'])} files, "
               f"{manifest['contract']} contract)")
