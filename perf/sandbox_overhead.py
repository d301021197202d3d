"""Overhead of the sandbox layer against the plain docker CLI, measured in one run.

(a) exec of `true` through Sandbox.exec vs `docker exec` (CLI subprocess) of the same
    command in the same container, and vs the Docker SDK's `exec_run` (target <= 1.1);
(b) Sandbox create+start+remove vs `docker run --rm IMAGE true`, and the same with one
    exec of `true` inside the sandbox.
Runs of the two sides alternate so that a load change on the machine hits both. Target:
every ratio <= 1.5.

    python perf/sandbox_overhead.py [--runs 40] [--lifecycle-runs 12]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from collections.abc import Callable

from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.engine import docker_client
from agentforge.sandbox.images import require_image

TARGET = 1.5
SDK_TARGET = 1.1


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def alternate(runs: int, ours: Callable[[], object], baseline: Callable[[], object]):
    """Median seconds of `ours` and of `baseline`, run turn about."""
    ours_times, base_times = [], []
    for i in range(runs):
        # Swap the order every run so neither side always goes first.
        pair = (ours, baseline) if i % 2 == 0 else (baseline, ours)
        first, second = timed(pair[0]), timed(pair[1])
        ours_times.append(first if i % 2 == 0 else second)
        base_times.append(second if i % 2 == 0 else first)
    return statistics.median(ours_times), statistics.median(base_times)


def docker_cli(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, stdout=subprocess.DEVNULL)


def report(label: str, ours: float, base: float, base_label: str) -> float:
    ratio = ours / base
    verdict = "ok" if ratio <= TARGET else f"ABOVE TARGET {TARGET}"
    print(f"{label:44} {ours * 1000:8.1f} ms   {base_label:28} {base * 1000:8.1f} ms"
          f"   ratio {ratio:4.2f}  {verdict}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="exec measurements per side")
    parser.add_argument("--lifecycle-runs", type=int, default=12,
                        help="create+start+remove measurements per side")
    args = parser.parse_args()
    image = require_image()
    config = SandboxConfig(image=image)
    print(f"image {image}; medians of {args.runs} exec runs and "
          f"{args.lifecycle_runs} lifecycle runs per side")

    with Sandbox(config) as box:
        box_api = docker_client().containers.get(box.container_id)
        for _ in range(3):  # warm up both paths (connection pool, page cache)
            box.exec(["true"])
            docker_cli("exec", "-u", config.user, box.name, "true")
        ours, base = alternate(
            args.runs,
            lambda: box.exec(["true"]),
            lambda: docker_cli("exec", "-u", config.user, "-w", config.workdir, box.name,
                               "true"),
        )
        sdk_ours, sdk = alternate(
            args.runs,
            lambda: box.exec(["true"]),
            lambda: box_api.exec_run(["true"], user=config.user, workdir=config.workdir),
        )
    exec_ratio = report("(a) Sandbox.exec(['true'])", ours, base, "docker exec CLI")
    sdk_ratio = report("(a') Sandbox.exec(['true'])", sdk_ours, sdk, "SDK exec_run")
    print(f"     exec vs exec_run: {'ok' if sdk_ratio <= SDK_TARGET else 'ABOVE'} "
          f"target {SDK_TARGET}")

    def lifecycle() -> None:
        with Sandbox(config):
            pass

    def lifecycle_with_exec() -> None:
        with Sandbox(config) as sandbox:
            sandbox.exec(["true"])

    def docker_run() -> None:
        docker_cli("run", "--rm", image, "true")

    ours, base = alternate(args.lifecycle_runs, lifecycle, docker_run)
    life_ratio = report("(b) Sandbox create+start+remove", ours, base, "docker run --rm IMG true")
    ours, base = alternate(args.lifecycle_runs, lifecycle_with_exec, docker_run)
    report("(b') ... plus one exec of `true`", ours, base, "docker run --rm IMG true")
    worst = max(exec_ratio, life_ratio)
    print(f"worst headline ratio {worst:.2f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
