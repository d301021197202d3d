"""archive_problems: a consistent archive has none; each kind of breakage is named."""

from __future__ import annotations

from pathlib import Path

from agentforge.store import AgentRepo, NodeStatus, SqlStore, archive_problems


def _note_patch(name: str) -> str:
    return (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\n--- /dev/null\n+++ b/{name}\n"
        "@@ -0,0 +1 @@\n+note\n"
    )


def test_a_consistent_archive_and_each_kind_of_breakage(tmp_path: Path):
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / "agent.toml").write_text('name = "t"\n')
    repo = AgentRepo.init(tmp_path / "agents.git")
    store = SqlStore.open(tmp_path / "run.db")
    store.create_run("r")
    seed_commit = repo.commit_folder(seed_dir)
    seed = store.add_node("r", parent_id=None, commit=seed_commit, status=NodeStatus.evaluated)
    child_commit = repo.create_child(seed_commit, _note_patch("a.txt"))
    child = store.add_node(
        "r", parent_id=seed.id, commit=child_commit, status=NodeStatus.evaluating
    )
    e = store.start_evaluation(child.id, "t1")
    store.finish_evaluation(e.id, resolved=True)
    store.start_evaluation(child.id, "t2")  # in flight: fine
    assert archive_problems(store, "r", repo) == []

    # A commit that is not where the tree says it is.
    stray = store.add_node(
        "r",
        parent_id=child.id,
        commit=repo.create_child(seed_commit, ""),
        status=NodeStatus.evaluated,
    )
    # A commit that is not in the repository at all, and a scored node without a commit.
    ghost = store.add_node("r", parent_id=seed.id, commit="f" * 40, status=NodeStatus.evaluated)
    bare = store.add_node("r", parent_id=seed.id, status=NodeStatus.evaluating)
    # A child of an invalid node.
    broken = store.add_node("r", parent_id=seed.id, status=NodeStatus.invalid, reason="no diff")
    orphan = store.add_node("r", parent_id=broken.id)
    problems = archive_problems(store, "r", repo)
    assert any(f"node {stray.id}: commit" in p and "parent's commit" in p for p in problems)
    assert any(
        f"node {ghost.id}: commit ffffffffffff is not in the repository" in p for p in problems
    )
    assert f"node {bare.id}: evaluating but has no commit" in problems
    assert f"node {orphan.id}: its parent {broken.id} is invalid" in problems
    assert len(problems) == 4
    # Without the repository only the database invariants are checked.
    assert len(archive_problems(store, "r")) == 2
    store.close()
