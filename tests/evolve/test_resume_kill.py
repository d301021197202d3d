"""kill -9 mid-run, then --resume: nothing finished is lost or repeated, the archive holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loop_fixtures import demo_config, finished_evaluations

from agentforge.store import SqlStore
from agentforge.store.repo import AgentRepo

# Its own deadlines (900 s to the kill, 1,500 s to resume), not pytest's 600 s, bound it
# on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]
EVOLVE = [sys.executable, "-m", "agentforge", "evolve", "--quiet"]


def assert_consistent(run_dir: Path) -> None:
    """Every node's commit exists on its parent's commit; every evaluation has its node."""
    store = SqlStore.open(run_dir / "archive.sqlite")
    try:
        run_id = store.list_runs()[0].id
        nodes = {n.id: n for n in store.list_nodes(run_id)}
        repo = AgentRepo(run_dir / "agents.git")
        for node in nodes.values():
            if node.commit is not None:
                assert repo.has_commit(node.commit), node
            if node.parent_id is not None and node.commit is not None:
                assert repo.parent_of(node.commit) == nodes[node.parent_id].commit
        assert {e.node_id for e in store.list_evaluations(run_id)} <= set(nodes)
    finally:
        store.close()


def test_a_run_killed_with_sigkill_resumes_to_the_same_archive(agent_image, tiny_suite, tmp_path):
    config = demo_config(tmp_path, tiny_suite, seed_solves=("py-tiny-add",))
    run_dir = tmp_path / "run"
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen([*EVOLVE, "--config", str(config), "--run-dir", str(run_dir)],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 900
    try:
        # Mid-way: the seed is scored and the self-improvement step is under way.
        while time.monotonic() < deadline and first.poll() is None:
            if len(finished_evaluations(run_dir / "archive.sqlite")) >= 3:
                break
            time.sleep(1)
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = finished_evaluations(run_dir / "archive.sqlite")
    assert len(before) >= 3
    assert_consistent(run_dir)

    resumed = subprocess.run([*EVOLVE, "--resume", str(run_dir)], capture_output=True,
                             text=True, timeout=1500)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = finished_evaluations(run_dir / "archive.sqlite")
    assert_consistent(run_dir)

    # Nothing finished before the kill was lost or changed.
    assert {k: after[k] for k in before} == before
    # The archive is what an uninterrupted run keeps: seed and child on the three validation
    # tasks, both re-scored on the held-out task; nothing left unfinished.
    store = SqlStore.open(run_dir / "archive.sqlite")
    try:
        run = store.list_runs()[0]
        nodes = store.list_nodes(run.id)
        assert not store.list_evaluations(run.id, finished=False)
    finally:
        store.close()
    seed = next(n for n in nodes if n.parent_id is None)
    child = next(n for n in nodes if n.parent_id == seed.id)
    assert len(nodes) == 2 and {n.status.value for n in nodes} == {"evaluated"}
    validation = ["py-tiny-add", "py-tiny-greet", "py-tiny-double"]
    expected = {(seed.id, t, "validation"): t == "py-tiny-add" for t in validation}
    expected |= {(child.id, t, "validation"): True for t in validation}
    expected |= {(seed.id, "py-tiny-shout", "held_out"): False,
                 (child.id, "py-tiny-shout", "held_out"): True}
    assert after == expected
    assert run.status == "finished" and run.rng_state is not None
