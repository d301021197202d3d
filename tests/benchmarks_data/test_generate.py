"""benchmarks/local/tasks is exactly what generate.py writes from sources/: nobody edits
generated files by hand, and the generator is deterministic."""

from __future__ import annotations

import subprocess
import sys

import pytest
from bundled_suite import LOCAL


@pytest.mark.slow
def test_regenerating_gives_byte_identical_tasks():
    done = subprocess.run(
        [sys.executable, str(LOCAL / "generate.py"), "--check"],
        capture_output=True, text=True, timeout=1800,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_generator_refuses_a_bug_that_is_not_in_the_code(tmp_path):
    sys.path.insert(0, str(LOCAL))
    try:
        import generate
    finally:
        sys.path.remove(str(LOCAL))
    repo = {"pkg/mod.py": b"def f():\n    return 1\n"}
    bug = {"bug": [{"file": "pkg/mod.py", "fixed": "return 2", "buggy": "return 3"}]}
    with pytest.raises(generate.GenerationError, match="occurs 0 times"):
        generate.apply_bug(repo, bug, "swe-demo-1")


def test_patch_writer_round_trips_with_git_apply(tmp_path):
    sys.path.insert(0, str(LOCAL))
    try:
        import generate
    finally:
        sys.path.remove(str(LOCAL))
    before = {"a.py": b"one\ntwo\nthree\n", "gone.txt": b"x\n"}
    after = {"a.py": b"one\n2\nthree\nfour\n", "new/b.py": b"print('hi')\n"}
    generate.write_tree(tmp_path, before)
    (tmp_path / "change.patch").write_text(generate.unified_patch(before, after))
    subprocess.run(["git", "apply", "change.patch"], cwd=tmp_path, check=True)
    (tmp_path / "change.patch").unlink()
    assert generate.read_tree(tmp_path) == after
