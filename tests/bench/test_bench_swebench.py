"""SWE-bench adapter: rows from a local file through swebench's loader, its eval scripts,
its log parser and report on real pytest output, and grading in a locally built stand-in
instance image (the pull-and-run path without a registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from swebench_rows import GOLD, row, write_rows

from agentforge.bench import get_benchmark
from agentforge.bench.swebench_adapter import instance_image
from agentforge.bench.task import Outcome, Prediction

STANDIN = Path(__file__).parent / "fixtures" / "swebench" / "standin"
INSTANCE = "agentforge__calc-1"


@pytest.fixture
def rows_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_rows(path, [row(INSTANCE, instance_image(INSTANCE)),
                      row("agentforge__calc-404", instance_image("agentforge__calc-404"))])
    return path


def test_rows_load_from_a_local_file_and_eval_scripts_are_built(rows_file):
    bench = get_benchmark("swebench", source=rows_file)
    task = bench.task(INSTANCE)
    assert task.image == "swebench/sweb.eval.x86_64.agentforge_1776_calc-1:latest"
    assert task.check.fail_to_pass == ["tests/test_calc.py::test_mean"]
    script = bench.test_spec(bench.rows[INSTANCE]).eval_script
    # swebench's own script shape: strict shell flags, markers, the recorded exit code.
    assert script.startswith("#!/bin/bash\nset -uxo pipefail\n")
    assert "SWEBENCH_TEST_EXIT_CODE=$?" in script and ">>>>> Test Exit Code" in script
    assert set(bench.subsets()) >= {"full", "verified-mini", "dgm-small", "dgm-60", "dgm-200"}
    assert bench.subsets()["verified-mini"] == []  # none of the 50 ids is in these rows
    splits = bench.splits()
    assert sorted(splits["validation"] + splits["held_out"]) == sorted(splits["all"])
    assert sorted(splits["all"]) == sorted(bench.rows)


def _real_pytest_log(tmp_path, body: str) -> str:
    """Run pytest on our own tiny test file on the host and frame it like an eval log."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_calc.py").write_text(body)
    done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider",
                           "tests/test_calc.py"], cwd=tmp_path, capture_output=True, text=True)
    return (f"+ : '>>>>> Start Test Output'\n{done.stdout}\n+ SWEBENCH_TEST_EXIT_CODE="
            f"{done.returncode}\n+ : '>>>>> End Test Output'\n"
            f">>>>> Test Exit Code: {done.returncode}\n")


@pytest.mark.parametrize("mean_ok, resolved", [(True, True), (False, False)])
def test_real_log_text_is_graded_by_swebench(tmp_path, rows_file, mean_ok, resolved):
    from swebench.harness.grading import get_eval_report

    bench = get_benchmark("swebench", source=rows_file)
    spec = bench.test_spec(bench.rows[INSTANCE])
    log = _real_pytest_log(tmp_path, f"def test_add():\n    assert True\n\n\n"
                                     f"def test_mean():\n    assert {mean_ok}\n")
    (tmp_path / "log.txt").write_text(log)
    pred = {"instance_id": INSTANCE, "model_name_or_path": "m", "model_patch": GOLD}
    report = get_eval_report(spec, pred, str(tmp_path / "log.txt"), include_tests_status=True)
    assert report[INSTANCE]["resolved"] is resolved
    assert report[INSTANCE]["patch_successfully_applied"] is True


@pytest.fixture(scope="module")
def standin_image(agent_image, docker_engine) -> str:
    """Build the stand-in instance image under the published naming scheme."""
    name = instance_image(INSTANCE)
    # Our labels are inherited from the base image: overwrite them, or `require_image`
    # would take this stand-in for the agent runtime.
    docker_engine.images.build(
        path=str(STANDIN), tag=name, buildargs={"BASE_IMAGE": agent_image}, rm=True,
        forcerm=True, pull=False,
        labels={"agentforge.image": "swebench-standin", "agentforge.files-hash": "none"})
    return name


@pytest.mark.slow
def test_grading_in_the_standin_instance_image(standin_image, rows_file):
    bench = get_benchmark("swebench", source=rows_file)
    task = bench.task(INSTANCE)

    def grade(patch: str):
        return bench.grade(task, Prediction(instance_id=INSTANCE, model_patch=patch))

    gold = grade(GOLD)
    assert gold.outcome is Outcome.RESOLVED, gold.reason + gold.test_output
    assert gold.details["tests_status"]["FAIL_TO_PASS"]["success"] == [
        "tests/test_calc.py::test_mean"]
    assert grade("").outcome is Outcome.EMPTY_PATCH
    broken = grade("diff --git a/calc/nope.py b/calc/nope.py\n--- a/calc/nope.py\n"
                   "+++ b/calc/nope.py\n@@ -1 +1 @@\n-x\n+y\n")
    assert broken.outcome is Outcome.ERROR and "does not apply" in broken.reason
    # Rewriting the test file to pass gains nothing: the eval script restores it.
    cheat = grade("diff --git a/tests/test_calc.py b/tests/test_calc.py\n"
                  "--- a/tests/test_calc.py\n+++ b/tests/test_calc.py\n"
                  "@@ -1,5 +1,9 @@\n from calc import add\n \n \n def test_add():\n"
                  "     assert add(2, 3) == 5\n+\n+\n+def test_mean():\n+    assert True\n")
    assert cheat.outcome is Outcome.UNRESOLVED
    assert "test_mean" in cheat.reason


