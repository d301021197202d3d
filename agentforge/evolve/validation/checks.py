"""A child agent's own tests, run the way the grader runs hidden tests (used by agent.py).

They go through the grader's own path (`bench.grading.run_framework_tests` with the pytest
runner): the grader's launcher, ini file and guard plugin in strict mode (the child's conftest
hooks that touch outcomes count as tampering), an isolated interpreter without PYTHONPATH or
the repository's configuration, run by the test user, who cannot write the child's tree; and
the verdict is the grader's structured report, not the exit code. Whatever makes the grader's
verdict unforgeable makes this one so too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agentforge.agent_contract import AGENT_DIR, SCRIPTED_SERVER, AgentSpec, install_scripted_server
from agentforge.bench.grading import run_framework_tests
from agentforge.bench.runners import PytestRunner
from agentforge.bench.task import Check, CheckKind, Task
from agentforge.evolve.validation.suite import is_test_file
from agentforge.sandbox import Sandbox

_FINE = {"passed", "skipped", "xfail"}
# pytest options whose value is the next argument (a path there is not a target).
_TAKES_VALUE = {"-k", "-m", "-p", "-o", "-W", "-c", "--deselect", "--ignore", "--ignore-glob",
                "--rootdir", "--confcutdir", "--maxfail", "--tb"}


@dataclass
class OwnTests:
    """The child's own tests as the grader's guard saw them."""

    reason: str | None
    """None when they passed; else why not."""
    counts: dict[str, int] = field(default_factory=dict)
    """Tests per status (passed, failed, ...)."""
    output: str = ""
    """The tail of pytest's output."""
    exit_code: int | None = None
    duration: float = 0.0


def own_tests_task(agent: AgentSpec, pytest_args: list[str] | None, timeout: float
                   ) -> tuple[Task, list[str]]:
    """The child's tests as a grading task (its test files in its folder), and the pytest
    options of `pytest_args` (everything that is not a path in the agent's folder)."""
    root = Path(agent.path).resolve()
    targets, options = [], []
    for arg in pytest_args or []:
        path = (root / arg.split("::")[0]).resolve()
        if options and options[-1] in _TAKES_VALUE or arg.startswith("-") \
                or not path.exists() or not path.is_relative_to(root):
            options.append(arg)
        else:
            targets += _test_files(root, path) if path.is_dir() else [arg]
    targets = targets or _test_files(root, root)
    env = {"AGENTFORGE_SCRIPTED_SERVER": SCRIPTED_SERVER, "AGENTFORGE_GUARD_STRICT": "1"}
    task = Task(instance_id=f"own-tests-{agent.name}"[:60], benchmark="validation",
                problem_statement="", workdir=AGENT_DIR, hidden_tests=targets,
                check=Check(kind=CheckKind.EXIT_CODE, timeout=timeout, env=env))
    return task, options


def run_own_tests(box: Sandbox, agent: AgentSpec, pytest_args: list[str] | None,
                  timeout: float) -> OwnTests:
    """The child's tests (installed at AGENT_DIR) under the grader's path; why they fail."""
    install_scripted_server(box)
    task, options = own_tests_task(agent, pytest_args, timeout)
    if not task.hidden_tests:
        return OwnTests("own tests: the agent has no test files (tests/test_*.py)")
    done, report = run_framework_tests(box, task, PytestRunner(options=options))
    counts: dict[str, int] = {}
    for status in report.tests.values():
        counts[status] = counts.get(status, 0) + 1
    result = OwnTests(None, counts, done.output[-8000:], done.exit_code, done.duration)
    if done.timed_out:
        result.reason = f"own tests timed out after {timeout:.0f}s"
    elif not report.complete:
        result.reason = (f"own tests: early exit, no complete test report (exit code "
                         f"{done.exit_code}): {_tail(done.output)}")
    elif report.problems:
        result.reason = f"own tests: {'; '.join(report.problems[:2])}"
    elif not report.tests:
        result.reason = "own tests: pytest collected no tests"
    elif set(counts) - _FINE:
        failing = sorted(t for t, s in report.tests.items() if s not in _FINE)
        result.reason = f"own tests fail: {', '.join(failing[:5])}: {_tail(done.output)}"
    elif done.exit_code != 0:
        result.reason = (f"own tests: pytest exited with {done.exit_code} although every test "
                         f"passed: {_tail(done.output)}")
    return result


def _test_files(root: Path, folder: Path) -> list[str]:
    found = (p.relative_to(root).as_posix() for p in folder.rglob("*.py"))
    return sorted(rel for rel in found if is_test_file(rel)
                  and "__pycache__" not in PurePosixPath(rel).parts)


def _tail(text: str, limit: int = 400) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-4:])[-limit:]
