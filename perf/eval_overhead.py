"""Where the time of one evaluation goes: the phase breakdown of N evaluations of one task.

Runs the seed agent of the offline demo (scripted model over real HTTP, real sandboxes) on one
task N times through the loop's own path (`steps.evaluate_job`: sandboxes, grading, archive
writes), one at a time, and times every framework call it makes: sandbox lifecycle, each exec
by purpose, file transfers, the gateway grant, archive writes. The agent's exec is split into
its start-up (exec start to its first model call), model time (the gateway's upstream
latency) and the rest. Framework overhead is everything but the agent process and the test
command; its share is of the evaluation's wall time.

    python perf/eval_overhead.py [--evaluations 8] [--task py-exercise-duration-format]
    python perf/eval_overhead.py --compare REF [--rounds 3]   # side by side with a commit

`--compare REF` checks REF out in a temporary worktree, builds its images, and runs batches of
evaluations alternately with REF's code and with this tree's (this script, PYTHONPATH set to
each tree), so that the machine's load hits both alike; it prints both breakdowns and the
ratios. Say the load (`uptime`) and the commits with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from revision import build_images, checkout, short, tree_env  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/offline-demo.toml"
IMAGES = ["agent-runtime", "toolchains"]  # what an evaluation of the bundled suite runs in

# (module, attribute path, label); a label None means: classify the exec by its command.
WRAPPED = [
    ("agentforge.sandbox.container", "Sandbox.start", "sandbox create+start"),
    ("agentforge.sandbox.container", "Sandbox.remove", "sandbox remove"),
    ("agentforge.sandbox.container", "Sandbox.exec", None),
    ("agentforge.sandbox.container", "Sandbox.kill_processes", "kill-all"),
    ("agentforge.sandbox.container", "Sandbox.start_background", "background start"),
    ("agentforge.sandbox.container", "Sandbox.copy_in", "files in"),
    ("agentforge.sandbox.container", "Sandbox.write_files", "files in"),
    ("agentforge.sandbox.container", "Sandbox.put", "files in"),
    ("agentforge.sandbox.container", "Sandbox.read_file", "files out"),
    ("agentforge.sandbox.container", "Sandbox.copy_out", "files out"),
    ("agentforge.trajectory_copy", "copy_trajectory", "trajectory copy"),
    ("agentforge.sandbox.socket_mount", "SocketMount.start_forwarder", "forwarder start"),
    ("agentforge.llm.gateway", "Gateway.grant", "gateway grant"),
    ("agentforge.llm.gateway", "Gateway.revoke", "gateway revoke"),
    ("agentforge.llm.gateway", "Gateway.flush", "gateway flush"),
    ("agentforge.store.sql", "SqlStore.start_evaluation", "archive writes"),
    ("agentforge.store.sql", "SqlStore.finish_evaluation", "archive writes"),
    ("agentforge.llm.ledger", "Ledger.spend", "archive writes"),
]

AHEAD = "on a thread: "
"""Label prefix of calls made on the spares' threads (starting the next sandboxes, removing
the last ones), beside the evaluation's own path."""

# Exec purposes, told apart by a piece of the command (first match wins).
PURPOSES = [
    ("agentforge: baseline", "git baseline"),
    ("read-tree", "patch (git diff)"),
    ("still alive", "kill-all"),
    ("--probe", "supervisor probe"),
    ("create_connection", "forwarder wait"),
    ("oom_kill", "oom probe"),
    ("chmod 0777", "report folder"),
    ("start.diff", "restore attempt"),
    ("-printf", "output listing"),
    ("mkdir", "mkdir"),
]


