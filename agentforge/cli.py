"""The `agentforge` command: one sub-app per noun, each in agentforge/commands/."""

from __future__ import annotations

import typer

from agentforge.commands import (
    agent,
    bench,
    doctor,
    evolve,
    images,
    import_runs,
    model,
    sandbox,
    status,
    web,
)
from agentforge.errors import AgentforgeError
from agentforge.progress import shown_on_stderr
from agentforge.version import __version__

app = typer.Typer(
    name="agentforge",
    help="Grow an archive of self-improving coding agents, validated in Docker sandboxes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(images.app, name="images")
app.add_typer(model.app, name="model")
app.add_typer(bench.app, name="bench")
app.add_typer(agent.app, name="agent")
app.command("doctor")(doctor.doctor)
app.add_typer(evolve.app, name="evolve")
app.command("status")(status.status)
app.add_typer(import_runs.app, name="import")
app.command(
    "web", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                             "help_option_names": []},  # `web export --help` is export's
)(web.web)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentforge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """agentforge: evolve coding agents in Docker sandboxes."""


def main() -> None:
    """Entry point: run the app, turning our own errors into one clear line and exit code 2."""
    try:
        with shown_on_stderr():
            app()
    except AgentforgeError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
