"""The per-run agent repository: seed commit, children on parents, patches, export."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from agentforge.store import AgentRepo, PatchDoesNotApply, StoreError


def _seed_folder(root: Path) -> Path:
    seed = root / "seed"
    (seed / "agent").mkdir(parents=True)
    (seed / "agent.toml").write_text('name = "tiny"\nentry = "agent.main"\n')
    (seed / "agent" / "__init__.py").write_text("")
    (seed / "agent" / "main.py").write_text("def run():\n    return 'hello'\n")
    (seed / "agent" / "__pycache__").mkdir()
    (seed / "agent" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0junk")
    return seed


def _agent_edit_patch(repo: AgentRepo, commit: str, work: Path, edit) -> str:
    """The patch an agent would hand back: `git diff` of its edits in a checkout of `commit`."""
    repo.export(commit, work)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)
    edit(work)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    return subprocess.run(
        ["git", "diff", "--cached", "--binary"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_seed_child_patch_and_export(tmp_path):
    repo = AgentRepo.init(tmp_path / "agents.git")
    seed = repo.commit_folder(_seed_folder(tmp_path))
    assert repo.parent_of(seed) is None

    def add_tool(folder: Path) -> None:
        (folder / "agent" / "main.py").write_text("def run():\n    return 'hello, world'\n")
        (folder / "agent" / "tools.py").write_text("def grep():\n    return []\n")

    patch = _agent_edit_patch(repo, seed, tmp_path / "work", add_tool)
    child = repo.create_child(seed, patch, message="node 2: add a grep tool")
    assert repo.parent_of(child) == seed
    exported = repo.export(child, tmp_path / "out")
    assert (exported / "agent" / "tools.py").read_text() == "def grep():\n    return []\n"
    assert "hello, world" in (exported / "agent" / "main.py").read_text()
    # Byte code of the seed folder never enters the repository.
    assert not (exported / "agent" / "__pycache__").exists()
    # The node's patch is the diff to its parent and rebuilds the same child.
    node_patch = repo.patch(child)
    assert "tools.py" in node_patch and "hello, world" in node_patch
    again = repo.create_child(seed, node_patch)
    assert repo.repo.commit(again).tree.hexsha == repo.repo.commit(child).tree.hexsha
    # The seed's patch creates every file from nothing.
    assert "agent.toml" in repo.patch(seed)


def test_a_patch_that_does_not_apply_is_a_clear_error(tmp_path):
    repo = AgentRepo.init(tmp_path / "agents.git")
    seed = repo.commit_folder(_seed_folder(tmp_path))
    stale = (
        "diff --git a/agent/main.py b/agent/main.py\n"
        "--- a/agent/main.py\n+++ b/agent/main.py\n"
        "@@ -1,2 +1,2 @@\n-def run():\n-    return 'goodbye'\n+def run():\n+    return 'x'\n"
    )
    with pytest.raises(PatchDoesNotApply, match="does not apply.*regenerate"):
        repo.create_child(seed, stale)
    with pytest.raises(StoreError, match="not in the agent repository"):
        repo.create_child("0" * 40, "")


def test_an_empty_patch_keeps_the_parent_tree(tmp_path):
    repo = AgentRepo.init(tmp_path / "agents.git")
    seed = repo.commit_folder(_seed_folder(tmp_path))
    child = repo.create_child(seed, "")
    assert child != seed and repo.parent_of(child) == seed
    assert repo.patch(child) == ""


def test_children_can_be_created_concurrently_and_survive_reopening(tmp_path):
    repo = AgentRepo.init(tmp_path / "agents.git")
    seed = repo.commit_folder(_seed_folder(tmp_path))
    children: dict[int, str] = {}
    errors: list[BaseException] = []

    def make(i: int) -> None:
        patch = (
            f"diff --git a/notes/n{i}.txt b/notes/n{i}.txt\nnew file mode 100644\n"
            f"--- /dev/null\n+++ b/notes/n{i}.txt\n@@ -0,0 +1 @@\n+note {i}\n"
        )
        try:
            children[i] = repo.create_child(seed, patch)
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    reopened = AgentRepo(tmp_path / "agents.git")
    for i, sha in children.items():
        assert reopened.has_commit(sha) and reopened.parent_of(sha) == seed
        out = reopened.export(sha, tmp_path / f"n{i}")
        assert sorted(p.name for p in (out / "notes").iterdir()) == [f"n{i}.txt"]
    # A grandchild sits on its parent's commit.
    grandchild = reopened.create_child(children[0], "")
    assert reopened.parent_of(grandchild) == children[0]


def test_opening_a_missing_repository_says_how_to_create_it(tmp_path):
    with pytest.raises(StoreError, match="AgentRepo.init"):
        AgentRepo(tmp_path / "nothing")
    with pytest.raises(StoreError, match="not empty"):
        repo = AgentRepo.init(tmp_path / "agents.git")
        seed = repo.commit_folder(_seed_folder(tmp_path))
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "file").write_text("x")
        repo.export(seed, tmp_path / "busy")


def test_a_relative_repository_path_works_from_any_working_directory(tmp_path, monkeypatch):
    # `agentforge evolve --run-dir runs/demo` hands relative paths down; git runs with
    # other work trees, so a relative --git-dir must not be passed through as is.
    seed = _seed_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    repo = AgentRepo.init("runs/demo/agents.git")
    commit = repo.commit_folder(seed)
    assert repo.has_commit(commit)
    assert repo.path.is_absolute()
