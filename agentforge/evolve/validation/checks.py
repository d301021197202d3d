"""Checks of a child agent that the child cannot edit (used by improve.validate_agent).

- `check_contract`: the child's entry point, started by the framework with a clean
  interpreter, must fix a small framework-owned task through the agent contract with the
  framework's scripted model; the produced diff is checked, not anything the agent says.
- `run_own_tests`: the child's own tests under the grader's pytest launcher, ini file and
  guard plugin (isolated interpreter, no PYTHONPATH, no repository configuration), with
  conftest hooks that rewrite outcomes counted as tampering.
- `shrunken_test_suite`: a warning when a child deletes test files or defines fewer tests
  than its parent (read from the source, so nothing the child runs can hide it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agentforge.agent_contract import (
    AGENT_DIR,
    REPO_DIR,
    SCRIPTED_SERVER,
    AgentSpec,
    install_scripted_server,
    prepare_repo,
    repo_patch,
)
from agentforge.bench.runners import GRADING_DIR, RUNNER_PATH, python_test_ids, runner_file
from agentforge.errors import AgentforgeError
from agentforge.sandbox import Sandbox

CONTRACT_MARKER = "AGENTFORGE-CONTRACT-CHECK"
CONTRACT_PROBLEM = (f"# {CONTRACT_MARKER}\n\n`add(a, b)` in `calc.py` subtracts instead of "
                    "adding. Fix it so that add(2, 3) == 5.\n")
CONTRACT_REPO = {"calc.py": "def add(a, b):\n    return a - b\n"}
CONTRACT_FIX = "+    return a + b"
_APPLIED = "CONTRACT-FIX-APPLIED"
_PORT = 8799
_RANKER = "You choose how a coding agent should approach"
_RANKING = ("@@ranking\ndirect-edit\nreproduce-first\ntest-driven\nplan-then-edit\n"
            "meta-prompting\n@@end")
OWN_REPORT = "/task/report/own-tests.json"


def _tool(name: str, **arguments) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def contract_script() -> dict:
    """The scripted model of the contract check: rank, fix with bash, then submit."""
    fix = f"cd {REPO_DIR} && sed -i 's/a - b/a + b/' calc.py && echo {_APPLIED}"
    return {"rules": [
        {"name": "rank", "system_contains": _RANKER, "respond": {"content": _RANKING}},
        {"name": "submit", "last_message_contains": _APPLIED, "tools_offered": "submit",
         "respond": _tool("submit", summary="fixed add")},
        {"name": "done", "last_message_contains": _APPLIED, "respond": {"content": "Done."}},
        {"name": "fix", "any_message_contains": CONTRACT_MARKER, "tools_offered": "bash",
         "respond": _tool("bash", command=fix)},
        {"name": "other", "respond": {"content": "Done."}},
    ]}


def check_contract(box: Sandbox, agent: AgentSpec, timeout: float) -> str | None:
    """None if the agent fixed the framework's task through the contract; else why not.

    `box` must be fresh (nothing of the child has run in it) with the agent installed.
    """
    install_scripted_server(box)
    box.write_files("/task/contract", {"script.json": json.dumps(contract_script())})
    box.write_files(REPO_DIR, CONTRACT_REPO)
    box.start_background(["python3", "-I", SCRIPTED_SERVER, "--script",
                          "/task/contract/script.json", "--port", str(_PORT)])
    box.write_files("/task", {"problem.md": CONTRACT_PROBLEM})
    box.exec(["mkdir", "-p", "/task/out"], timeout=60, workdir="/")
    base = prepare_repo(box, REPO_DIR)
    # A clean interpreter: no PYTHONPATH into the child's tree, no user site; `python -m`
    # finds the entry package from the working directory, as the contract says.
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{_PORT}/v1", "OPENAI_API_KEY": "contract",
           "AGENTFORGE_MODEL": "scripted", "PATH": RUNNER_PATH, "PYTHONPATH": ""}
    done = box.exec(["python", "-s", "-m", agent.entry, "--repo", REPO_DIR, "--problem",
                     "/task/problem.md", "--out", "/task/out"], timeout=timeout,
                    workdir=AGENT_DIR, env=env)
    try:
        patch = repo_patch(box, base, REPO_DIR)
    except AgentforgeError as exc:
        return f"contract check: no diff could be taken ({exc})"
    if CONTRACT_FIX not in patch or "diff --git a/calc.py b/calc.py" not in patch:
        tail = " | ".join(done.output.strip().splitlines()[-3:])[-300:]
        return (f"contract check failed: the agent did not fix the framework's task through "
                f"the contract (exit code {done.exit_code}; {tail or 'no output'})")
    return None


@dataclass
class OwnTests:
    """The child's own tests as the guard plugin saw them."""

    reason: str | None
    """None when they passed; else why not."""
    counts: dict[str, int]


