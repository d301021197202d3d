"""Grading a patch in a FRESH sandbox, as if the agent were trying to fool the grader.

1. the patch is applied with git in a scratch copy of the snapshot and only the paths the
   task's `PatchRules` accept are kept (patches.py);
2. that tree goes into a fresh sandbox, the hidden tests are written over it;
3. the language's framework-owned runner runs them (runners.py) and its structured report,
   not the exit code or printed lines, decides: every expected test must be there and pass.
Nothing the agent ran is reused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from agentforge.bench.images import resolve_task_image
from agentforge.bench.patches import (
    REPOSITORY_TEST_GLOBS,
    RUNNER_CONFIG_GLOBS,
    AcceptedPatch,
    PatchError,
    PatchRules,
    accept_patch,
)
from agentforge.bench.runner_registry import runner_for
from agentforge.bench.runners import (
    GRADING_DIR,
    PASSED,
    REPORT_DIR,
    TEST_USER,
    Runner,
    TestReport,
    TestRun,
)
from agentforge.bench.task import CheckKind, Outcome, Prediction, Task, TaskResult
from agentforge.errors import AgentforgeError
from agentforge.sandbox import ExecResult, Sandbox, SandboxConfig
from agentforge.sandbox.files import Upload

OUTPUT_TAIL = 6000


def grading_config(task: Task, image: str) -> SandboxConfig:
    """The sandbox policy for grading: the default hardening, sized for compilers."""
    return SandboxConfig(
        image=image,
        workdir=task.workdir,
        writable_paths=sorted({task.workdir, "/task"}),
        pids_limit=1024,
        memory="3g",
        timeout=task.check.timeout,
        labels={"agentforge.role": "grade", "agentforge.task": task.instance_id[:60]},
        spares=1,  # the next grading sandbox starts while this one grades
    )


def patch_rules(task: Task) -> PatchRules:
    """What a task grades: its solution files when it names them, else anything but tests
    and runner configuration (the task's protected files and hidden tests included)."""
    never = (*task.hidden_tests, *task.protected_files)
    if task.visible_files:
        return PatchRules(only=tuple(task.visible_files), never=never,
                          never_reason="hidden test or protected file")
    return PatchRules(never=(*never, *REPOSITORY_TEST_GLOBS, *RUNNER_CONFIG_GLOBS),
                      never_reason="test or runner configuration")


def grade_in_sandbox(task: Task, prediction: Prediction, *, run_empty: bool = False) -> TaskResult:
    """Grade one prediction for a task that ships its repo snapshot and hidden tests.

    An empty patch is reported as such without running anything, unless `run_empty`
    (used to check that the untouched snapshot fails).
    """
    start = time.monotonic()
    patch = prediction.model_patch or ""
    if not patch.strip() and not run_empty:
        return TaskResult(
            instance_id=task.instance_id, outcome=Outcome.EMPTY_PATCH,
            reason="empty patch: the agent changed nothing",
        )
    if task.repo_dir is None:
        raise AgentforgeError(f"{task.instance_id}: grade_in_sandbox needs the task's repo_dir")
    dropped: list[str] = []
    try:
        with accept_patch(task.repo_dir, patch, patch_rules(task)) as accepted:
            dropped = sorted(accepted.dropped)
            if accepted.error is not None:
                result = TaskResult(instance_id=task.instance_id, outcome=Outcome.ERROR,
                                    reason=f"patch does not apply: {accepted.error}")
            else:
                result = _run_check(task, accepted)
    except PatchError as exc:
        result = TaskResult(instance_id=task.instance_id, outcome=Outcome.ERROR,
                            reason=f"patch could not be processed: {exc}")
    except AgentforgeError as exc:
        result = TaskResult(instance_id=task.instance_id, outcome=Outcome.ERROR,
                            reason=f"sandbox error: {exc}")
    result.dropped_files = dropped
    result.duration = time.monotonic() - start
    return result


def _run_check(task: Task, accepted: AcceptedPatch) -> TaskResult:
    note = accepted.dropped_note()

    def result(outcome: Outcome, reason: str, output: str = "") -> TaskResult:
        return TaskResult(instance_id=task.instance_id, outcome=outcome, reason=reason + note,
                          test_output=output[-OUTPUT_TAIL:])

    runner = runner_for(task)
    image = resolve_task_image(task.image)
    with Sandbox(grading_config(task, image)) as box:
        plan = runner.plan(task) if runner is not None else None
        _set_up(box, task, accepted, plan)
        if runner is None:
            done = box.exec(["/bin/sh", "-c", task.check.test_command],
                            timeout=task.check.timeout, env=task.check.env)
            report = None
        else:
            done, report = run_framework_tests(box, task, runner, plan,
                                               solution_files=accepted.accepted)
    if done.timed_out:
        return result(Outcome.ERROR, f"tests timed out after {task.check.timeout:.0f}s",
                      done.output)
    if done.oom_killed:
        return result(Outcome.ERROR, "tests ran out of memory", done.output)
    if runner is None:
        if done.exit_code == 0:
            return result(Outcome.RESOLVED, "tests passed (decided by exit code)", done.output)
        return result(Outcome.UNRESOLVED, f"tests failed (exit code {done.exit_code})",
                      done.output)
    return result(*judge(task, runner, report, done.exit_code), done.output)


def _set_up(box: Sandbox, task: Task, accepted: AcceptedPatch, plan: TestRun | None) -> None:
    """Everything the grading sandbox needs before its commands, in two copies and no
    command: the accepted tree with the hidden tests (and the runner's repository files)
    written over it, then the runner's own files and the report folder under /task."""
    tree = Upload().tree("", accepted.tree)
    for rel, data in _hidden_test_files(task).items():
        tree.file(rel, data)
    for rel, data in (plan.repo_files if plan else {}).items():
        tree.file(rel, data)
    box.put(task.workdir, tree)
    if plan is not None:
        _put_runner_files(box, plan)


def _put_runner_files(box: Sandbox, plan: TestRun) -> None:
    """The runner's own files and the report folder under /task, in one copy."""
    grading = Upload()
    for rel, data in plan.framework_files.items():
        grading.file(str(PurePosixPath(GRADING_DIR, rel).relative_to("/task")), data)
    # The test user may write its report and nothing of the tree.
    grading.folder(str(PurePosixPath(REPORT_DIR).relative_to("/task")), mode=0o777)
    box.put("/task", grading)


def run_framework_tests(box: Sandbox, task: Task, runner: Runner, plan: TestRun | None = None,
                        *, solution_files: Sequence[str] = ()) -> tuple[ExecResult, TestReport]:
    """The runner's tests in `box` (the tree already there), as TEST_USER; its report.
    Also how a child agent's own tests run (evolve/validation/checks.py). Without `plan`,
    the runner's files are put in first; grading passes the plan `_set_up` already put. A
    collected test whose code comes from one of `solution_files` (the patch's) is refused."""
    if plan is None:
        plan = runner.plan(task)
        _put_runner_files(box, plan)
        if plan.repo_files:
            repo = Upload()
            for rel, data in plan.repo_files.items():
                repo.file(rel, data)
            box.put(task.workdir, repo)
    env = {**task.check.env, **plan.env, "HOME": "/tmp",
           "AGENTFORGE_SOLUTION_FILES": json.dumps(sorted(solution_files))}
    if plan.prepare:
        prepared = box.exec(["/bin/sh", "-c", plan.prepare], timeout=300, env=env,
                            workdir=task.workdir)
        if not prepared.ok:
            raise AgentforgeError(f"preparing the test run failed: {prepared.output[-300:]}")
    done = box.exec(plan.command, timeout=task.check.timeout, env=env, user=TEST_USER,
                    workdir=task.workdir)
    raw = None
    if plan.report_file is not None:
        try:
            raw = box.read_file(plan.report_file, max_bytes=16 * 1024 * 1024)
        except AgentforgeError:
            raw = None
    return done, runner.read(raw, done.stdout)


def judge(task: Task, runner: Runner, report: TestReport, exit_code: int
          ) -> tuple[Outcome, str]:
    """Resolved only if the report is complete, untampered, and every expected test passed."""
    if not report.complete:
        return Outcome.UNRESOLVED, "; ".join(report.problems[:3]) or (
            f"early exit: no complete test report (the test process ended with exit code "
            f"{exit_code} before the runner finished)")
    if report.problems:
        return Outcome.UNRESOLVED, "; ".join(report.problems[:3])
    expected = runner.expected(task)
    if not expected:
        return Outcome.UNRESOLVED, "no expected tests could be named from the hidden tests"
    missing, failing = [], []
    for name in expected:
        found = [status for test_id, status in report.tests.items()
                 if runner.matches(name, test_id)]
        if not found:
            missing.append(name)
        elif any(status != PASSED for status in found):
            failing.append(name)
    parts = []
    if missing:
        parts.append(f"expected tests missing from the report: {', '.join(missing[:5])}")
    if failing:
        label = "FAIL_TO_PASS/PASS_TO_PASS" if task.check.kind is CheckKind.TEST_LISTS \
            else "tests"
        parts.append(f"{label} not passing: {', '.join(failing[:5])}")
    if task.check.kind is not CheckKind.TEST_LISTS:
        others = sorted(t for t, s in report.tests.items() if s in ("failed", "error"))
        if others and not failing:
            parts.append(f"other tests failing: {', '.join(others[:5])}")
        if not parts and exit_code != 0:
            parts.append(f"the runner exited with {exit_code} although every test passed")
    if parts:
        return Outcome.UNRESOLVED, "; ".join(parts)
    return Outcome.RESOLVED, f"all {len(expected)} expected tests passed (structured report)"


def _hidden_test_files(task: Task) -> dict[str, bytes]:
    root = Path(task.hidden_tests_dir or ".")
    return {rel: (root / rel).read_bytes() for rel in task.hidden_tests}
