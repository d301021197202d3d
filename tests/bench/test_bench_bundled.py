"""Every bundled task (benchmarks/local): the reference solution passes and the untouched
stub fails, each graded in a fresh sandbox exactly as an agent's patch would be."""

from __future__ import annotations

import pytest

from agentforge.bench import get_benchmark
from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.task import Outcome, Prediction
from agentforge.paths import benchmarks_dir

TASK_IDS = sorted(p.name for p in (benchmarks_dir() / "local" / "tasks").glob("*")
                  if (p / "task.toml").is_file())


def test_the_suite_is_there():
    assert len(TASK_IDS) >= 24, "generate it: python benchmarks/local/generate.py"


@pytest.mark.slow
@pytest.mark.parametrize("instance_id", TASK_IDS)
def test_reference_passes_and_stub_fails(toolchains_image, instance_id):
    task = get_benchmark("local").task(instance_id)
    assert task.reference_patch, "every bundled task ships solution.patch"
    reference = grade_in_sandbox(task, Prediction(instance_id=instance_id,
                                                  model_patch=task.reference_patch))
    assert reference.outcome is Outcome.RESOLVED, reference.reason + reference.test_output
    stub = grade_in_sandbox(task, Prediction(instance_id=instance_id, model_patch=""),
                            run_empty=True)
    assert stub.outcome is Outcome.UNRESOLVED, stub.reason