def run_own_tests(box: Sandbox, agent: AgentSpec, pytest_args: list[str] | None,
                  timeout: float) -> OwnTests:
    """The child's tests under the framework's launcher, ini file and strict guard."""
    install_scripted_server(box)
    ini = f"[pytest]\naddopts =\npythonpath = {AGENT_DIR}\n"
    box.write_files(GRADING_DIR, {"pytest.ini": ini, "run_pytest.py": runner_file("run_pytest.py"),
                                  "pytest_guard.py": runner_file("pytest_guard.py")})
    box.exec(["mkdir", "-p", str(Path(OWN_REPORT).parent)], timeout=60, workdir="/")
    command = ["python", "-B", "-P", "-E", "-s", f"{GRADING_DIR}/run_pytest.py",
               "-c", f"{GRADING_DIR}/pytest.ini", f"--rootdir={AGENT_DIR}",
               "-p", "no:cacheprovider", *(pytest_args or [])]
    env = {"PATH": RUNNER_PATH, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": "",
           "AGENTFORGE_TEST_REPORT": OWN_REPORT, "AGENTFORGE_GUARD_STRICT": "1",
           "AGENTFORGE_SCRIPTED_SERVER": SCRIPTED_SERVER}
    done = box.exec(command, timeout=timeout, workdir=AGENT_DIR, env=env)
    if done.timed_out:
        return OwnTests(f"own tests timed out after {timeout:.0f}s", {})
    try:
        report = json.loads(box.read_file(OWN_REPORT) or b"")
    except (AgentforgeError, ValueError):
        return OwnTests(f"own tests: early exit, no test report (exit code {done.exit_code}): "
                        f"{_tail(done.output)}", {})
    counts: dict[str, int] = {}
    for status in report.get("tests", {}).values():
        counts[status] = counts.get(status, 0) + 1
    if report.get("tampered"):
        return OwnTests(f"own tests: runner tampering: {'; '.join(report['tampered'][:2])}",
                        counts)
    if report.get("collection_errors"):
        return OwnTests(f"own tests: collection errors in "
                        f"{', '.join(report['collection_errors'][:3])}", counts)
    if not report.get("tests"):
        return OwnTests("own tests: pytest collected no tests", counts)
    if done.exit_code != 0 or set(counts) - {"passed", "skipped", "xfail"}:
        return OwnTests(f"own tests fail: {_tail(done.output)}", counts)
    return OwnTests(None, counts)


def defined_tests(agent_dir: Path) -> dict[str, list[str]]:
    """Test file -> test ids it defines, read from the source (test_*.py / *_test.py)."""
    found = {}
    for path in sorted(Path(agent_dir).rglob("*.py")):
        rel = path.relative_to(agent_dir).as_posix()
        if path.name.startswith("test_") or path.name.endswith("_test.py"):
            try:
                found[rel] = python_test_ids(rel, path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):
                found[rel] = []
    return found


def shrunken_test_suite(parent_dir: Path, child_dir: Path) -> str | None:
    """A warning when the child deleted test files or defines fewer tests than its parent."""
    parent, child = defined_tests(parent_dir), defined_tests(child_dir)
    deleted = sorted(set(parent) - set(child))
    before, after = sum(map(len, parent.values())), sum(map(len, child.values()))
    parts = []
    if deleted:
        parts.append(f"deleted test files: {', '.join(deleted[:5])}")
    if after < before:
        parts.append(f"defines {after} tests, its parent {before}")
    return "; ".join(parts) or None


def _tail(text: str, limit: int = 400) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-4:])[-limit:]
