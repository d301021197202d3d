"""Implement and validate: the parent agent changes its own source; the child must still work.

Implementation follows the agent contract with the agent's own source as the repository and
the proposal as the problem, inside a sandbox that reaches the model only through the
gateway. Validation runs in fresh sandboxes: every module must compile, the entry package
must import, the agent's own tests must pass under the framework's pytest configuration
(with the scripted model they ship with), and the agent must fix a framework-owned task
through the contract (evolve/validation.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agentforge.agent_runner import AGENT_DIR, REPO_DIR, install_agent, load_agent, run_agent
from agentforge.evolve.diagnose import Proposal
from agentforge.evolve.prompts import render
from agentforge.evolve.validation import check_contract, run_own_tests
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.images import require_image
from agentforge.store.repo import AgentRepo

_IMPORTED = "agentforge-import-ok"
# Local clutter a seed folder may hold that is not part of the agent.
_NOT_AGENT = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache",
                                    ".venv", "*.egg-info", ".mypy_cache")


@dataclass
class Implementation:
    """What the parent left after working on its own source."""

    patch: str
    exit_code: int
    timed_out: bool
    stop_reason: str | None
    output: str


def clean_copy(folder: Path, dest: Path) -> Path:
    """Copy an agent folder without caches and virtualenvs (what a seed commit should hold)."""
    shutil.copytree(folder, dest, ignore=_NOT_AGENT)
    return dest


def export_agent(repo: AgentRepo, commit: str, cache_dir: Path) -> Path:
    """The agent at `commit` as a folder under cache_dir (exported once, atomically)."""
    target = cache_dir / commit[:16]
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=cache_dir))
    repo.export(commit, staging / "agent")
    try:
        os.rename(staging / "agent", target)  # a concurrent export of the same commit may win
    except OSError:
        if not target.is_dir():
            raise
    shutil.rmtree(staging, ignore_errors=True)
    return target


def _sandbox_config(labels: dict[str, str], timeout: float) -> SandboxConfig:
    return SandboxConfig(image=require_image("agent-runtime"), timeout=timeout,
                         writable_paths=[REPO_DIR, "/task"], labels=labels)


def implement(parent_dir: Path, proposal: Proposal, grant, *, timeout: float,
              trajectory_dir: Path | None = None, labels: dict[str, str] | None = None
              ) -> Implementation:
    """Run the parent agent on a copy of its own source with the proposal as its problem."""
    agent = load_agent(parent_dir)
    problem = render("implement.md", repo=REPO_DIR, entry=agent.entry, proposal=proposal)
    config = grant.apply(_sandbox_config({"agentforge.role": "improve", **(labels or {})},
                                         timeout))
    with Sandbox(config) as box:
        grant.start_forwarder(box)
        box.copy_in(parent_dir, REPO_DIR)
        run = run_agent(box, agent, problem, repo=REPO_DIR, timeout=timeout,
                        trajectory_dir=trajectory_dir)
    return Implementation(patch=run.patch, exit_code=run.exit_code, timed_out=run.timed_out,
                          stop_reason=run.stop_reason, output=run.output)


def validate_agent(agent_dir: Path, *, pytest_args: list[str] | None = None,
                   timeout: float = 900.0, labels: dict[str, str] | None = None) -> str | None:
    """None if the agent compiles, imports, passes its own tests under the framework's pytest
    configuration, and fixes a framework-owned task through the contract; else why not."""
    try:
        agent = load_agent(agent_dir)
    except Exception as exc:  # a broken agent.toml is the child's defect, not ours
        return f"agent.toml broken: {exc}"
    config = _sandbox_config({"agentforge.role": "validate", **(labels or {})}, timeout)
    clean = ["python", "-B", "-P", "-E", "-s"]  # nothing of the child's tree is imported early
    with Sandbox(config) as box:
        install_agent(box, agent)
        # compileall catches syntax errors in modules the tests never import.
        compiled = box.exec([*clean, "-m", "compileall", "-q", "-x", r"/tests?/", "."],
                            timeout=300, workdir=AGENT_DIR)
        imported = box.exec([*clean, "-c", f"import sys; sys.path.insert(0, {AGENT_DIR!r}); "
                             f"import {agent.entry}; print({_IMPORTED!r})"],
                            timeout=300, workdir=AGENT_DIR)
        tests = run_own_tests(box, agent, pytest_args, timeout)
    if compiled.exit_code != 0:
        return f"syntax error: {_tail(compiled.output)}"
    if imported.exit_code != 0 or _IMPORTED not in imported.stdout:
        return f"does not import: {_tail(imported.output)}"
    if tests.reason:
        return tests.reason
    # The contract check runs in a fresh sandbox: nothing the child's tests left behind
    # (processes, files, a rigged .git) can touch it.
    with Sandbox(config) as box:
        install_agent(box, agent)
        return check_contract(box, agent, timeout=min(timeout, 600.0))


def _tail(text: str, limit: int = 400) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-4:])[-limit:]
