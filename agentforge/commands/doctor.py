"""`agentforge doctor`: check that this machine can run agentforge, saying what to fix."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import typer

from agentforge.commands.doctor_check import DoctorCheck
from agentforge.errors import AgentforgeError

MIN_FREE_GB = 10.0


def check_engine() -> DoctorCheck:
    from agentforge.sandbox.engine import docker_client

    try:
        version = docker_client().version().get("Version", "?")
    except AgentforgeError as exc:
        return DoctorCheck("docker engine", False, str(exc))
    return DoctorCheck("docker engine", True, f"Docker {version}")


def check_images() -> list[DoctorCheck]:
    from agentforge.sandbox import images

    checks = []
    for name in [n for n, s in images.image_specs().items() if s.built_by_default]:
        try:
            tag = images.find_built(name)
        except AgentforgeError as exc:
            return [DoctorCheck("images", False, str(exc))]
        checks.append(
            DoctorCheck(f"image {name}", tag is not None,
                  tag or f"not built for the current sources: run `agentforge images build {name}`")
        )
    return checks


def check_disk(path: Path = Path(".")) -> DoctorCheck:
    free_gb = shutil.disk_usage(path).free / 1e9
    ok = free_gb >= MIN_FREE_GB
    detail = f"{free_gb:.1f} GB free"
    if not ok:
        detail += (f"; at least {MIN_FREE_GB:.0f} GB are needed for images and run directories:"
                   " free space or prune old images (`docker image prune`)")
    return DoctorCheck("disk space", ok, detail)


PROBE_DISK_LIMIT_MIB = 16


def check_sandbox_disk(engine_ok: bool) -> DoctorCheck:
    """Which mechanism bounds sandboxes' disk writes here, tried for real when possible."""
    from agentforge.sandbox import Sandbox, SandboxConfig
    from agentforge.sandbox.disk import NONE, choose, storage_opt_supported
    from agentforge.sandbox.images import find_built

    default = SandboxConfig()
    try:
        choice = choose(default)
    except AgentforgeError as exc:
        return DoctorCheck("sandbox disk limit", False, str(exc))
    if choice.mechanism == NONE:
        return DoctorCheck("sandbox disk limit", True, f"{choice.reason}; an agent can fill this "
                     "machine's disk: run agentforge as root (loop disks) or set "
                     "AGENTFORGE_SANDBOX_DISK_LIMIT within the sandbox memory", warning=True)
    detail = f"{choice.mechanism}: {choice.reason}"
    image = find_built("agent-runtime") if engine_ok else None
    if image is None:
        return DoctorCheck("sandbox disk limit", True, detail + " (not tried: no engine or image)")
    probe = SandboxConfig(image=image, disk_limit=f"{PROBE_DISK_LIMIT_MIB}m",
                          disk_mechanism=choice.mechanism)
    try:
        with Sandbox(probe) as box:
            fill = box.exec(f"dd if=/dev/zero of=/workspace/fill bs=1M "
                            f"count={2 * PROBE_DISK_LIMIT_MIB} 2>&1", timeout=120)
    except AgentforgeError as exc:
        return DoctorCheck("sandbox disk limit", False, f"{choice.mechanism} failed here: {exc}")
    if "No space left on device" not in fill.output:
        return DoctorCheck("sandbox disk limit", False, f"{choice.mechanism} did not stop a write "
                     f"past {PROBE_DISK_LIMIT_MIB} MiB: {fill.output.strip()[-200:]}")
    detail += f"; tried: a write past {PROBE_DISK_LIMIT_MIB} MiB failed with ENOSPC"
    if storage_opt_supported():  # the driver says so; only creating a container tells
        with contextlib.suppress(AgentforgeError), Sandbox(
                probe.model_copy(update={"read_only_root": False})):
            pass
    root = ("bounded by --storage-opt size" if storage_opt_supported() else
            "NOT bounded (the storage driver takes no --storage-opt size)")
    return DoctorCheck("sandbox disk limit", True,
                 f"{detail}; writable root filesystems (SWE-bench grading): {root}",
                 warning=not storage_opt_supported())


def check_model() -> DoctorCheck | None:
    """Check the model named by $AGENTFORGE_MODEL_SPEC, if one is configured."""
    from agentforge.llm.check import configured_model_check

    result = configured_model_check()
    return None if result is None else DoctorCheck("model", *result)


def run_checks() -> list[DoctorCheck]:
    engine = check_engine()
    checks = [engine]
    if engine.ok:
        checks += check_images()
    checks.append(check_disk())
    checks.append(check_sandbox_disk(engine.ok))
    model = check_model()
    if model is not None:
        checks.append(model)
    return checks


def doctor(ray: str | None = typer.Option(
        None, "--ray", metavar="ADDRESS",
        help="Check a Ray cluster instead (auto, HOST:PORT or ray://HOST:10001): every node's "
             "Docker engine and sandbox images")) -> None:
    """Check the engine, the images, disk space and the sandbox disk limit; exit 0 if all pass."""
    if ray is not None:
        from agentforge.commands.doctor_ray import ray_checks

        checks = ray_checks(ray)
    else:
        checks = run_checks()
    for check in checks:
        mark = typer.style("ok  ", fg=typer.colors.GREEN) if check.ok else typer.style(
            "FAIL", fg=typer.colors.RED)
        if check.ok and check.warning:
            mark = typer.style("warn", fg=typer.colors.YELLOW)
        typer.echo(f"{mark} {check.name}: {check.detail}")
    failed = [c for c in checks if not c.ok]
    if failed:
        typer.echo(f"{len(failed)} check(s) failed")
        raise typer.Exit(1)
    typer.echo("all checks passed")
