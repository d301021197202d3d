"""report.json (SWE-bench's summary field names plus per-task reasons) and preds.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from agentforge.bench.task import Outcome, Prediction, TaskResult

SCHEMA_VERSION = 1


def build_report(
    task_ids: list[str], predictions: list[Prediction], results: dict[str, TaskResult]
) -> dict:
    """Summary in SWE-bench's field names; `tasks` adds each task's outcome and reason."""
    by_outcome: dict[Outcome, list[str]] = {outcome: [] for outcome in Outcome}
    for instance_id, result in results.items():
        by_outcome[result.outcome].append(instance_id)
    resolved = sorted(by_outcome[Outcome.RESOLVED])
    unresolved = sorted(by_outcome[Outcome.UNRESOLVED])
    submitted = sorted({p.instance_id for p in predictions})
    completed = sorted(resolved + unresolved)
    incomplete = sorted(set(task_ids) - set(results))
    return {
        "total_instances": len(task_ids),
        "submitted_instances": len(submitted),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(unresolved),
        "empty_patch_instances": len(by_outcome[Outcome.EMPTY_PATCH]),
        "error_instances": len(by_outcome[Outcome.ERROR]),
        "completed_ids": completed,
        "incomplete_ids": incomplete,
        "submitted_ids": submitted,
        "resolved_ids": resolved,
        "unresolved_ids": unresolved,
        "empty_patch_ids": sorted(by_outcome[Outcome.EMPTY_PATCH]),
        "error_ids": sorted(by_outcome[Outcome.ERROR]),
        "reasons": {i: results[i].reason for i in sorted(results)},
        "tasks": {
            i: results[i].model_dump(mode="json", exclude={"instance_id", "test_output"})
            for i in sorted(results)
        },
        "schema_version": SCHEMA_VERSION,
    }


def write_report(out_dir: Path, report: dict) -> Path:
    """Write report.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def write_predictions(path: Path, predictions: list[Prediction]) -> Path:
    """Write preds.jsonl: one {instance_id, model_name_or_path, model_patch} per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for prediction in predictions:
            handle.write(json.dumps(prediction.model_dump(mode="json")) + "\n")
    return path


def read_predictions(path: Path) -> list[Prediction]:
    """Read predictions from .jsonl (one per line) or .json (a list or an id-keyed dict)."""
    text = Path(path).read_text()
    if str(path).endswith(".json"):
        data = json.loads(text)
        rows = list(data.values()) if isinstance(data, dict) else data
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Prediction.model_validate(row) for row in rows]
