"""Diff handling: protected files dropped, generated diffs accepted by `git apply`."""

from __future__ import annotations

import subprocess

from agentforge.bench.patches import diff_files, drop_protected

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


def test_drop_protected_keeps_only_allowed_files():
    kept, dropped = drop_protected(PATCH, ["tests/test_app.py", "conftest.py"])
    assert "src/app.py" in kept and "tests/test_app.py" not in kept and "conftest.py" not in kept
    assert dropped == ["tests/test_app.py", "conftest.py"]
    assert drop_protected("", ["x"]) == ("", [])


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
