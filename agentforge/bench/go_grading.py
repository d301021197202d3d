"""Go tests under the grader: compiled by the tree's owner, run by the outcome driver.

Per folder of hidden tests that a plain `go test` compiles (go_build.py): the tests'
functions are renamed `agentforge_TestX` in the hidden files and a grader-written file
defines `TestX` to call them through a reporter, plus a `TestMain` that reports the end of
the run. `go test -c` builds each test binary as the owner before anything runs (vet
included, as in `go test`); the driver then runs each binary in a fresh process as the
test user, and only what the reporter sent through the driver's pipe counts: a solution
that prints test2json lines, `--- PASS` lines or a completion marker changes nothing.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath
from string import Template

from agentforge.bench import go_build
from agentforge.bench.outcome_channel import ChildRun, RunOutcome, driver_plan, read_outcomes
from agentforge.bench.runners import (
    GRADING_DIR,
    PASSED,
    REPORT_DIR,
    RUNNER_PATH,
    TEST_UID,
    TestReport,
    TestRun,
    driver_report,
    runner_file,
)
from agentforge.bench.task import Task
from agentforge.errors import AgentforgeError

GO_PACKAGES = "(every package: built and ran to its end)"
"""The one expected result of hidden Go tests that define no test function (Polyglot's
`counter`: a plain `go test` then only builds the package and runs an empty test binary)."""
GUARD_FILE = "zz_agentforge_guard_test.go"
BINARIES = "/task/gotest"
RENAMED = "agentforge_"


class GoRunner:
    """`go test -c` with workspace files, GOFLAGS and the user's go env switched off; each
    test binary run by the outcome driver."""

    def _test_files(self, task: Task) -> dict[str, str]:
        """The hidden test files a plain `go test` compiles (build constraints applied)."""
        root = Path(task.hidden_tests_dir or ".")
        sources = {rel: (root / rel).read_text() for rel in task.hidden_tests
                   if rel.endswith("_test.go")}
        return {rel: text for rel, text in sources.items() if go_build.builds(rel, text)}

    def _packages(self, task: Task) -> dict[str, dict[str, str]]:
        """Folder -> its compiled hidden test files."""
        folders: dict[str, dict[str, str]] = {}
        for rel, text in sorted(self._test_files(task).items()):
            folders.setdefault(str(PurePosixPath(rel).parent), {})[rel] = text
        return folders

    def plan(self, task: Task) -> TestRun:
        """Build every test folder as the owner; run each binary under the driver."""
        env = {"PATH": RUNNER_PATH, "GOFLAGS": "-mod=mod", "GOWORK": "off", "GOENV": "off",
               "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOCACHE": "/tmp/go-cache",
               "GOPATH": "/tmp/go-path", "CGO_ENABLED": "0"}
        repo_files: dict[str, bytes] = {}
        builds, runs = [], []
        for index, (folder, files) in enumerate(sorted(self._packages(task).items())):
            repo_files.update(_guarded(folder, files))
            binary, log = f"{BINARIES}/{index}.test", f"{BINARIES}/{index}.log"
            builds.append(f"go test -c -o {binary} ./{shlex.quote(folder)} > {log} 2>&1")
            runs.append(ChildRun(label=folder, argv=[binary, "-test.v"],
                                 cwd=str(PurePosixPath(task.workdir) / folder), env={},
                                 requires=binary, requires_log=log))
        # A build that fails is the tests' verdict (the driver prints its log), not an error.
        prepare = f"mkdir -p {BINARIES} && " + "".join(f"{{ {b}; }}; " for b in builds) + \
            f"chmod -R a+rX {BINARIES}"
        command, files = driver_plan(runs, GRADING_DIR, f"{REPORT_DIR}/outcomes.json",
                                     TEST_UID)
        return TestRun(command=command, env=env, framework_files=files, repo_files=repo_files,
                       report_file=f"{REPORT_DIR}/outcomes.json", prepare=prepare)

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """The reporter's outcomes as the driver kept them; every package must have built and
        run to its end (GO_PACKAGES: passed when each binary also exited with 0)."""
        outcomes = read_outcomes(report, stdout)
        result = driver_report(outcomes)
        if outcomes is not None:
            result.problems += [f"the tests in {run.label} did not build (compiler output "
                                f"above)" for run in outcomes if not run.built]
            if result.complete:
                every = all(_passed(run) for run in outcomes)
                result.tests[GO_PACKAGES] = PASSED if every else "failed"
        return result

    def expected(self, task: Task) -> list[str]:
        """Every top-level Test function of the hidden test files `go test` compiles; when
        they define none, that the packages built and their test binaries ran to the end."""
        names = sorted({name for text in self._test_files(task).values()
                        for name in go_build.test_functions(text)})
        return names or [GO_PACKAGES]

    def matches(self, expected: str, test_id: str) -> bool:
        """Top-level tests by name (subtests carry their own results)."""
        return test_id == expected


def _passed(run: RunOutcome) -> bool:
    return run.built and run.complete and run.exitstatus == 0


def _guarded(folder: str, files: dict[str, str]) -> dict[str, bytes]:
    """The folder's test files with their tests renamed, and the grader's file calling them."""
    if any(re.search(r"^func TestMain\(", text, re.MULTILINE) for text in files.values()):
        raise AgentforgeError(f"the hidden tests in {folder} define their own TestMain; the "
                              "grader's Go runner needs its own (not supported)")
    packages = {go_build.package_name(text) for text in files.values()}
    named = {rel: go_build.test_functions(text) for rel, text in files.items()}
    testing = {go_build.package_name(files[rel]) for rel, names in named.items() if names}
    if len(testing) > 1:
        raise AgentforgeError(f"the hidden tests in {folder} define tests in the packages "
                              f"{sorted(testing)}; the grader's Go runner needs one")
    package = next(iter(testing or packages)) or "main"
    out, names = {}, []
    for rel, text in files.items():
        for name in named[rel]:
            text = re.sub(rf"^func {name}\(", f"func {RENAMED}{name}(", text, flags=re.MULTILINE)
            names.append(name)
        out[rel] = text.encode()
    wrappers = "".join(f'\nfunc {name}(t *testing.T) {{ agentforgeRun(t, "{name}", '
                       f'{RENAMED}{name}) }}\n' for name in sorted(names))
    guard = Template(runner_file("go_guard.go.tmpl").decode()).substitute(
        package=package, names=", ".join(f'"{name}"' for name in sorted(names)),
        wrappers=wrappers)
    out[str(PurePosixPath(folder) / GUARD_FILE)] = guard.encode()
    return out
