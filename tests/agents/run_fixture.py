"""A small finished run directory, written through the real store and agent repository.

Node 1 is the seed (archive/base, 1/4 validation tasks); node 2 is the demo's change (the
verification checklist in coding_agent/config.toml, 3/4 tasks, held-out 1/1); node 3 is an
invalid child (its reason kept). No evolution runs: the archive is written directly, as
the loop would have left it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from agentforge.evolve.config import RunConfig
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.rundir.agents import clean_copy
from agentforge.examples.offline_demo import ANCHOR, CHECKLIST, PROPOSAL
from agentforge.paths import archive_dir
from agentforge.store.records import NodeStatus, TaskResultData

VALIDATION = ["py-a", "py-b", "py-c", "py-d"]
HELD_OUT = ["py-h"]


def checklist_patch(seed: Path, scratch: Path) -> str:
    """The git diff that adds the demo's checklist line to the seed's config.toml."""
    work = clean_copy(seed, scratch / "work")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "seed"], cwd=work, check=True)
    config = work / "coding_agent" / "config.toml"
    config.write_text(config.read_text().replace(ANCHOR, CHECKLIST, 1))
    patch = subprocess.run(["git", "diff"], cwd=work, check=True, capture_output=True,
                           text=True).stdout
    shutil.rmtree(work)
    assert CHECKLIST.splitlines()[1] in patch
    return patch


def make_run(root: Path, *, seed: Path | None = None) -> Path:
    """Write the run directory at `root` and return it."""
    seed = seed or archive_dir() / "base"
    rundir = RunDir(root)
    rundir.path.mkdir(parents=True)
    config = RunConfig(seed_agent=seed)
    rundir.save_config(config)
    store, repo = rundir.open_store(), rundir.open_repo()
    try:
        run_id = store.create_run("fixture-run", run_dir=str(rundir.path),
                                  config=config.model_dump(mode="json")).id
        staging = clean_copy(seed, root / ".seed")
        seed_commit = repo.commit_folder(staging, message="seed: base")
        shutil.rmtree(staging)
        seed_node = store.add_node(run_id, parent_id=None, commit=seed_commit,
                                   status=NodeStatus.evaluated)
        child_commit = repo.create_child(seed_commit, checklist_patch(seed, root),
                                         message=PROPOSAL["summary"])
        child = store.add_node(run_id, parent_id=seed_node.id, commit=child_commit,
                               status=NodeStatus.evaluated, proposal=PROPOSAL)
        store.add_node(run_id, parent_id=child.id, commit=child_commit,
                       status=NodeStatus.invalid, reason="own tests fail: 1 failed",
                       proposal={"summary": "a change that broke it"})
        seed_wins, child_wins = [True, False, False, False], [True, True, True, False]
        _evaluate(store, seed_node.id, dict(zip(VALIDATION, seed_wins, strict=True)))
        _evaluate(store, child.id, dict(zip(VALIDATION, child_wins, strict=True)))
        _evaluate(store, child.id, {"py-h": True}, split="held_out")
        store.update_run(run_id, status="finished", stop_reason="iterations")
    finally:
        store.close()
    return rundir.path


def _evaluate(store, node_id: int, outcomes: dict[str, bool], split: str = "validation"):
    for task_id, resolved in outcomes.items():
        row = store.start_evaluation(node_id, task_id, split=split)
        store.finish_evaluation(row.id, resolved=resolved,
                                result=TaskResultData(patch="", test_output=""))
