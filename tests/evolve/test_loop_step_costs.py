"""Each child's improvement cost is its own step's calls, even when a sibling made the same
proposal (the implementation's ledger task id is the same for both: it once decided where
the cost went, and one sibling got both implementations while the other got none)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from loop_fixtures import demo_config

from agentforge.evolve.rundir import RunDir
from agentforge.llm.ledger import Ledger
from agentforge.web.archive import RunArchive

pytestmark = pytest.mark.slow


def test_siblings_with_the_same_proposal_each_book_their_own_implementation(
        agent_image, tiny_suite, tmp_path):
    # best-of-n always picks the seed; the scripted diagnosis always proposes the same change.
    config = demo_config(tmp_path, tiny_suite, seed_solves=("py-tiny-add",))
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--quiet", "--config", str(config),
         "--run-dir", str(run_dir), "--set", "selection.name=best-of-n",
         "--set", "budget.max_iterations=2", "--set", "improve.workers=1"],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-3000:]

    archive = RunArchive(run_dir)
    try:
        listing = archive.nodes()
        nodes = [dict(zip(listing["fields"], row, strict=True)) for row in listing["rows"]]
        seed = next(n for n in nodes if n["parent_id"] is None)
        children = sorted((n for n in nodes if n["parent_id"] == seed["id"]),
                          key=lambda n: n["id"])
        assert len(children) == 2
        details = [archive.node_detail(child["id"]) for child in children]
    finally:
        archive.close()
    assert details[0]["proposal"] == details[1]["proposal"]

    # What each step really used, told apart by time (one improve worker: the second step
    # starts after the first child is written): the diagnosis and implementation calls
    # booked to the seed that reached the model, before each child.
    calls = [c for c in Ledger(RunDir(run_dir).store_url).calls(node_id=seed["id"])
             if not c.cached and c.status != "budget_exceeded"
             and (c.role == "diagnose" or (c.task_id or "").startswith("improve-"))]
    written = [_naive(child["created_at"]) for child in details]
    used = [sum(c.prompt_tokens + c.completion_tokens for c in calls
                if (k == 0 or _naive(c.created_at) > written[k - 1])
                and _naive(c.created_at) <= written[k]) for k in range(2)]
    assert used[0] > 0 and sum(used) == sum(c.prompt_tokens + c.completion_tokens
                                            for c in calls)
    assert [d["cost"]["improve_tokens"] for d in details] == used


def _naive(moment):
    from datetime import datetime

    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.replace(tzinfo=None)
