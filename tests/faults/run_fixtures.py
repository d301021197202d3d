"""Helpers of the run-fault tests: a real `agentforge evolve` process on the offline demo's
scripted model and a tiny suite, and what its run directory holds, read straight from disk."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The tiny suite and the demo run config are the loop tests' (tests/evolve/loop_fixtures.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))
from loop_fixtures import demo_config, write_tiny_suite  # noqa: E402

EVOLVE = [sys.executable, "-m", "agentforge", "evolve", "--quiet"]
VALIDATION = ["py-tiny-add", "py-tiny-greet", "py-tiny-double"]


def demo_run_config(root: Path, *, model_delay: float = 0.0) -> Path:
    """The demo config on the tiny suite (seed solves one task, its child all three); with
    `model_delay`, every model answer takes that many seconds (work stays in flight)."""
    suite = write_tiny_suite(root / "suite", VALIDATION, ["py-tiny-shout"])
    config = demo_config(root, suite, seed_solves=("py-tiny-add",))
    set_model_delay(root, model_delay)
    return config


def set_model_delay(root: Path, seconds: float) -> None:
    """Make every scripted answer of the run's model (root/model.json) take `seconds`."""
    script_file = root / "model.json"
    script = json.loads(script_file.read_text())
    for rule in script["rules"]:
        rule.setdefault("respond", {})["delay"] = seconds
        if not seconds:
            del rule["respond"]["delay"]
    script_file.write_text(json.dumps(script))


@dataclass
class RunProcess:
    """A running `agentforge evolve` in its own process group (as a terminal would run it)."""

    process: subprocess.Popen
    log: Path
    run_dir: Path

    def output(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text()

    def signal_group(self, signum: int) -> None:
        """What a terminal's Ctrl-C does: the signal reaches the whole process group."""
        os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        """Its exit code (killed, with its output shown, if it takes longer)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"still running after {timeout}s:\n{self.output()[-3000:]}") from None

    def kill(self) -> None:
        """SIGKILL the group (test cleanup)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_run(root: Path, args: list[str], name: str = "first") -> RunProcess:
    """Start `agentforge evolve ARGS` writing to root/NAME.log."""
    log = root / f"{name}.log"
    with log.open("w") as handle:
        process = subprocess.Popen([*EVOLVE, *args], stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    run_dir = Path(args[args.index("--run-dir") + 1] if "--run-dir" in args
                   else args[args.index("--resume") + 1])
    return RunProcess(process, log, run_dir)


def wait_until(condition: Callable[[], bool], run: RunProcess | None, timeout: float,
               what: str) -> None:
    """Poll `condition` until true; fail with the run's output if it ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if run is not None and run.process.poll() is not None:
            raise AssertionError(f"the run ended before {what}:\n{run.output()[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {timeout}s:\n"
                         f"{run.output()[-3000:] if run else ''}")


def evaluation_rows(run_dir: Path) -> list[dict]:
    """Every evaluation row of the archive (node_id, task_id, split, finished, resolved, reason)."""
    database = run_dir / "archive.sqlite"
    if not database.exists():
        return []
    with sqlite3.connect(database, timeout=30) as db:
        db.row_factory = sqlite3.Row
        try:
            rows = db.execute("SELECT node_id, task_id, split, finished, resolved, reason "
                              "FROM evaluation").fetchall()
        except sqlite3.OperationalError:  # the tables are not created yet
            return []
    return [dict(row) for row in rows]


def in_flight(run_dir: Path) -> list[dict]:
    """Evaluation rows started and not finished."""
    return [row for row in evaluation_rows(run_dir) if not row["finished"]]


@dataclass
class ArchiveState:
    """What a run directory holds after a process ended."""

    status: str
    stop_reason: str | None
    problems: list[str]
    nodes: list[tuple[int | None, str]]
    """(parent id, status) per node."""
    finished: dict[tuple[int, str, str], bool]
    unfinished: list[tuple[int, str, str]]
    integrity: str


def archive_state(run_dir: Path) -> ArchiveState:
    """The run's row, its archive's broken invariants (archive_problems) and its evaluations."""
    from agentforge.store import SqlStore
    from agentforge.store.consistency import archive_problems
    from agentforge.store.repo import AgentRepo

    with sqlite3.connect(run_dir / "archive.sqlite", timeout=30) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    store = SqlStore.open(run_dir / "archive.sqlite")
    try:
        run = store.list_runs()[0]
        problems = archive_problems(store, run.id, AgentRepo(run_dir / "agents.git"))
        nodes = [(n.parent_id, n.status.value) for n in store.list_nodes(run.id)]
        evaluations = store.list_evaluations(run.id)
    finally:
        store.close()
    return ArchiveState(
        status=run.status, stop_reason=run.stop_reason, problems=problems, nodes=nodes,
        finished={(e.node_id, e.task_id, e.split): bool(e.resolved)
                  for e in evaluations if e.finished},
        unfinished=[(e.node_id, e.task_id, e.split) for e in evaluations if not e.finished],
        integrity=integrity)


def expected_complete_archive() -> dict[tuple[int, str, str], bool]:
    """The evaluations an uninterrupted demo run on the tiny suite ends with (seed = node 1,
    its child = node 2): the seed solves one task, the child all, both re-scored held-out."""
    finished = {(1, t, "validation"): t == "py-tiny-add" for t in VALIDATION}
    finished |= {(2, t, "validation"): True for t in VALIDATION}
    return finished | {(1, "py-tiny-shout", "held_out"): False,
                       (2, "py-tiny-shout", "held_out"): True}


def containers_of(pid: int) -> list[str]:
    """Names of the sandbox containers (running or not) that process `pid` started."""
    from agentforge.sandbox.engine import LABEL, docker_client

    filters = {"label": [LABEL, f"agentforge.owner-pid={pid}"]}
    return [c.name for c in docker_client().containers.list(all=True, filters=filters,
                                                             ignore_removed=True)]