class Timeline:
    """Calls timed per thread; a call's self time excludes the wrapped calls inside it."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.records: list[tuple[str, float, float, float]] = []  # label, start, self, total
        self.model_calls: list[tuple[float, float]] = []  # (arrival, latency) on the gateway
        self.lock = threading.Lock()

    def wrap(self, owner, name: str, label: str | None) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            stack = getattr(self.local, "stack", None)
            if stack is None:
                stack = self.local.stack = []
            stack.append(0.0)
            started = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                total = time.monotonic() - started
                inner = stack.pop()
                if stack:
                    stack[-1] += total
                what = label or classify(args)
                if threading.current_thread().name.startswith("sandbox-spare"):
                    what = f"{AHEAD}{what}"  # off the evaluation's path
                with self.lock:
                    self.records.append((what, started, total - inner, total))

        setattr(owner, name, timed)


def classify(args) -> str:
    """'exec <role>: <purpose>' for a Sandbox.exec call (self, cmd, ...)."""
    box, cmd = args[0], args[1]
    role = box.config.labels.get("agentforge.role", "?")
    text = cmd if isinstance(cmd, str) else " ".join(cmd)
    if role == "agent" and " -m " in f" {text} " and "--problem" in text:
        return "exec agent: THE AGENT"
    for piece, purpose in PURPOSES:
        if piece in text:
            return f"exec {role}: {purpose}"
    if role == "grade":
        return "exec grade: THE TESTS"
    return f"exec {role}: other ({text[:30]})"


def install(timeline: Timeline) -> None:
    import importlib

    for module_name, path, label in WRAPPED:
        module = importlib.import_module(module_name)
        *owners, name = path.split(".")
        owner = module
        for part in owners:
            owner = getattr(owner, part)
        if hasattr(owner, name):  # absent in one version or the other: nothing to time
            timeline.wrap(owner, name, label)
    from agentforge.llm.gateway import Gateway

    book = Gateway.book

    def booked(gateway, call, *args, **kwargs):
        latency = getattr(call, "latency_s", 0.0) or 0.0
        with timeline.lock:
            timeline.model_calls.append((time.monotonic() - latency, latency))
        return book(gateway, call, *args, **kwargs)

    Gateway.book = booked


def first_of(*modules: str, name: str):
    """`name` from the first of `modules` that exists (evolve/ is being reorganised: this
    script also measures commits from before)."""
    import importlib

    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except ImportError:
            continue
    raise ImportError(f"{name} is in none of {modules}")


def run_child(evaluations: int, task_id: str) -> list[dict]:
    """N evaluations of the seed on `task_id` in this process; one phase record each."""
    timeline = Timeline()
    install(timeline)
    import agentforge
    from agentforge.evolve.config import load_run_config

    open_run = first_of("agentforge.evolve.loop.context", "agentforge.evolve.context",
                        name="open_run")
    EvaluationJob = first_of("agentforge.evolve.loop.scheduler",  # noqa: N806 - a class
                             "agentforge.evolve.scheduler", name="EvaluationJob")
    evaluate_job = first_of("agentforge.evolve.evaluation.job", "agentforge.evolve.steps",
                            name="evaluate_job")

    config = load_run_config(HERE / EXAMPLE, ["evaluation.workers=1"])
    records = []
    with tempfile.TemporaryDirectory(prefix="agentforge-eval-perf-") as tmp, \
            contextlib.chdir(HERE), open_run(Path(tmp) / "run", config) as ctx:
        seed = ctx.store.list_nodes(ctx.run_id)[0].id
        evaluate_job(ctx, EvaluationJob(seed, task_id, "validation", attempt=999))  # warm-up
        for attempt in range(evaluations):
            timeline.records.clear()
            timeline.model_calls.clear()
            started = time.monotonic()
            outcome = evaluate_job(ctx, EvaluationJob(seed, task_id, "validation",
                                                      attempt=attempt))
            wall = time.monotonic() - started
            records.append(phase_record(timeline, started, wall, outcome.resolved,
                                        outcome.reason))
    for record in records:
        record["code"] = str(Path(agentforge.__file__).parents[1])
    return records


def phase_record(timeline: Timeline, started: float, wall: float, resolved, reason) -> dict:
    phases: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    agent_start = agent_total = None
    for label, start, self_time, total in timeline.records:
        if label.startswith(AHEAD) and start < started:
            continue  # begun during the evaluation before
        phases[label] += self_time
        counts[label] += 1
        if label == "exec agent: THE AGENT":
            agent_start, agent_total = start, total
    tests = phases.get("exec grade: THE TESTS", 0.0)
    calls = sorted(c for c in timeline.model_calls if c[0] >= started)
    model = sum(latency for _, latency in calls)
    first = (calls[0][0] - agent_start) if calls and agent_start is not None else None
    return {"wall": wall, "phases": dict(phases), "counts": dict(counts),
            "agent": agent_total or 0.0, "tests": tests, "model": model,
            "model_calls": len(calls), "first_call": first,
            "framework": wall - (agent_total or 0.0) - tests,
            "resolved": resolved, "reason": reason}


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def summary(records: list[dict]) -> dict[str, float]:
    return {key: median(r[key] for r in records)
            for key in ("wall", "framework", "agent", "tests", "model", "first_call")}


def print_breakdown(title: str, records: list[dict]) -> None:
    n = len(records)
    print(f"\n== {title}: {n} evaluations (medians per evaluation) ==")
    labels = sorted({label for r in records for label in r["phases"]
                     if not label.startswith(AHEAD)})
    rows = []
    for label in labels:
        seconds = median(r["phases"].get(label, 0.0) for r in records)
        count = statistics.mean(r["counts"].get(label, 0) for r in records)
        rows.append((seconds, label, count))
    for seconds, label, count in sorted(rows, reverse=True):
        print(f"  {label:46} {count:5.1f}x {seconds * 1000:9.1f} ms")
    s = summary(records)
    ahead = median(sum(v for k, v in r["phases"].items() if k.startswith(AHEAD))
                   for r in records)
    print(f"  {'(beside it on threads: spares, removals)':46}        {ahead * 1000:9.1f} ms")
    attributed = median(sum(v for k, v in r["phases"].items() if not k.startswith(AHEAD))
                        for r in records)
    print(f"  {'(not attributed to a timed call)':46}        "
          f"{(s['wall'] - attributed) * 1000:9.1f} ms")
    print(f"  agent process {s['agent']:.2f} s: start to first model call "
          f"{s['first_call']:.2f} s, model {s['model']:.3f} s "
          f"({median(r['model_calls'] for r in records):.0f} calls)")
    print(f"  test command {s['tests']:.2f} s")
    print(f"  evaluation wall {s['wall']:.2f} s; framework overhead {s['framework']:.2f} s "
          f"= {s['framework'] / s['wall']:.0%} of it")
    print(f"  resolved {sum(bool(r['resolved']) for r in records)}/{n}; code {records[0]['code']}")
    if not all(r["resolved"] for r in records):
        print(f"  WARNING: not resolved: {records[0]['reason']}")


def child_command(tree: Path, evaluations: int, task: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", "--evaluations",
            str(evaluations), "--task", task, "--tree", str(tree)]


def run_batch(tree: Path, evaluations: int, task: str) -> list[dict]:
    done = subprocess.run(child_command(tree, evaluations, task), env=tree_env(tree), cwd=tree,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"evaluations with {tree} failed:\n{done.stderr[-3000:]}")
    records = json.loads(done.stdout.splitlines()[-1])
    if records[0]["code"] != str(tree):
        raise SystemExit(f"the child imported agentforge from {records[0]['code']}, not {tree}")
    return records


def compare(ref: str, rounds: int, evaluations: int, task: str) -> None:
    commit, here = short(ref), short("HEAD")
    print(f"load at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
    with checkout(commit, IMAGES) as base:
        build_images(HERE, IMAGES)
        ours: list[dict] = []
        theirs: list[dict] = []
        for index in range(rounds):
            pair = [(base, theirs), (HERE, ours)]
            for tree, into in pair if index % 2 == 0 else pair[::-1]:
                into.extend(run_batch(tree, evaluations, task))
    print_breakdown(f"{ref} ({commit})", theirs)
    print_breakdown(f"this tree (HEAD {here}, with its working changes)", ours)
    a, b = summary(theirs), summary(ours)
    print(f"\nratios this tree / {commit} (medians, {rounds} alternating rounds of "
          f"{evaluations}):")
    for key in ("wall", "framework", "agent", "tests"):
        print(f"  {key:10} {b[key]:7.2f} s / {a[key]:7.2f} s = {b[key] / a[key]:5.2f}")
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} "
          "(1, 5, 15 min) at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=8)
    parser.add_argument("--task", default="py-exercise-duration-format")
    parser.add_argument("--compare", metavar="REF", help="a commit to measure side by side")
    parser.add_argument("--rounds", type=int, default=3, help="alternating batches per side")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.evaluations, args.task)))
        return
    if args.compare:
        compare(args.compare, args.rounds, args.evaluations, args.task)
        return
    print(f"load before: {os.getloadavg()[0]:.1f}")
    print_breakdown("this tree", run_child(args.evaluations, args.task))
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
