"""Grading in fresh sandboxes: references pass, stubs fail, bad predictions get reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.task import Outcome, Prediction
from agentforge.cli import app

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.slow
@pytest.mark.parametrize("instance_id", ["py-exercise-clamp", "go-exercise-digitsum",
                                         "swe-tinykv-1"])
def test_reference_passes_and_stub_fails(local_bench, toolchains_image, instance_id):
    task = local_bench.task(instance_id)
    reference = local_bench.grade(task, Prediction(instance_id=instance_id,
                                                   model_patch=task.reference_patch))
    assert reference.outcome is Outcome.RESOLVED, reference.reason + reference.test_output
    stub = grade_in_sandbox(task, Prediction(instance_id=instance_id, model_patch=""),
                            run_empty=True)
    assert stub.outcome is Outcome.UNRESOLVED, stub.reason


def test_grade_cli_reports_each_bad_prediction_and_grades_the_rest(local_bench, agent_image,
                                                                    tmp_path):
    clamp = local_bench.task("py-exercise-clamp")
    swe = local_bench.task("swe-tinykv-1")
    preds = [
        {"instance_id": clamp.instance_id, "model_name_or_path": "m",
         "model_patch": clamp.reference_patch},
        {"instance_id": swe.instance_id, "model_name_or_path": "m",
         "model_patch": "diff --git a/tinykv/__init__.py b/tinykv/__init__.py\n"
                        "--- a/tinykv/__init__.py\n+++ b/tinykv/__init__.py\n"
                        "@@ -1,3 +1,3 @@\n-not in the file\n+nor this\n"},
        {"instance_id": "go-exercise-digitsum", "model_name_or_path": "m", "model_patch": ""},
        {"instance_id": "py-exercise-nope", "model_name_or_path": "m", "model_patch": "x"},
    ]
    pred_file = tmp_path / "preds.jsonl"
    pred_file.write_text("".join(json.dumps(p) + "\n" for p in preds))
    out = tmp_path / "out"
    done = CliRunner().invoke(app, [
        "bench", "grade", "--benchmark", "local", "--source", str(FIXTURES / "local"),
        "--predictions", str(pred_file), "--out", str(out), "--workers", "2"])
    assert done.exit_code == 0, done.output
    report = json.loads((out / "report.json").read_text())
    assert report["resolved_ids"] == ["py-exercise-clamp"]
    assert report["empty_patch_ids"] == ["go-exercise-digitsum"]
    assert report["error_ids"] == ["py-exercise-nope", "swe-tinykv-1"]
    assert report["submitted_instances"] == 4 and report["total_instances"] == 3
    reasons = report["reasons"]
    assert reasons["swe-tinykv-1"].startswith("patch does not apply")
    assert reasons["go-exercise-digitsum"].startswith("empty patch")
    assert reasons["py-exercise-nope"].startswith("unknown instance id")
    assert (out / "logs" / "py-exercise-clamp" / "test_output.txt").read_text()


@pytest.mark.slow
def test_a_go_testmain_that_exits_zero_gains_nothing(local_bench, toolchains_image):
    from agentforge.bench.patches import diff_files

    task = local_bench.task("go-exercise-digitsum")
    cheat = diff_files({"zz_main_test.go": (None, (
        'package digitsum\n\nimport (\n\t"os"\n\t"testing"\n)\n\n'
        "func TestMain(m *testing.M) { os.Exit(0) }\n"))})
    result = local_bench.grade(task, Prediction(instance_id=task.instance_id, model_patch=cheat))
    assert result.outcome is Outcome.UNRESOLVED
    assert result.dropped_files == ["zz_main_test.go"]
