"""Polyglot's test-run limit is Aider's 180 s by default and configurable: a test run that
outlasts it is stopped and reported, in a real sandbox."""

from __future__ import annotations

import json

import pytest

from agentforge.bench import get_benchmark
from agentforge.bench.task import Outcome, Prediction

SLOW_TEST = "import time\nfrom slow import solve\n\n\ndef test_it():\n    time.sleep(120)\n"
PATCH = """diff --git a/slow.py b/slow.py
--- a/slow.py
+++ b/slow.py
@@ -1,2 +1,2 @@
 def solve():
-    raise NotImplementedError
+    return 1
"""


@pytest.mark.docker
def test_a_test_run_longer_than_the_limit_is_stopped_and_reported(agent_image, tmp_path):
    folder = tmp_path / "python" / "exercises" / "practice" / "slow"
    (folder / ".meta").mkdir(parents=True)
    (folder / "slow.py").write_text("def solve():\n    raise NotImplementedError\n")
    (folder / "slow_test.py").write_text(SLOW_TEST)
    (folder / ".meta" / "config.json").write_text(json.dumps(
        {"files": {"solution": ["slow.py"], "test": ["slow_test.py"]}}))
    bench = get_benchmark("polyglot", source=tmp_path, test_timeout=5)
    task = bench.task("python__slow")
    result = bench.grade(task, Prediction(instance_id=task.instance_id, model_patch=PATCH))
    assert result.outcome is not Outcome.RESOLVED
    assert "timed out after 5s" in result.reason, result.reason
    assert result.duration < 100  # stopped at the limit, not after the test's two minutes
