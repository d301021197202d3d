"""Grading a patch in a FRESH sandbox: snapshot in, patch applied, protected files kept,
hidden tests copied in last, the task's check decides. Nothing the agent ran is reused."""

from __future__ import annotations

import re
import time
from pathlib import Path

from agentforge.bench.images import resolve_task_image
from agentforge.bench.patches import LANGUAGE_TEST_GLOBS, RUNNER_CONFIG_GLOBS, drop_protected
from agentforge.bench.task import CheckKind, Outcome, Prediction, Task, TaskResult
from agentforge.errors import AgentforgeError
from agentforge.sandbox import Sandbox, SandboxConfig

PATCH_PATH = "/task/prediction.diff"
OUTPUT_TAIL = 6000
# pytest -rA summary lines: "PASSED tests/test_x.py::test_y" (FAILED lines add " - reason").
_SUMMARY_LINE = re.compile(
    r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED) (.+?)(?: - .*)?$", re.MULTILINE)


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
    )


def protected_globs(task: Task) -> list[str]:
    """Everything whose edits the grader ignores: hidden tests, protected files, runner config."""
    return [*task.hidden_tests, *task.protected_files, *RUNNER_CONFIG_GLOBS,
            *LANGUAGE_TEST_GLOBS.get(task.language, [])]


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
    kept, dropped = drop_protected(patch, protected_globs(task))
    try:
        result = _run_check(task, kept, dropped)
    except AgentforgeError as exc:
        result = TaskResult(
            instance_id=task.instance_id, outcome=Outcome.ERROR, reason=f"sandbox error: {exc}",
            dropped_files=dropped,
        )
    result.duration = time.monotonic() - start
    return result


def _run_check(task: Task, patch: str, dropped: list[str]) -> TaskResult:
    def result(outcome: Outcome, reason: str, output: str = "") -> TaskResult:
        return TaskResult(
            instance_id=task.instance_id, outcome=outcome, reason=reason,
            test_output=output[-OUTPUT_TAIL:], dropped_files=dropped,
        )

    image = resolve_task_image(task.image)
    with Sandbox(grading_config(task, image)) as box:
        if task.repo_dir is not None:
            box.copy_in(task.repo_dir, task.workdir)
        if patch.strip():
            box.write_files("/task", {"prediction.diff": patch})
            applied = box.exec(
                ["git", "apply", "--whitespace=nowarn", "-v", PATCH_PATH], timeout=120
            )
            if not applied.ok:
                return result(
                    Outcome.ERROR, f"patch does not apply: {_last_line(applied.output)}",
                    applied.output,
                )
        if task.hidden_tests:
            # Parent folders made by the sandbox user: put_archive would make them root's.
            parents = sorted({str(Path(rel).parent) for rel in task.hidden_tests} - {"."})
            if parents:
                box.exec(["mkdir", "-p", *parents], timeout=60)
            box.write_files(task.workdir, _hidden_test_files(task))
        check = task.check
        done = box.exec(["/bin/sh", "-c", check.test_command], timeout=check.timeout, env=check.env)
    if done.timed_out:
        return result(Outcome.ERROR, f"tests timed out after {check.timeout:.0f}s", done.output)
    if done.oom_killed:
        return result(Outcome.ERROR, "tests ran out of memory", done.output)
    note = f" (ignored changes to protected files: {', '.join(dropped)})" if dropped else ""
    if check.kind is CheckKind.EXIT_CODE:
        if done.exit_code == 0:
            return result(Outcome.RESOLVED, f"tests passed{note}", done.output)
        return result(
            Outcome.UNRESOLVED, f"tests failed (exit code {done.exit_code}){note}", done.output
        )
    if check.kind is CheckKind.TEST_LISTS:
        return result(*_decide_test_lists(task, done.output, note), done.output)
    raise AgentforgeError(f"check kind {check.kind.value} is not graded by grade_in_sandbox")


def _decide_test_lists(task: Task, output: str, note: str) -> tuple[Outcome, str]:
    statuses = {m.group(2): m.group(1) for m in _SUMMARY_LINE.finditer(output)}
    if not statuses:
        return Outcome.UNRESOLVED, f"no test results in the output (did collection fail?){note}"
    f2p = [t for t in task.check.fail_to_pass if statuses.get(t) != "PASSED"]
    p2p = [t for t in task.check.pass_to_pass if statuses.get(t) != "PASSED"]
    if not f2p and not p2p:
        return Outcome.RESOLVED, f"all FAIL_TO_PASS and PASS_TO_PASS tests pass{note}"
    parts = []
    if f2p:
        parts.append(f"FAIL_TO_PASS not passing: {', '.join(f2p[:5])}")
    if p2p:
        parts.append(f"PASS_TO_PASS broken: {', '.join(p2p[:5])}")
    return Outcome.UNRESOLVED, "; ".join(parts) + note


def _hidden_test_files(task: Task) -> dict[str, bytes]:
    root = Path(task.hidden_tests_dir or ".")
    return {rel: (root / rel).read_bytes() for rel in task.hidden_tests}


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "git apply failed"
