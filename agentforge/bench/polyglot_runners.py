"""Framework-owned test runs of Polyglot's compiled and JavaScript languages (see runners.py):
Jest with the grader's config and an `expect` guard, libtest JSON, JUnit XML, and the
exercise's CMake build with the grader's `main` linked in."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agentforge.bench.runners import (
    GRADING_DIR,
    PASSED,
    REPORT_DIR,
    RUNNER_PATH,
    TestReport,
    TestRun,
    runner_file,
)
from agentforge.bench.task import Task

JS_MODULES = "/opt/polyglot/js/node_modules"
_JS_TEST = re.compile(r"""\b(?:x?test|x?it)\(\s*(['"`])(.*?)\1""")


class JestRunner:
    """Jest from the image's node_modules with the grader's config, Babel setup and guard."""

    def _specs(self, task: Task) -> list[str]:
        return sorted(rel for rel in task.metadata.get("test_files", task.hidden_tests)
                      if rel.endswith((".spec.js", ".test.js")))

    def plan(self, task: Task) -> TestRun:
        """jest --json with a framework config; nothing of the exercise's configuration."""
        babel = {"presets": [[f"{JS_MODULES}/@babel/preset-env", {"targets": {"node": "current"}}]]}
        config = {
            "rootDir": task.workdir, "testEnvironment": "node",
            "transform": {"\\.[jt]sx?$": [f"{JS_MODULES}/babel-jest",
                                            {"configFile": f"{GRADING_DIR}/babel.config.json"}]},
            "setupFilesAfterEnv": [f"{GRADING_DIR}/jest_guard.js"],
            "modulePaths": [JS_MODULES], "watchman": False, "cacheDirectory": "/tmp/jest",
        }
        report = f"{REPORT_DIR}/jest.json"
        specs = self._specs(task)
        # Exercism skips all tests but the first; like Aider's harness, run them all.
        unskip = ("sed -i 's/\\bxtest(/test(/g; s/\\bxit(/it(/g' " + " ".join(specs)
                  ) if specs else ""
        command = ["node", f"{JS_MODULES}/jest/bin/jest.js", "--ci", "--json",
                   f"--outputFile={report}", f"--config={GRADING_DIR}/jest.config.json",
                   "--runInBand", *specs]
        files = {"jest.config.json": json.dumps(config).encode(),
                 "babel.config.json": json.dumps(babel).encode(),
                 "jest_guard.js": runner_file("jest_guard.js")}
        return TestRun(command=command, env={"PATH": RUNNER_PATH, "NODE_OPTIONS": "",
                                             "NODE_PATH": JS_MODULES},
                       framework_files=files, report_file=report, prepare=unskip)

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """Jest's --json output file: per assertion result, by its title."""
        try:
            data = json.loads(report or b"")
        except ValueError:
            return TestReport(tests={}, complete=False)
        tests, problems = {}, []
        for suite in data.get("testResults", []):
            if suite.get("status") == "failed" and not suite.get("assertionResults"):
                problems.append(f"test file failed to run: {suite.get('name', '?')}")
            for result in suite.get("assertionResults", []):
                status = {"passed": PASSED}.get(result.get("status"), "failed")
                tests[result.get("title", "")] = status
                if any("runner tampering" in m for m in result.get("failureMessages", [])):
                    problems.append("runner tampering: the global expect was replaced")
        return TestReport(tests=tests, complete=True, problems=sorted(set(problems)))

    def expected(self, task: Task) -> list[str]:
        """The titles of every test() / it() of the hidden spec files."""
        root = Path(task.hidden_tests_dir or ".")
        return [match.group(2) for rel in self._specs(task)
                for match in _JS_TEST.finditer((root / rel).read_text())]

    def matches(self, expected: str, test_id: str) -> bool:
        """By title."""
        return test_id == expected


_RUST_TEST = re.compile(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn\s+(\w+)")


class CargoRunner:
    """`cargo test` with libtest's JSON events (RUSTC_BOOTSTRAP lets Debian's stable
    toolchain emit them); every test binary must report its suite's end."""

    def plan(self, task: Task) -> TestRun:
        """cargo test --offline, ignored tests included, JSON per test."""
        env = {"PATH": RUNNER_PATH, "RUSTC_BOOTSTRAP": "1", "CARGO_NET_OFFLINE": "true",
               "CARGO_HOME": "/tmp/cargo", "CARGO_TARGET_DIR": "/tmp/cargo-target",
               "RUSTFLAGS": "", "CARGO_BUILD_RUSTFLAGS": "", "RUST_TEST_THREADS": "1"}
        return TestRun(command=["cargo", "test", "--offline", "-q", "--", "--include-ignored",
                                "-Z", "unstable-options", "--format", "json"], env=env,
                       prepare="CARGO_HOME=/tmp/cargo-prepare cargo generate-lockfile --offline")

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """Test and suite events; complete when every started suite finished."""
        tests: dict[str, str] = {}
        started = finished = 0
        for line in stdout.splitlines():
            try:
                event = json.loads(line) if line.startswith("{") else None
            except ValueError:
                event = None
            if not isinstance(event, dict):
                continue
            kind, what = event.get("type"), event.get("event")
            if kind == "suite" and what == "started":
                started += 1
            elif kind == "suite" and what in ("ok", "failed"):
                finished += 1
            elif kind == "test" and what in ("ok", "failed", "ignored", "timeout"):
                tests[event.get("name", "")] = PASSED if what == "ok" else "failed"
        return TestReport(tests=tests, complete=started > 0 and finished == started)

    def expected(self, task: Task) -> list[str]:
        """Every #[test] function of the hidden test files."""
        root = Path(task.hidden_tests_dir or ".")
        files = task.metadata.get("test_files", [])
        return sorted({name for rel in files if rel.endswith(".rs")
                       for name in _RUST_TEST.findall((root / rel).read_text())})

    def matches(self, expected: str, test_id: str) -> bool:
        """By function name, with or without its module path."""
        return test_id == expected or test_id.endswith("::" + expected)


_JAVA_TEST = re.compile(r"@Test\b(?:\s*@\w+(?:\([^)]*\))?)*\s*(?:public\s+)?void\s+(\w+)\s*\(")
JUNIT_REPORTS = f"{REPORT_DIR}/junit"


class JUnitRunner:
    """javac against Debian's JUnit 5 and AssertJ, then the console launcher with its XML
    reports (written when the run ends)."""

    def plan(self, task: Task) -> TestRun:
        """Compile everything under src/, run every test class, keep the XML report."""
        classpath = "/usr/share/java/assertj-core.jar:/opt/polyglot/junit-console.jar"
        unskip = "sed -i 's/@Disabled([^)]*)//; s/@Disabled//' " + " ".join(
            rel for rel in task.metadata.get("test_files", []) if rel.endswith(".java"))
        script = (
            f"rm -rf /tmp/classes {JUNIT_REPORTS} && javac -nowarn -d /tmp/classes -cp "
            f"{classpath} $(find src -name '*.java') && exec java -jar "
            "/opt/polyglot/junit-console.jar --class-path /tmp/classes:"
            "/usr/share/java/assertj-core.jar --scan-class-path --disable-banner "
            f"--fail-if-no-tests --details=summary --reports-dir={JUNIT_REPORTS}")
        return TestRun(command=["/bin/sh", "-c", script],
                       env={"PATH": RUNNER_PATH, "JAVA_TOOL_OPTIONS": "", "CLASSPATH": ""},
                       report_file=f"{JUNIT_REPORTS}/TEST-junit-jupiter.xml", prepare=unskip)

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """The legacy JUnit XML: one testcase per test, failure/error/skipped children."""
        import xml.etree.ElementTree as ElementTree

        try:
            root = ElementTree.fromstring(report or b"")
        except ElementTree.ParseError:
            return TestReport(tests={}, complete=False)
        tests = {}
        for case in root.iter("testcase"):
            bad = any(child.tag in ("failure", "error", "skipped") for child in case)
            tests[case.get("name", "").removesuffix("()")] = "failed" if bad else PASSED
        return TestReport(tests=tests, complete=True)

    def expected(self, task: Task) -> list[str]:
        """Every @Test method of the hidden test classes."""
        root = Path(task.hidden_tests_dir or ".")
        files = task.metadata.get("test_files", [])
        return sorted({name for rel in files if rel.endswith(".java")
                       for name in _JAVA_TEST.findall((root / rel).read_text())})

    def matches(self, expected: str, test_id: str) -> bool:
        """By method name."""
        return test_id == expected


CPP_FINISHED = "agentforge-cpp-tests-finished"


class CMakeRunner:
    """The exercise's CMake build (which runs the tests) with the grader's main linked in:
    the program counts only if its own main returned, and returned 0."""

    def plan(self, task: Task) -> TestRun:
        """Compile the grader's main, then configure and build with main renamed."""
        script = (f"g++ -std=c++17 -c {GRADING_DIR}/cpp_main.cpp -o /tmp/agentforge_main.o && "
                  "CXXFLAGS=-Dmain=agentforge_tested_main LDFLAGS=/tmp/agentforge_main.o "
                  "cmake -S . -B /tmp/build -DEXERCISM_RUN_ALL_TESTS=1 -G 'Unix Makefiles' "
                  ">/dev/null && make -C /tmp/build")
        return TestRun(command=["/bin/sh", "-c", script], env={"PATH": RUNNER_PATH},
                       framework_files={"cpp_main.cpp": runner_file("cpp_main.cpp")})

    def read(self, report: bytes | None, stdout: str) -> TestReport:
        """The completion line of the grader's main, with the tests' exit code."""
        codes = [line.split()[-1] for line in stdout.splitlines()
                 if line.startswith(CPP_FINISHED + " ")]
        if not codes:
            return TestReport(tests={}, complete=False)
        return TestReport(tests={"main": PASSED if codes[-1] == "0" else "failed"},
                          complete=True)

    def expected(self, task: Task) -> list[str]:
        """The whole test program (Catch2's per-test report cannot be asked for here)."""
        return ["main"]

    def matches(self, expected: str, test_id: str) -> bool:
        """By name."""
        return test_id == expected
