"""A second grading of a patch that shares no runner code with the first (grading.py, its
runners and patch rules): the differential re-grading of a run's finalists uses it
(evolve/evaluation/regrade.py). A cheat built against one grader must fool this one too.

In a fresh sandbox, plain git commits the task's snapshot and applies the patch; paths the
task does not grade (outside its solution files, or its tests and protected files) are put
back with plain git; the hidden tests are written over the tree. Then the task's own test
command (benchmark data: what a person runs by hand) runs as a user who does not own the
tree, with its toolchain's own report written to a path drawn at random in a folder the
tested code cannot list: pytest's JUnit XML (`--junitxml`, a path pytest's own command line
shows, so only code written against this grading would look there), `go test -json` (written
by the shell, outside the test binary's reach). Other languages are judged by the command's
exit code alone. SWE-bench tasks (their own harness) are not graded here: `resolved` is None.
"""

from __future__ import annotations

import json
import secrets
import shlex
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from agentforge.bench.images import resolve_task_image
from agentforge.bench.task import CheckKind, Task
from agentforge.errors import AgentforgeError
from agentforge.sandbox import ExecResult, Sandbox, SandboxConfig

TESTER = "1003:1003"
"""Who runs the tests here: neither the tree's owner nor the first grader's test user."""
_HOME = "/task/second"
_GIT = (f"git --git-dir={_HOME}/git --work-tree=. -c user.name=plain "
        "-c user.email=plain@localhost -c commit.gpgsign=false -c core.hooksPath=/dev/null")
# The image's toolchains (its Python environment with pytest first), nothing of the tree.
_PATH = "/opt/agentforge/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_MAX_REPORT = 16 * 1024 * 1024


@dataclass(frozen=True)
class PlainVerdict:
    """The second grader's verdict on one patch."""

    resolved: bool | None
    """None: this task has no plain grading (SWE-bench, no snapshot or no test command)."""
    reason: str


def plain_grade(task: Task, patch: str, labels: dict[str, str] | None = None) -> PlainVerdict:
    """Grade `patch` for `task` the plain way (see the module docstring)."""
    if task.check.kind is CheckKind.SWEBENCH or task.repo_dir is None \
            or not task.check.test_command.strip():
        return PlainVerdict(None, f"no plain grading for {task.benchmark} tasks of this kind")
    if not patch.strip():
        return PlainVerdict(False, "empty patch")
    config = SandboxConfig(image=resolve_task_image(task.image), workdir=task.workdir,
                           writable_paths=sorted({task.workdir, "/task"}), memory="3g",
                           pids_limit=1024, timeout=task.check.timeout,
                           labels={"agentforge.role": "regrade",
                                   "agentforge.task": task.instance_id[:60], **(labels or {})})
    with Sandbox(config) as box:
        box.copy_in(Path(task.repo_dir), task.workdir)
        box.write_files(_HOME, {"patch.diff": patch})
        applied = _sh(box, f"{_GIT} init -q && {_GIT} add -A && {_GIT} commit -q -m base "
                      f"&& {_GIT} apply --whitespace=nowarn {_HOME}/patch.diff")
        if not applied.ok:
            return PlainVerdict(False, f"git apply refused the patch: {_tail(applied.output)}")
        _put_back(box, task)
        _write_hidden_tests(box, task)
        report = f"{_HOME}/{secrets.token_hex(16)}/{secrets.token_hex(8)}"
        _sh(box, f"mkdir -p -m 0733 {shlex.quote(str(Path(report).parent))}")
        command, kind = _command(task, report)
        env = {**task.check.env, "PATH": _PATH, "HOME": "/tmp"}
        # Rust, Java, C++ and JavaScript build into the tree: they run as its owner.
        done = box.exec(["/bin/sh", "-c", command], timeout=task.check.timeout, env=env,
                        user=TESTER if kind != "exit code" else None, workdir=task.workdir)
        data = _read(box, report) if kind != "exit code" else None
    return _verdict(task, kind, done, data)


def _sh(box: Sandbox, script: str) -> ExecResult:
    return box.exec(["/bin/sh", "-c", script], timeout=300,
                    env={"HOME": "/tmp", "GIT_CONFIG_NOSYSTEM": "1",
                         "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": _PATH})


