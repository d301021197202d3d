"""Fixtures: the scripted model over real HTTP, a small buggy git repository, and a runner.

The scripted server is agentforge's standalone scripted.py; the framework copies it into the
sandbox and names it in AGENTFORGE_SCRIPTED_SERVER. It is loaded from that file and served on
127.0.0.1 in a thread, so that tests can read the requests it received.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from coding_agent.agent import run_agent
from coding_agent.context import Outcome
from coding_agent.settings import load_settings

BUGGY_CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def _load_scripted() -> ModuleType:
    path = os.environ.get("AGENTFORGE_SCRIPTED_SERVER")
    if not path or not Path(path).is_file():
        raise pytest.UsageError(
            "AGENTFORGE_SCRIPTED_SERVER must name agentforge's scripted.py (the scripted model "
            f"server); got {path!r}. The framework sets it in the sandbox; on a checkout use "
            "AGENTFORGE_SCRIPTED_SERVER=agentforge/llm/scripted.py"
        )
    spec = importlib.util.spec_from_file_location("agentforge_scripted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def scripted() -> ModuleType:
    """The scripted.py module."""
    return _load_scripted()


@pytest.fixture
def serve(scripted):
    """Start a scripted server for a list of rules; stopped after the test."""
    servers = []

    def start(rules: list[dict]):
        server = scripted.ScriptedServer({"rules": rules}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        # Stopping waits for the server's poll interval; do it in the background.
        threading.Thread(target=server.stop, daemon=True).start()


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its output."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, text=True,
                          capture_output=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding calc.py whose add() subtracts, and a test for it."""
    path = tmp_path / "repo"
    path.mkdir()
    (path / "calc.py").write_text(BUGGY_CALC)
    (path / "test_calc.py").write_text(CALC_TEST)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@dataclass
class Run:
    """What one agent run left behind."""

    outcome: Outcome
    trajectory: dict
    requests: list[dict]


@pytest.fixture
def run_with(serve, repo: Path, tmp_path: Path):
    """Run the agent in-process against a scripted server; returns a Run."""

    def run(rules: list[dict], problem: str = "add() subtracts instead of adding",
            **overrides) -> Run:
        server = serve(rules)
        out = tmp_path / "out"
        outcome = run_agent(repo, problem, out, load_settings(overrides=overrides),
                            base_url=server.base_url, api_key="test", model="scripted")
        trajectory = json.loads((out / "trajectory.json").read_text())
        return Run(outcome, trajectory, list(server.requests))

    return run


def tool_call(name: str, **arguments) -> dict:
    """A scripted response that calls one tool."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def system_text(request: dict) -> str:
    """The system prompt of a recorded request."""
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


def all_text(request: dict) -> str:
    """Every message of a recorded request, as one text (tool calls included)."""
    return json.dumps(request["messages"])
