"""report.json carries SWE-bench's summary fields and a reason per task."""

from __future__ import annotations

from agentforge.bench.report import build_report, read_predictions, write_predictions
from agentforge.bench.task import Outcome, Prediction, TaskResult

SWEBENCH_FIELDS = {
    "total_instances", "submitted_instances", "completed_instances", "resolved_instances",
    "unresolved_instances", "empty_patch_instances", "error_instances", "resolved_ids",
    "unresolved_ids", "empty_patch_ids", "error_ids",
}


def test_report_fields_and_counts():
    results = {
        "a": TaskResult(instance_id="a", outcome=Outcome.RESOLVED, reason="tests passed"),
        "b": TaskResult(instance_id="b", outcome=Outcome.UNRESOLVED, reason="tests failed"),
        "c": TaskResult(instance_id="c", outcome=Outcome.EMPTY_PATCH, reason="empty patch"),
        "zz": TaskResult(instance_id="zz", outcome=Outcome.ERROR, reason="unknown instance id"),
    }
    preds = [Prediction(instance_id=i, model_patch="x") for i in ("a", "b", "c", "zz")]
    report = build_report(["a", "b", "c", "d"], preds, results)
    assert set(report) >= SWEBENCH_FIELDS
    assert report["total_instances"] == 4 and report["submitted_instances"] == 4
    assert report["completed_instances"] == 2 and report["resolved_ids"] == ["a"]
    assert report["error_ids"] == ["zz"] and report["incomplete_ids"] == ["d"]
    assert report["reasons"]["zz"] == "unknown instance id"
    assert report["tasks"]["b"]["outcome"] == "unresolved"


def test_predictions_round_trip_in_swebench_format(tmp_path):
    preds = [Prediction(instance_id="python__x", model_name_or_path="m", model_patch="diff")]
    path = write_predictions(tmp_path / "preds.jsonl", preds)
    assert path.read_text().strip() == (
        '{"instance_id": "python__x", "model_name_or_path": "m", "model_patch": "diff"}')
    assert read_predictions(path) == preds
