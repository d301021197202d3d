"""Diff handling: rejected paths put back after git applies a patch, generated diffs
accepted by `git apply`. (Cheating variants are in tests/integrity.)"""

from __future__ import annotations

import subprocess

from agentforge.bench.patches import PatchRules, accept_patch, diff_files

PATCH = """diff --git a/src/app.py b/src/app.py
--- a/src/app.py
+++ b/src/app.py
@@ -1 +1 @@
-x = 1
+x = 2
diff --git a/tests/test_app.py b/tests/test_app.py
deleted file mode 100644
--- a/tests/test_app.py
+++ /dev/null
@@ -1 +0,0 @@
-assert False
diff --git a/conftest.py b/conftest.py
new file mode 100644
--- /dev/null
+++ b/conftest.py
@@ -0,0 +1 @@
+import pytest
"""


def test_rejected_paths_are_put_back_and_reported(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "src/app.py").write_text("x = 1\n")
    (tmp_path / "tests/test_app.py").write_text("assert False\n")
    rules = PatchRules(never=("tests/*", "conftest.py"))
    with accept_patch(tmp_path, PATCH, rules) as result:
        assert result.error is None
        assert result.accepted == ["src/app.py"]
        assert set(result.dropped) == {"tests/test_app.py", "conftest.py"}
        assert (result.tree / "src/app.py").read_text() == "x = 2\n"
        assert (result.tree / "tests/test_app.py").read_text() == "assert False\n"
        assert not (result.tree / "conftest.py").exists()
        scratch = result.tree.parent
    assert not scratch.exists(), "the scratch copy is removed afterwards"
    assert (tmp_path / "src/app.py").read_text() == "x = 1\n", "the snapshot is untouched"


def test_diff_files_applies_with_git(tmp_path):
    (tmp_path / "keep.txt").write_text("one\ntwo\nthree")
    (tmp_path / "gone.txt").write_text("bye\n")
    patch = diff_files({
        "keep.txt": ("one\ntwo\nthree", "one\n2\nthree\n"),
        "gone.txt": ("bye\n", None),
        "new/file.txt": (None, "hello"),
    })
    (tmp_path / "p.diff").write_text(patch)
    subprocess.run(["git", "apply", "p.diff"], cwd=tmp_path, check=True)
    assert (tmp_path / "keep.txt").read_text() == "one\n2\nthree\n"
    assert not (tmp_path / "gone.txt").exists()
    assert (tmp_path / "new/file.txt").read_text() == "hello"
