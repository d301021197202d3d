"""SWE-bench grading defences around swebench's own eval script and report logic.

The instance image carries the repository, so the patch is applied there (by swebench's
patch commands); afterwards the paths that really changed are read back with git under a
hardened configuration and every test file or runner configuration among them is put
back. When the eval script runs pytest, the framework's guard plugin rides along
(PYTEST_PLUGINS) and its per-test report must agree with swebench's verdict.
"""

from __future__ import annotations

import json
import re
import shlex

from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT

from agentforge.bench.patches import REPOSITORY_TEST_GLOBS, RUNNER_CONFIG_GLOBS, PatchRules
from agentforge.bench.runners import PASSED, runner_file
from agentforge.safe_git import safe_git_args
from agentforge.sandbox import Sandbox

SWEBENCH_RULES = PatchRules(never=(*REPOSITORY_TEST_GLOBS, *RUNNER_CONFIG_GLOBS),
                            never_reason="test or runner configuration")
"""What a SWE-bench model patch may change: anything but tests and runner configuration."""
GUARD_DIR = "/task"
"""Where the plugin and its (pre-created, empty) report go: instance containers run as root
without capabilities, so only files the engine puts there are writable."""
GUARD_REPORT = f"{GUARD_DIR}/pytest-report.json"
_PYTEST = re.compile(r"\bpytest\b")


def _git(command: str) -> str:
    return f"git {' '.join(shlex.quote(a) for a in safe_git_args())} {command}"


def worktree_state(box: Sandbox, workdir: str) -> set[str]:
    """Entries of `git status` (untracked and ignored files included), as 'XY path'."""
    done = box.exec(_git("status --porcelain=v1 -z --no-renames --untracked-files=all "
                         "--ignored=traditional"), timeout=300, workdir=workdir)
    return {entry for entry in done.stdout.split("\0") if entry.strip()}


def put_back_rejected(box: Sandbox, workdir: str, before: set[str],
                      rules: PatchRules = SWEBENCH_RULES) -> dict[str, str]:
    """Undo the applied patch's changes that `rules` reject; return path -> why."""
    new_entries = worktree_state(box, workdir) - before
    changed = sorted({entry[3:].rstrip("/") for entry in new_entries})
    ignored = {entry[3:].rstrip("/") for entry in new_entries if entry.startswith("!!")}
    links = set()
    if changed:
        probe = box.exec(["sh", "-c", 'for p in "$@"; do [ -L "$p" ] && echo "$p"; done; true',
                          "_", *changed], timeout=120, workdir=workdir)
        links = set(probe.stdout.splitlines())
    dropped = {}
    for path in changed:
        if path in ignored:
            why = "ignored by the repository's .gitignore"
        else:
            why = rules.rejects(path, "120000" if path in links else "100644")
        if why is not None:
            dropped[path] = why
    for path in dropped:
        quoted = shlex.quote(path)
        box.exec(f"{_git('checkout HEAD -- ' + quoted)} 2>/dev/null || rm -rf -- {quoted}",
                 timeout=120, workdir=workdir)
    return dropped


def guard_files() -> dict[str, bytes]:
    """The guard plugin, for GUARD_DIR."""
    return {"pytest_guard.py": runner_file("pytest_guard.py"), "pytest-report.json": b""}


def runs_pytest(eval_script: str) -> bool:
    """True if the eval script's test command (between swebench's markers) runs pytest."""
    _, _, rest = eval_script.partition(START_TEST_OUTPUT)
    command, _, _ = rest.partition(END_TEST_OUTPUT)
    return bool(_PYTEST.search(command))


def install_guard(box: Sandbox, workdir: str, prelude: str) -> None:
    """Put the guard plugin in /task and in the environment's site-packages, so that it
    loads even when the eval script sets its own PYTHONPATH."""
    box.write_files(GUARD_DIR, guard_files())
    probe = box.exec(f"{prelude}; python -c 'import sysconfig; "
                     "print(sysconfig.get_paths()[\"purelib\"])'", timeout=120, workdir=workdir)
    lines = probe.stdout.strip().splitlines()
    if probe.ok and lines and lines[-1].startswith("/"):
        box.write_files(lines[-1], {"pytest_guard.py": runner_file("pytest_guard.py")})


def guard_env(eval_script: str) -> dict[str, str]:
    """Environment that loads the guard into the eval script's pytest (empty if none runs)."""
    if not runs_pytest(eval_script):
        return {}
    return {"PYTEST_PLUGINS": "pytest_guard", "PYTHONPATH": GUARD_DIR,
            "AGENTFORGE_TEST_REPORT": GUARD_REPORT}


def guard_verdict(raw: bytes | None, expected: list[str]) -> str | None:
    """Why the guard's report contradicts a resolved verdict (None when it agrees)."""
    try:
        data = json.loads(raw or b"")
    except ValueError:
        return ("early exit: the test process ended before the framework's pytest report was "
                "written (printed results do not count)")
    if data.get("tampered"):
        return f"runner tampering: {'; '.join(data['tampered'][:3])}"
    tests = data.get("tests", {})
    failing = [t for t in expected if tests.get(t) != PASSED]
    if failing:
        return f"the framework's pytest report does not pass: {', '.join(failing[:5])}"
    return None
