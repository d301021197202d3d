"""The bundled suite's files follow benchmarks/README.md: every task.toml is valid, hidden
tests are really hidden, reference patches apply, subsets and splits are consistent."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from bundled_suite import TASKS, read_task, subsets_file, task_ids

from agentforge.bench.local import load_task

FIELDS = {
    "id": str, "kind": str, "language": str, "difficulty": str, "image": str, "workdir": str,
    "visible_files": list, "protected_files": list, "hidden_tests": list, "test_command": str,
    "test_timeout": int, "env": dict, "FAIL_TO_PASS": list, "PASS_TO_PASS": list,
}
IMAGES = {"python": "agent-runtime", "go": "toolchains"}
ID_FORM = re.compile(r"^(py-exercise|go-exercise)-[a-z0-9-]+$|^swe-[a-z0-9]+-\d+$")


def test_suite_size_and_mix():
    metas = [read_task(task_id) for task_id in task_ids()]
    exercises = [m for m in metas if m["kind"] == "exercise"]
    assert len(metas) >= 24
    assert len(exercises) >= 12
    assert {m["language"] for m in exercises} == {"python", "go"}
    assert len([m for m in metas if m["kind"] == "swe"]) >= 12
    assert {m["difficulty"] for m in metas} == {"easy", "medium", "hard"}


@pytest.mark.parametrize("task_id", task_ids())
def test_task_toml_is_valid(task_id):
    meta = read_task(task_id)
    assert set(meta) == set(FIELDS), f"fields differ: {set(meta) ^ set(FIELDS)}"
    for name, kind in FIELDS.items():
        assert isinstance(meta[name], kind), f"{name} should be a {kind.__name__}"
    assert meta["id"] == task_id and ID_FORM.match(task_id)
    assert meta["kind"] in {"exercise", "swe"}
    assert meta["image"] == IMAGES[meta["language"]]
    assert meta["difficulty"] in {"easy", "medium", "hard"}
    folder = TASKS / task_id
    assert (folder / "problem.md").read_text().strip()
    for rel in meta["visible_files"] + meta["protected_files"]:
        assert (folder / "repo" / rel).is_file(), f"{rel} missing from repo/"
    for rel in meta["hidden_tests"]:
        assert (folder / "tests" / rel).is_file(), f"{rel} missing from tests/"
    # The official reader accepts it too.
    assert load_task(folder).instance_id == task_id


@pytest.mark.parametrize("task_id", task_ids())
def test_hidden_tests_are_hidden(task_id):
    meta, folder = read_task(task_id), TASKS / task_id
    assert meta["hidden_tests"]
    if meta["kind"] == "exercise":
        assert not meta["FAIL_TO_PASS"] and not meta["PASS_TO_PASS"]
        for rel in meta["hidden_tests"]:
            assert not (folder / "repo" / rel).exists(), f"{rel} is visible in repo/"
        return
    assert meta["FAIL_TO_PASS"], "a swe task needs at least one FAIL_TO_PASS test"
    assert not set(meta["FAIL_TO_PASS"]) & set(meta["PASS_TO_PASS"])
    visible = "".join(p.read_text() for p in (folder / "repo").rglob("test_*.py"))
    for node in meta["FAIL_TO_PASS"]:
        path, _, name = node.partition("::")
        assert path in meta["hidden_tests"], f"{node} is not in a hidden test file"
        function = name.split("[")[0]
        assert f"def {function}(" not in visible, f"{function} is visible in repo/"
    for node in meta["PASS_TO_PASS"]:
        assert (folder / "tests" / node.partition("::")[0]).is_file() or (
            folder / "repo" / node.partition("::")[0]).is_file()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("task_id", task_ids())
def test_reference_patch_applies_and_spares_tests(task_id, tmp_path):
    meta, folder = read_task(task_id), TASKS / task_id
    patch = (folder / "solution.patch").read_text()
    touched = re.findall(r"^diff --git a/(\S+) b/", patch, re.MULTILINE)
    assert touched, "solution.patch is empty"
    assert not set(touched) & set(meta["hidden_tests"] + meta["protected_files"])
    if meta["visible_files"]:
        assert set(touched) <= set(meta["visible_files"])
    shutil.copytree(folder / "repo", tmp_path / "repo")
    (tmp_path / "solution.patch").write_text(patch)
    done = subprocess.run(["git", "apply", "--check", "-v", str(tmp_path / "solution.patch")],
                          cwd=tmp_path / "repo", capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_subsets_name_existing_tasks():
    subsets = subsets_file()["subsets"]
    every = set(task_ids())
    assert set(subsets) >= {"smoke", "small", "full"}
    assert set(subsets["full"]) == every and len(subsets["full"]) == len(every)
    for name, ids in subsets.items():
        assert len(ids) == len(set(ids)), f"{name} repeats a task"
        assert set(ids) <= every, f"{name} names unknown tasks: {set(ids) - every}"
    assert 10 <= len(subsets["small"]) <= 14


def test_smoke_subset_is_small_and_mixed():
    smoke = [read_task(task_id) for task_id in subsets_file()["subsets"]["smoke"]]
    assert len(smoke) == 4
    exercises = [m for m in smoke if m["kind"] == "exercise"]
    assert len(exercises) == 2 and {m["language"] for m in exercises} == {"python", "go"}
    assert all(m["difficulty"] == "easy" for m in smoke)


def test_splits_partition_the_suite():
    splits = subsets_file()["splits"]
    validation, held_out = set(splits["validation"]), set(splits["held_out"])
    assert not validation & held_out
    assert validation | held_out == set(task_ids())
    assert len(held_out) * 3 >= len(task_ids()) * 0.8  # about a third held out
    assert len(validation) > len(held_out)
    # Both splits hold both kinds of task, so a held-out score says something about each.
    for ids in (validation, held_out):
        assert {read_task(task_id)["kind"] for task_id in ids} == {"exercise", "swe"}
