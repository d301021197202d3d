"""`agentforge sandbox`: run one command in a sandbox, and reap leftovers."""

from __future__ import annotations

import sys

import typer

from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.reaper import reap as reap_containers

app = typer.Typer(help="Run commands in sandboxes and clean up after crashed runs.",
                  no_args_is_help=True)


@app.command(context_settings={"allow_interspersed_args": False})
def run(
    cmd: list[str] = typer.Argument(..., help="The command to run, after `--`."),
    image: str = typer.Option(None, help="Image to run (default: the agent runtime image)."),
    timeout: float = typer.Option(600.0, help="Wall-clock limit in seconds (exit 124 past it)."),
    memory: str = typer.Option("2g", help="Memory limit, e.g. 512m or 2g."),
    cpus: float = typer.Option(1.0, help="CPU quota in cores."),
    network: str = typer.Option("none", help="Docker network mode; `none` isolates fully."),
    workdir: str = typer.Option("/workspace", help="Working directory inside the sandbox."),
    copy: str = typer.Option(None, help="Host directory copied into /workspace first."),
) -> None:
    """Run one command in a fresh sandbox, print its output, exit with its exit status."""
    from pathlib import Path

    config = SandboxConfig(image=image, timeout=timeout, memory=memory, cpus=cpus,
                           network=network, workdir=workdir)
    with Sandbox(config) as box:
        if copy:
            box.copy_in(Path(copy), "/workspace")
        result = box.exec(cmd)
    sys.stdout.write(result.output)
    if result.output and not result.output.endswith("\n"):
        sys.stdout.write("\n")
    if not result.ok:
        typer.secho(f"[sandbox] {result.describe()}", fg=typer.colors.YELLOW, err=True)
    raise typer.Exit(result.exit_code)


@app.command()
def reap(
    all_: bool = typer.Option(False, "--all", help="Remove every agentforge container."),
    older_than: float = typer.Option(None, help="Also remove containers older than S seconds."),
    run_id: str = typer.Option(None, "--run", help="Only containers of this run."),
    dry_run: bool = typer.Option(False, help="List what would be removed, remove nothing."),
) -> None:
    """Remove sandboxes left behind by crashed runs (their owner process is gone)."""
    removed = reap_containers(everything=all_, older_than=older_than, dry_run=dry_run,
                              run_id=run_id)
    verb = "would remove" if dry_run else "removed"
    for item in removed:
        typer.echo(f"{verb} {item.name}: {item.reason}")
    typer.echo(f"{verb} {len(removed)} container(s)")