def test_missing_instance_image_is_that_tasks_error(docker_engine, rows_file):
    # No registry is reachable here: the pull fails and the task reports why.
    bench = get_benchmark("swebench", source=rows_file)
    result = bench.grade(bench.task("agentforge__calc-404"),
                         Prediction(instance_id="agentforge__calc-404", model_patch=GOLD))
    assert result.outcome is Outcome.ERROR
    assert "cannot be pulled" in result.reason


def _script(tmp_path) -> Path:
    """The scripted model's turns: look around, run the code, fix it, check it, submit."""
    look = ("test -d /testbed && pwd && ls /sys/class/net && "
            "python -c 'import calc; print(\"mean is\", calc.mean([1, 2, 3]))'")
    rules = [
        {"name": "rank", "system_contains": "@@ranking",
         "respond": {"content": "@@ranking\ndirect-edit\nmeta-prompting\n@@end"}},
        {"name": "submit", "last_message_contains": "mean is 2.0",
         "respond": {"tool_calls": [{"name": "submit", "arguments": {
             "summary": "mean() no longer subtracts 1"}}]}},
        {"name": "fix", "last_message_contains": "mean is 1.0",
         "respond": {"tool_calls": [{"name": "str_replace", "arguments": {
             "path": "calc/__init__.py", "old_str": "sum(values) / len(values) - 1",
             "new_str": "sum(values) / len(values)"}}]}},
        {"name": "look", "tools_offered": "bash",
         "any_message_contains": "returns 1.0 instead of 2.0", "not_contains": "Edited calc",
         "respond": {"tool_calls": [{"name": "bash", "arguments": {"command": look}}]}},
        {"name": "check", "last_message_contains": "Edited calc/__init__.py",
         "respond": {"tool_calls": [{"name": "bash", "arguments": {"command": look}}]}},
    ]
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"rules": rules}))
    return path


@pytest.mark.slow
def test_seed_agent_works_in_the_instance_container(standin_image, rows_file, tmp_path):
    """`bench run` on SWE-bench: the seed agent runs in the agent image, its tools act in the
    instance container through the exec channel, the patch is taken there and graded."""
    from typer.testing import CliRunner

    from agentforge.cli import app
    from agentforge.paths import archive_dir

    out = tmp_path / "out"
    done = CliRunner().invoke(app, [
        "bench", "run", "-b", "swebench", "--source", str(rows_file), "-i", INSTANCE,
        "--agent", str(archive_dir() / "base"), "--model", f"scripted:{_script(tmp_path)}",
        "--out", str(out), "--workers", "1"])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    assert report["resolved_ids"] == [INSTANCE], report["reasons"]
    [pred] = [json.loads(x) for x in (out / "preds.jsonl").read_text().splitlines()]
    assert pred["model_patch"].startswith("diff --git a/calc/__init__.py")
    assert "+    return sum(values) / len(values)\n" in pred["model_patch"]
    trajectory = json.loads((out / "trajectories" / INSTANCE / "out" / "trajectory.json")
                            .read_text())
    outputs = [c.get("output", "") for c in trajectory["tool_calls"]]
    # /testbed exists only in the instance image, not in the agent's: the commands ran
    # there, in the repo, before and after the fix, in a container with only loopback.
    before = next(o for o in outputs if "mean is 1.0" in o)
    assert "exit code: 0\n/testbed\nlo\n" in before
    assert any("mean is 2.0" in o for o in outputs)


@pytest.mark.slow
def test_a_retry_restores_the_previous_patch_in_the_instance_container(
        standin_image, rows_file, make_agent, tmp_path):
    """pass@2's second attempt starts from the first attempt's patch, applied in the task
    container; an agent that changes nothing then returns that patch."""
    from agentforge.bench.agent_run import run_agent_on_task

    bench = get_benchmark("swebench", source=rows_file)
    task = bench.prepare(bench.task(INSTANCE))
    assert task.repo_dir is None  # nothing copied to the host: the repo stays in the image
    idle = make_agent([])  # no rules: the agent edits nothing
    run = run_agent_on_task(task, idle, problem=task.problem_statement,
                    trajectory_dir=tmp_path / "traj", timeout=300, start_patch=GOLD)
    assert run.exit_code == 0, run.log_tail
    assert "-    return sum(values) / len(values) - 1\n" in run.patch
    assert "+    return sum(values) / len(values)\n" in run.patch
    graded = bench.grade(task, Prediction(instance_id=INSTANCE, model_patch=run.patch))
    assert graded.outcome is Outcome.RESOLVED, graded.reason