def _put_back(box: Sandbox, task: Task) -> None:
    """Paths the task does not grade, as they were in the snapshot (or gone if new)."""
    listed = _sh(box, f"{_GIT} add -A && {_GIT} diff --cached --no-renames --name-only -z HEAD")
    kept, never = set(task.visible_files), [*task.hidden_tests, *task.protected_files]

    def graded(path: str) -> bool:
        return path in kept if kept else not any(fnmatch(path, glob) for glob in never)

    back = sorted(path for path in listed.stdout.split("\0") if path and not graded(path))
    if back:
        quoted = " ".join(shlex.quote(path) for path in back)
        _sh(box, f"for p in {quoted}; do {_GIT} cat-file -e HEAD:\"$p\" 2>/dev/null "
                 f"&& {_GIT} checkout -q HEAD -- \"$p\" || rm -rf -- \"$p\"; done")


def _write_hidden_tests(box: Sandbox, task: Task) -> None:
    root = Path(task.hidden_tests_dir or ".")
    files = {rel: (root / rel).read_bytes() for rel in task.hidden_tests}
    if files:
        box.write_files(task.workdir, files)


def _command(task: Task, report: str) -> tuple[str, str]:
    """The test command with its toolchain's report asked for, and the report's kind."""
    command = task.check.test_command.strip()
    if "pytest" in command.split():
        return f"{command} --junitxml={shlex.quote(report)}", "junit"
    if command.startswith("go test"):
        json_command = command.replace("go test", "go test -json -count=1", 1)
        return (f"GOTOOLCHAIN=local GOPROXY=off {json_command} > {shlex.quote(report)}",
                "go json")
    return command, "exit code"


def _read(box: Sandbox, path: str) -> bytes | None:
    try:
        return box.read_file(path, max_bytes=_MAX_REPORT)
    except AgentforgeError:
        return None


def _verdict(task: Task, kind: str, done: ExecResult, data: bytes | None) -> PlainVerdict:
    if done.timed_out:
        return PlainVerdict(False, f"tests timed out after {task.check.timeout:.0f}s")
    if kind == "exit code":
        return PlainVerdict(done.exit_code == 0, f"test command exit code {done.exit_code}")
    if data is None:
        return PlainVerdict(False, f"no {kind} report (exit code {done.exit_code}): "
                                   f"{_tail(done.output)}")
    tests = _junit(data) if kind == "junit" else _go_events(data)
    if tests is None:
        return PlainVerdict(False, f"the {kind} report cannot be read")
    if task.check.kind is CheckKind.TEST_LISTS:
        names = [*task.check.fail_to_pass, *task.check.pass_to_pass]
        bad = [test for test in names if tests.get(_junit_key(test)) != "passed"]
    else:
        names = sorted(tests)
        bad = ["::".join(test) for test, status in sorted(tests.items()) if status != "passed"]
        if not tests:
            bad = ["(no test ran)"]
        elif done.exit_code != 0:
            bad.append(f"(test command exit code {done.exit_code})")
    if bad:
        return PlainVerdict(False, f"not passing: {', '.join(bad[:5])}")
    return PlainVerdict(True, f"{len(names)} tests passed ({kind})")


def _junit(data: bytes) -> dict[tuple[str, str], str] | None:
    """(classname, name) -> passed / failed / skipped, from pytest's JUnit XML (a skipped
    test does not count as passed: every test of the hidden files must pass)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None
    tests = {}
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        status = "failed" if tags & {"failure", "error"} else \
            "skipped" if "skipped" in tags else "passed"
        key = (case.get("classname", ""), case.get("name", ""))
        tests[key] = "failed" if tests.get(key, status) == "failed" else status
    return tests


def _junit_key(test_id: str) -> tuple[str, str]:
    """A pytest node id (`tests/test_x.py::TestA::test_b[1]`) as JUnit's (classname, name)."""
    path, *parts = test_id.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[:-1]]), parts[-1] if parts else ""


def _go_events(data: bytes) -> dict[tuple[str, str], str] | None:
    """(package, test) -> passed / failed / skipped from `go test -json` (a package's own
    result under the test name "")."""
    tests = {}
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        action = event.get("Action") if isinstance(event, dict) else None
        if action in ("pass", "fail", "skip"):
            key = (str(event.get("Package", "")), str(event.get("Test") or ""))
            tests[key] = {"pass": "passed", "fail": "failed", "skip": "skipped"}[action]
    if not any(test == "" for _, test in tests):
        return None  # no package reached its end
    # A package without tests, and skipped subtests, are not failures of plain `go test`.
    return {key: status for key, status in tests.items()
            if status != "skipped" or (key[1] and "/" not in key[1])}


def _tail(text: str, limit: int = 300) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-limit:]
