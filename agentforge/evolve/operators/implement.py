"""Implement: the parent agent changes its own source in a sandbox.

Implementation follows the agent contract with the agent's own source as the repository and
the proposal as the problem, inside a sandbox that reaches the model only through the
gateway. The child is then validated (validation/agent.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentforge.agent_contract import (
    REPO_DIR,
    load_agent_spec,
    run_agent,
    runtime_sandbox_config,
)
from agentforge.evolve.operators.diagnose import Proposal
from agentforge.evolve.operators.templates import render
from agentforge.sandbox import Sandbox


@dataclass
class Implementation:
    """What the parent left after working on its own source."""

    patch: str
    exit_code: int
    timed_out: bool
    stop_reason: str | None
    output: str


def implement(parent_dir: Path, proposal: Proposal, grant, *, timeout: float,
              trajectory_dir: Path | None = None, labels: dict[str, str] | None = None
              ) -> Implementation:
    """Run the parent agent on a copy of its own source with the proposal as its problem."""
    agent = load_agent_spec(parent_dir)
    problem = render("implement.md", repo=REPO_DIR, entry=agent.entry, proposal=proposal)
    config = grant.apply(runtime_sandbox_config({"agentforge.role": "improve", **(labels or {})},
                                         timeout))
    with Sandbox(config) as box:
        grant.start_forwarder(box)
        box.copy_in(parent_dir, REPO_DIR)
        run = run_agent(box, agent, problem, repo=REPO_DIR, timeout=timeout,
                        trajectory_dir=trajectory_dir)
    return Implementation(patch=run.patch, exit_code=run.exit_code, timed_out=run.timed_out,
                          stop_reason=run.stop_reason, output=run.output)
