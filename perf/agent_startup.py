"""How soon the seed agent makes its first model call, in the agent image, against the
agent of an earlier commit side by side.

One sandbox of the agent runtime image (1 CPU by default) holds both agents and the scripted
model. Each round runs, in turn (the order rotating): `python -c pass`, the baseline agent
and this tree's agent, each as `python -m coding_agent` on a one-file repository with its
own config.toml (so meta-reasoning: a ranking, then one `submit`). Timed inside the sandbox,
from the process's start to its first model request reaching the server and to its exit,
in wall seconds and in the process's CPU seconds (which hardly depend on the machine's
load). Prints medians per side (minimum in brackets), this tree over the baseline, and the
target: the first model call within 0.8 s on a quiet core, or within half of the baseline's.

    python perf/agent_startup.py [--baseline REV] [--rounds 9] [--cpus 1] [--strategy S]

The baseline defaults to the commit before the last one that changed
archive/base/coding_agent. This file also runs inside the sandbox (`--inside`, standard
library and the scripted server only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT = "archive/base"
TARGET_SECONDS = 0.8
SIDES = ("pass", "baseline", "this tree")
IN_BOX = "/task/startup"  # agents under IN_BOX/<side>, this file and scripted.py in IN_BOX/lib


# -- inside the sandbox ----------------------------------------------------------------------


MEASURES = ("first_call", "first_call_cpu", "total", "total_cpu")
"""Wall and CPU seconds from the process's start to its first model request, and to its exit."""


def measure_inside(rounds: int, strategy: str | None) -> dict:
    """Run every side `rounds` times against one scripted server; seconds per side."""
    sys.path.insert(0, f"{IN_BOX}/lib")
    import scripted  # the standalone scripted model server, copied in by the host

    # Matched on the request's shape, not on prompt text, so any version of the agent fits:
    # with tools offered it is the coder (submit at once); without, the ranker.
    rules = [{"name": "coder", "tools_offered": "submit",
              "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "ok"}}]}},
             {"name": "ranker", "respond": {"content": "@@ranking\ndirect-edit\n@@end"}}]
    repo = Path(tempfile.mkdtemp(prefix="repo-"))
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    problem = repo.parent / "problem.md"
    problem.write_text("add() subtracts instead of adding")
    timings = {side: {measure: [] for measure in MEASURES} for side in SIDES}
    with scripted.ScriptedServer({"rules": rules}) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "x",
               "AGENTFORGE_MODEL": "scripted"}
        for number in range(rounds):
            for side in SIDES[number % 3:] + SIDES[:number % 3]:
                if side == "pass":
                    command, cwd = [sys.executable, "-c", "pass"], "/"
                else:
                    cwd = f"{IN_BOX}/{side.replace(' ', '-')}"
                    command = [sys.executable, "-m", "coding_agent", "--repo", str(repo),
                               "--problem", str(problem), "--out", f"{cwd}-out-{number}",
                               *(["--strategy", strategy] if strategy else [])]
                for measure, value in run_once(command, cwd, env, server, side).items():
                    timings[side][measure].append(value)
            print(f"round {number + 1}: " + ", ".join(
                f"{side} {timings[side]['total'][-1]:.2f} s" for side in SIDES),
                file=sys.stderr, flush=True)
    return timings


def run_once(command: list[str], cwd: str, env: dict, server, side: str) -> dict[str, float]:
    """One process: wall and CPU seconds to its first model request (if any) and to its end."""
    seen = len(server.requests)
    cpu_before = _children_cpu()
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    first_call_cpu = None
    if side != "pass":
        # The CPU the process has used when its first request arrives: unlike wall time,
        # it hardly depends on what else the machine is doing. (Ticks of 10 ms.)
        while proc.poll() is None and len(server.requests) == seen:
            time.sleep(0.005)
        if len(server.requests) > seen:
            first_call_cpu = _process_cpu(proc.pid)
    _, stderr = proc.communicate()
    measured = {"total": time.monotonic() - started, "total_cpu": _children_cpu() - cpu_before}
    if proc.returncode != 0:
        raise SystemExit(f"{side} failed ({proc.returncode}): {stderr[-2000:]}")
    if side != "pass":
        if first_call_cpu is None:
            raise SystemExit(f"{side} made no model call: {stderr[-2000:]}")
        measured.update(first_call=server.arrivals[seen] - started, first_call_cpu=first_call_cpu)
    return measured


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """User + system CPU seconds of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- on the host -----------------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def default_baseline() -> str:
    """The commit before the last one that changed the agent's code."""
    return git("log", "-1", "--format=%H", "--", f"{AGENT}/coding_agent") + "^"


