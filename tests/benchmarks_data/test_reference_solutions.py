"""Every bundled task, graded in a sandbox exactly as an agent's patch would be (Python tasks
in the agent-runtime image, Go tasks in the toolchains image): the reference solution
resolves it and the untouched stub or buggy repo does not. For SWE-style tasks the untouched
repo must fail exactly the FAIL_TO_PASS tests and pass every PASS_TO_PASS test, which checks
that the lists the generator derived on the host hold in the sandbox image."""

from __future__ import annotations

import pytest
from bundled_suite import read_task, task_ids

from agentforge.bench import get_benchmark
from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.task import Outcome, Prediction


@pytest.fixture
def image_for(request):
    """Build or find the image a task names before it is graded (Go needs `toolchains`)."""

    def ensure(task_id: str) -> None:
        fixture = "toolchains_image" if read_task(task_id)["language"] == "go" else "agent_image"
        request.getfixturevalue(fixture)

    return ensure


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("task_id", task_ids())
def test_reference_resolves_and_untouched_repo_does_not(image_for, task_id):
    image_for(task_id)
    task = get_benchmark("local").task(task_id)

    reference = grade_in_sandbox(task, Prediction(instance_id=task_id,
                                                  model_patch=task.reference_patch))
    assert reference.outcome is Outcome.RESOLVED, f"{reference.reason}\n{reference.test_output}"
    assert not reference.dropped_files, "the reference patch must not touch protected files"

    untouched = grade_in_sandbox(task, Prediction(instance_id=task_id, model_patch=""),
                                 run_empty=True)
    assert untouched.outcome is Outcome.UNRESOLVED, f"{untouched.reason}\n{untouched.test_output}"

    if task.check.fail_to_pass:
        # The grader's structured report, not the output's tail (one test session per file:
        # the tail holds the last files only). On the buggy repository every PASS_TO_PASS
        # test passes, and the failing expected tests are the FAIL_TO_PASS ones.
        p2p_only = task.model_copy(update={"check": task.check.model_copy(
            update={"fail_to_pass": []})})
        kept = grade_in_sandbox(p2p_only, Prediction(instance_id=task_id, model_patch=""),
                                run_empty=True)
        assert kept.outcome is Outcome.RESOLVED, \
            f"PASS_TO_PASS tests not passing on the buggy repo: {kept.reason}"
        named = task.check.fail_to_pass[:5]  # the reason names at most five
        assert all(name in untouched.reason for name in named), untouched.reason
