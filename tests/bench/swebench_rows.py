"""SWE-bench 5.x rows for the stand-in instance image (self-written, for the tests)."""
# ruff: noqa: W293  (blank context lines of a diff are a single space)

import json

TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -1,5 +1,9 @@
-from calc import add
+from calc import add, mean
 
 
 def test_add():
     assert add(2, 3) == 5
+
+
+def test_mean():
+    assert mean([1, 2, 3]) == 2
"""

GOLD = """diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -6,4 +6,4 @@ def add(a, b):
 
 
 def mean(values):
-    return sum(values) / len(values) - 1
+    return sum(values) / len(values)
"""

EVAL_SCRIPT = """#!/bin/bash
set -uxo pipefail
cd /testbed
git checkout HEAD -- tests/test_calc.py
git apply -v - <<'EOF_AGENTFORGE'
{test_patch}
EOF_AGENTFORGE
: '>>>>> Start Test Output'
python -m pytest -rA -p no:cacheprovider tests/test_calc.py
: '>>>>> End Test Output'
git checkout HEAD -- tests/test_calc.py
"""


def row(instance_id: str, image: str) -> dict:
    return {
        "instance_id": instance_id,
        "repo": "agentforge/calc",
        "version": "0.1",
        "base_commit": "HEAD",
        "problem_statement": "calc.mean([1, 2, 3]) returns 1.0 instead of 2.0.",
        "hints_text": "",
        "created_at": "2026-01-01T00:00:00Z",
        "environment_setup_commit": "HEAD",
        "patch": GOLD,
        "test_patch": TEST_PATCH,
        "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_mean"]),
        "PASS_TO_PASS": json.dumps(["tests/test_calc.py::test_add"]),
        "image": image,
        "eval_script": EVAL_SCRIPT.format(test_patch=TEST_PATCH.rstrip("\n")),
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }


def write_rows(path, rows: list[dict]) -> None:
    """Write rows as JSON lines, the form swebench's loader reads from a local file."""
    with open(path, "w") as handle:
        for item in rows:
            handle.write(json.dumps(item) + "\n")
