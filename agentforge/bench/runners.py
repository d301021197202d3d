"""Framework-owned test runs that end in a structured per-test report.

A `Runner` turns a task into a command that ignores the repository's runner configuration
(pytest with the grader's own ini file and guard plugin, an isolated interpreter and no
working directory on sys.path; Go in go_grading.py), reads the per-test report the outcome
driver keeps (outcome_channel.py), and names the tests the hidden tests define, so the
grader can demand that every one of them ran and passed. Printed lines never count.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from agentforge.bench.outcome_channel import ChildRun, RunOutcome, driver_plan, read_outcomes
from agentforge.bench.task import CheckKind, Task

TEST_UID = 1001
TEST_USER = f"{TEST_UID}:{TEST_UID}"
"""Who runs the tests: not the owner of the tree, so code under test cannot rewrite test
files, the solution or the runner's files on disk while the tests run."""
GRADING_DIR = "/task/grading"
"""Framework files for the run (ini file, plugin, launcher); written by the grader."""
REPORT_DIR = "/task/report"
# Nothing from the repository: the image's interpreter and toolchains only.
RUNNER_PATH = ("/opt/agentforge/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
               ":/sbin:/bin")
_FILES = Path(__file__).parent / "runner_files"
PASSED = "passed"


@dataclass
class TestRun:
    """How to run a task's tests: the command, its environment and the framework's files."""

    command: list[str]
    env: dict[str, str]
    framework_files: dict[str, bytes] = field(default_factory=dict)
    """Written under GRADING_DIR, outside the repository."""
    repo_files: dict[str, bytes] = field(default_factory=dict)
    """Written into the repository after the hidden tests (e.g. Go's completion guard)."""
    report_file: str | None = None
    """The structured report the run leaves (None: the report is the command's stdout)."""
    prepare: str = ""
    """Shell command run first as the tree's owner (un-skipping tests, a lock file); the
    tests themselves run as TEST_USER, who can read the tree but not change it."""


@dataclass
class TestReport:
    """Per-test outcomes from a runner's structured report."""

    tests: dict[str, str]
    """Test id -> passed / failed / error / skipped / xfail."""
    complete: bool
    """The runner reached its end and said so (an early exit leaves this False)."""
    problems: list[str] = field(default_factory=list)
    """Tampering and collection errors seen by the framework's own code, named."""


class Runner(Protocol):
    """One language's framework-owned test run."""

    def plan(self, task: Task) -> TestRun: ...
    def read(self, report: bytes | None, stdout: str) -> TestReport: ...
    def expected(self, task: Task) -> list[str]: ...
    def matches(self, expected: str, test_id: str) -> bool: ...


@dataclass
class PytestRunner:
    """pytest under the grader's ini file (`-c`), rootdir and guard plugin."""

    options: list[str] = field(default_factory=list)
    """Extra pytest arguments before the targets (a child's own tests: `-x`, `-k EXPR`)."""

    def targets(self, task: Task) -> list[str]:
        """Test files to run: those the expected test ids name, or the hidden test files."""
        if task.check.kind is CheckKind.TEST_LISTS:
            ids = [*task.check.fail_to_pass, *task.check.pass_to_pass]
            return sorted({test_id.split("::")[0] for test_id in ids})
        return sorted(p for p in task.hidden_tests if _is_python_test_file(p))

    def plan(self, task: Task) -> TestRun:
        """One fresh isolated interpreter per test file, each under the framework's ini,
        launcher, strict equality and guard plugin, run by the outcome driver."""
        ini = (f"[pytest]\naddopts =\npythonpath = {task.workdir}\nxfail_strict = true\n"
               "python_files = test_*.py *_test.py\n")
        pytest = ["python", "-B", "-P", "-E", "-s", f"{GRADING_DIR}/run_pytest.py",
                  "-c", f"{GRADING_DIR}/pytest.ini", f"--rootdir={task.workdir}",
                  "-p", "no:cacheprovider", "-q", "-rA", *self.options]
        child_env = {"PATH": RUNNER_PATH, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                     "PYTEST_ADDOPTS": "", "PYTEST_PLUGINS": "", "AGENTFORGE_STRICT_EQUALITY": "1"}
        runs = [ChildRun(label=target, argv=[*pytest, target], cwd=task.workdir, env=child_env)
                for target in self.targets(task)]
        report = f"{REPORT_DIR}/outcomes.json"
        command, files = driver_plan(runs, GRADING_DIR, report, TEST_UID)
        files |= {"pytest.ini": ini.encode(), "run_pytest.py": runner_file("run_pytest.py"),
                  "pytest_guard.py": runner_file("pytest_guard.py"),
                  "strict_compare.py": runner_file("strict_compare.py")}
        return TestRun(command=command, env={"PATH": RUNNER_PATH}, framework_files=files,
                       report_file=report)

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """The guard plugin's outcomes as the driver kept them (none: the driver ended early)."""
        return driver_report(read_outcomes(report, stdout))

    def expected(self, task: Task) -> list[str]:
        """FAIL_TO_PASS + PASS_TO_PASS, or every test function the hidden test files define."""
        if task.check.kind is CheckKind.TEST_LISTS:
            return [*task.check.fail_to_pass, *task.check.pass_to_pass]
        root = Path(task.hidden_tests_dir or ".")
        return [test for rel in self.targets(task)
                for test in python_test_ids(rel, (root / rel).read_text())]

    def matches(self, expected: str, test_id: str) -> bool:
        """A test id is the expected one, or one of its parametrized cases."""
        return test_id == expected or test_id.startswith(expected + "[")


def driver_report(outcomes: list[RunOutcome] | None) -> TestReport:
    """One report from the driver's runs: complete only if every run reached its end."""
    if outcomes is None:
        return TestReport(tests={}, complete=False)
    report = TestReport(tests={}, complete=bool(outcomes) and all(r.complete for r in outcomes))
    for run in outcomes:
        report.tests.update({test: str(status) for test, status in run.tests.items()})
        report.problems += [p for p in run.problems if p not in report.problems]
        if run.built and not run.complete:
            report.problems.append(
                f"early exit: the test process of {run.label} ended (exit code "
                f"{run.exit_code}) before its runner reported the end")
    return report


def runner_file(name: str) -> bytes:
    """A framework file for test runs (runner_files/), as bytes."""
    return (_FILES / name).read_bytes()


def _is_python_test_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def python_test_ids(rel: str, source: str) -> list[str]:
    """`file::test` and `file::TestClass::test` node ids a pytest file defines."""
    ids = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.name.startswith("test"):
            ids.append(f"{rel}::{node.name}")
        elif isinstance(node, ast.ClassDef) and (node.name.startswith("Test") or any(
                ast.unparse(base).endswith("TestCase") for base in node.bases)):
            ids += [f"{rel}::{node.name}::{item.name}" for item in node.body
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and item.name.startswith("test")]
    return ids