def export_agents(baseline: str, folder: Path) -> None:
    """The baseline's agent (from git) and this tree's (without caches) under `folder`."""
    (folder / "baseline").mkdir(parents=True)
    archive = subprocess.run(["git", "archive", baseline, AGENT], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder / "baseline"), "--strip-components=2"],
                   input=archive, check=True)
    shutil.copytree(ROOT / AGENT, folder / "this-tree",
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))


def summary(values: list[float]) -> str:
    """Median and minimum of some seconds, or a dash."""
    if not values:
        return "-"
    return f"{statistics.median(values):7.3f} s [{min(values):.3f}]"


def print_table(timings: dict, labels: dict[str, str]) -> None:
    """Each side's medians, this tree over the baseline, and whether the target is met."""
    print(f"{'':30}" + "".join(f"{title:>20}" for title in (
        "first call, wall", "first call, CPU", "whole run, wall", "whole run, CPU")))
    for side in SIDES:
        print(f"{labels[side]:30.30}" + "".join(f"{summary(timings[side][m]):>20}"
                                                for m in MEASURES))
    medians = {side: {m: statistics.median(timings[side][m]) for m in MEASURES}
               for side in ("this tree", "baseline")}
    ratios = {m: medians["this tree"][m] / medians["baseline"][m] for m in MEASURES}
    print(f"{'this tree / baseline':30}" + "".join(f"{ratios[m]:20.2f}" for m in MEASURES))
    met = medians["this tree"]["first_call"] <= TARGET_SECONDS or ratios["first_call"] <= 0.5
    print(f"target: first model call <= {TARGET_SECONDS} s on a quiet core, or <= half the "
          f"baseline's ({medians['baseline']['first_call'] / 2:.3f} s): "
          f"{'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision of the agent to compare with")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cpus", type=float, default=1.0)
    parser.add_argument("--strategy", choices=["direct", "meta-prompting", "meta-reasoning"],
                        help="passed to both agents (default: their config.toml's)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(measure_inside(args.rounds, args.strategy)))
        return

    from agentforge.agent_contract import scripted_server_source
    from agentforge.sandbox import Sandbox, SandboxConfig
    from agentforge.sandbox.images import require_image

    baseline = args.baseline or default_baseline()
    baseline_commit = git("rev-parse", "--short", baseline)
    head = git("rev-parse", "--short", "HEAD") + (" (+changes)" if git("status", "--porcelain",
                                                                        "--", AGENT) else "")
    image = require_image("agent-runtime")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(SandboxConfig(
            image=image, cpus=args.cpus, labels={"agentforge.role": "perf-startup"})) as box:
        export_agents(baseline, Path(tmp))
        box.copy_in(Path(tmp), IN_BOX)
        box.write_files(f"{IN_BOX}/lib", {"scripted.py": scripted_server_source().read_bytes(),
                                          "agent_startup.py": Path(__file__).read_bytes()})
        command = ["python", f"{IN_BOX}/lib/agent_startup.py", "--inside",
                   "--rounds", str(args.rounds), *(["--strategy", args.strategy]
                                                   if args.strategy else [])]
        # Generous: under a load of 30 one round takes minutes.
        done = box.exec(command, timeout=300 * args.rounds + 120, workdir="/tmp")
    if not done.ok:
        raise SystemExit(f"the measurement failed in the sandbox ({done.describe()}):\n"
                         f"{done.output[-4000:]}")
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    load_after = os.getloadavg()

    labels = {"pass": "python -c pass", "baseline": f"baseline {baseline} ({baseline_commit})",
              "this tree": f"this tree {head}"}
    print(f"agent start-up in {image}, {args.cpus:g} CPU, {args.rounds} rounds, strategy "
          f"{args.strategy or 'from config.toml'}; medians [minimum]")
    print_table(timings, labels)
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
