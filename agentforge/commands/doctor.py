"""`agentforge doctor`: check that this machine can run agentforge, saying what to fix."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import typer

from agentforge.errors import AgentforgeError

MIN_FREE_GB = 10.0


@dataclass
class Check:
    """One check's outcome: a name, whether it passed, and what to do when it did not."""

    name: str
    ok: bool
    detail: str


def check_engine() -> Check:
    from agentforge.sandbox.engine import docker_client

    try:
        version = docker_client().version().get("Version", "?")
    except AgentforgeError as exc:
        return Check("docker engine", False, str(exc))
    return Check("docker engine", True, f"Docker {version}")


def check_images() -> list[Check]:
    from agentforge.sandbox import images

    checks = []
    for name in [n for n, s in images.image_specs().items() if s.built_by_default]:
        try:
            tag = images.find_built(name)
        except AgentforgeError as exc:
            return [Check("images", False, str(exc))]
        checks.append(
            Check(f"image {name}", tag is not None,
                  tag or f"not built for the current sources: run `agentforge images build {name}`")
        )
    return checks


def check_disk(path: Path = Path(".")) -> Check:
    free_gb = shutil.disk_usage(path).free / 1e9
    ok = free_gb >= MIN_FREE_GB
    detail = f"{free_gb:.1f} GB free"
    if not ok:
        detail += (f"; at least {MIN_FREE_GB:.0f} GB are needed for images and run directories:"
                   " free space or prune old images (`docker image prune`)")
    return Check("disk space", ok, detail)


def check_model() -> Check | None:
    """Check the model named by $AGENTFORGE_MODEL_SPEC, if one is configured."""
    from agentforge.llm.check import configured_model_check

    result = configured_model_check()
    return None if result is None else Check("model", *result)


def run_checks() -> list[Check]:
    engine = check_engine()
    checks = [engine]
    if engine.ok:
        checks += check_images()
    checks.append(check_disk())
    model = check_model()
    if model is not None:
        checks.append(model)
    return checks


def doctor() -> None:
    """Check the Docker engine, the sandbox images and disk space; exit 0 only if all pass."""
    checks = run_checks()
    for check in checks:
        mark = typer.style("ok  ", fg=typer.colors.GREEN) if check.ok else typer.style(
            "FAIL", fg=typer.colors.RED)
        typer.echo(f"{mark} {check.name}: {check.detail}")
    failed = [c for c in checks if not c.ok]
    if failed:
        typer.echo(f"{len(failed)} check(s) failed")
        raise typer.Exit(1)
    typer.echo("all checks passed")
