"""kill -9 in the middle of writing: the database and the agent repository stay consistent,
and a second process carries on without losing or repeating a finished evaluation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agentforge.store import AgentRepo, SqlStore, archive_problems

WRITER = r"""
import random, sys
from pathlib import Path
from agentforge.store import AgentRepo, NodeStatus, SqlStore

run_dir, rounds = Path(sys.argv[1]), int(sys.argv[2])
store = SqlStore.open(run_dir / "run.db")
repo = AgentRepo.init(run_dir / "agents.git")
if not store.list_runs():
    store.create_run("r")
    seed = repo.commit_folder(run_dir / "seed")
    store.add_node("r", parent_id=None, commit=seed, status=NodeStatus.evaluated)
# Resume: finish what a killed process left unfinished (the same rows, never new ones).
for e in store.list_evaluations("r", finished=False):
    again = store.start_evaluation(e.node_id, e.task_id, split=e.split, attempt=e.attempt)
    store.finish_evaluation(again.id, resolved=hash(e.task_id) % 2 == 0, reason="resumed")
rng = random.Random(len(store.list_nodes("r")))
for i in range(rounds):
    nodes = [n for n in store.list_nodes("r") if n.commit]
    parent = rng.choice(nodes)
    name = f"notes/{len(nodes)}-{i}.txt"
    patch = (f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n"
             f"+++ b/{name}\n@@ -0,0 +1 @@\n+{i}\n")
    sha = repo.create_child(parent.commit, patch)
    node = store.add_node("r", parent_id=parent.id, commit=sha, status=NodeStatus.evaluating)
    for t in range(4):
        e = store.start_evaluation(node.id, f"task-{t}")
        store.finish_evaluation(e.id, resolved=rng.random() < 0.5, duration_s=0.01)
        print(f"finished {node.id} task-{t}", flush=True)
    store.update_node(node.id, status=NodeStatus.evaluated)
"""


def _writer(run_dir: Path, rounds: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(run_dir), str(rounds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_keeps_the_archive_consistent(tmp_path):
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "agent.toml").write_text('name = "t"\n')
    reported: list[str] = []
    for kill_after in (3, 7, 12):
        writer = _writer(tmp_path, 1000)
        lines = []
        for line in writer.stdout:
            lines.append(line.strip())
            if len(lines) >= kill_after:
                break
        time.sleep(0.01 * kill_after)  # land the kill at varying points of the next write
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
        assert writer.returncode == -signal.SIGKILL, writer.stderr.read()
        reported.extend(lines)
    finisher = _writer(tmp_path, 2)
    out, err = finisher.communicate(timeout=300)
    assert finisher.returncode == 0, err

    store = SqlStore.open(tmp_path / "run.db")
    repo = AgentRepo(tmp_path / "agents.git")
    assert archive_problems(store, "r", repo) == []
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    fsck = subprocess.run(
        ["git", f"--git-dir={repo.path}", "fsck", "--no-dangling"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stderr
    finished = store.list_evaluations("r", finished=True)
    assert store.list_evaluations("r", finished=False) == []
    keys = Counter((e.node_id, e.task_id) for e in finished)
    assert max(keys.values()) == 1
    # Nothing a killed process reported as finished was lost.
    for line in reported:
        _, node_id, task_id = line.split()
        assert (int(node_id), task_id) in keys
    store.close()
