"""Framework-owned test runs that end in a structured per-test report.

A `Runner` turns a task into a command that ignores the repository's runner configuration
(pytest with the grader's own ini file and guard plugin, an isolated interpreter and no
working directory on sys.path; `go test -json` with repo-local Go settings switched off),
reads the per-test report it leaves, and names the tests the hidden tests define, so the
grader can demand that every one of them ran and passed. Printed lines never count.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from agentforge.bench import go_build
from agentforge.bench.task import CheckKind, Task

TEST_USER = "1001:1001"
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
        """The pytest command: isolated interpreter, framework ini, guard plugin, JSON report."""
        ini = (f"[pytest]\naddopts =\npythonpath = {task.workdir}\nxfail_strict = true\n"
               "python_files = test_*.py *_test.py\n")
        report = f"{REPORT_DIR}/pytest.json"
        command = ["python", "-B", "-P", "-E", "-s", f"{GRADING_DIR}/run_pytest.py",
                   "-c", f"{GRADING_DIR}/pytest.ini", f"--rootdir={task.workdir}",
                   "-p", "no:cacheprovider", "-q", "-rA", *self.options,
                   *self.targets(task)]
        env = {"PATH": RUNNER_PATH, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": "",
               "PYTEST_PLUGINS": "", "AGENTFORGE_TEST_REPORT": report}
        files = {"pytest.ini": ini.encode(), "run_pytest.py": runner_file("run_pytest.py"),
                 "pytest_guard.py": runner_file("pytest_guard.py")}
        return TestRun(command=command, env=env, framework_files=files, report_file=report)

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """The guard plugin's JSON report (absent when the process ended early)."""
        try:
            data = json.loads(report or b"")
        except ValueError:
            return TestReport(tests={}, complete=False)
        problems = [f"runner tampering: {t}" for t in data.get("tampered", [])]
        problems += [f"collection error in {where}" for where in data.get("collection_errors", [])]
        return TestReport(tests={k: str(v) for k, v in data.get("tests", {}).items()},
                          complete=bool(data.get("complete")), problems=problems)

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


GO_FINISHED = "agentforge-go-tests-finished"
GO_PACKAGES = "(every package: built and ran to its end)"
"""The one expected result of hidden Go tests that define no test function (Polyglot's
`counter`: a plain `go test` then only builds the package and runs an empty test binary)."""
_GO_GUARD = """package {package}

// Written by the grader: the run counts only if the tests ran to their end.

import (
\t"fmt"
\t"os"
\t"testing"
)

func TestMain(m *testing.M) {{
\tcode := m.Run()
\tfmt.Printf("\\n{marker} %d\\n", code)
\tos.Exit(code)
}}
"""


class GoRunner:
    """`go test -json` with workspace files, GOFLAGS and the user's go env switched off."""

    def _test_files(self, task: Task) -> dict[str, str]:
        """The hidden test files a plain `go test` compiles (build constraints applied)."""
        root = Path(task.hidden_tests_dir or ".")
        sources = {rel: (root / rel).read_text() for rel in task.hidden_tests
                   if rel.endswith("_test.go")}
        return {rel: text for rel, text in sources.items() if go_build.builds(rel, text)}

    def plan(self, task: Task) -> TestRun:
        """The go test command, plus a TestMain that reports that the tests finished."""
        env = {"PATH": RUNNER_PATH, "GOFLAGS": "-mod=mod", "GOWORK": "off", "GOENV": "off",
               "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOCACHE": "/tmp/go-cache",
               "GOPATH": "/tmp/go-path", "CGO_ENABLED": "0"}
        sources = self._test_files(task)
        repo_files = {}
        if sources and not any("func TestMain(" in text for text in sources.values()):
            rel, text = sorted(sources.items())[0]
            guard = _GO_GUARD.format(package=go_build.package_name(text) or "main",
                                     marker=GO_FINISHED)
            repo_files[str(PurePosixPath(rel).parent / "zz_agentforge_guard_test.go")] = \
                guard.encode()
        return TestRun(command=["go", "test", "-json", "-count=1", "./..."], env=env,
                       repo_files=repo_files)

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """test2json events: per-test pass/fail/skip; complete when the guard printed."""
        tests: dict[str, str] = {}
        finished = False
        packages: dict[str, str] = {}
        for line in stdout.splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            action, test = event.get("Action"), event.get("Test")
            if action in ("pass", "fail", "skip") and test:
                tests[test] = {"pass": PASSED, "fail": "failed", "skip": "skipped"}[action]
            elif action in ("pass", "fail") and not test:
                packages[str(event.get("Package"))] = action
            elif action == "output" and not test and \
                    (event.get("Output") or "").startswith(f"{GO_FINISHED} "):
                finished = True
        complete = finished and bool(packages)
        if complete:
            every = all(action == "pass" for action in packages.values())
            tests[GO_PACKAGES] = PASSED if every else "failed"
        return TestReport(tests=tests, complete=complete)

    def expected(self, task: Task) -> list[str]:
        """Every top-level Test function of the hidden test files `go test` compiles; when
        they define none, that the packages built and their test binaries ran to the end."""
        names = sorted({name for text in self._test_files(task).values()
                        for name in go_build.test_functions(text)})
        return names or [GO_PACKAGES]

    def matches(self, expected: str, test_id: str) -> bool:
        """Top-level tests by name (subtests carry their own results)."""
        return test_id == expected
