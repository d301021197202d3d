"""Fixtures for the bench tests: the small fixture benchmarks and the scripted-edits agent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
AGENT = HERE / "agents" / "scripted_edits"


@pytest.fixture
def local_bench():
    """The three-task local fixture (Python exercise, Go exercise, SWE-style repo)."""
    from agentforge.bench import get_benchmark

    return get_benchmark("local", source=FIXTURES / "local")


@pytest.fixture
def make_agent(tmp_path):
    """Copy the scripted-edits agent and give it a plan: a list of rules (see its __main__)."""

    def make(rules: list[dict]) -> Path:
        target = tmp_path / f"agent-{len(list(tmp_path.glob('agent-*')))}"
        shutil.copytree(AGENT, target)
        (target / "plan.json").write_text(json.dumps({"rules": rules}))
        return target

    return make

# The fixture tasks carry their own (hidden) tests: they run in sandboxes, never here.
collect_ignore_glob = ["fixtures/*", "agents/*"]
