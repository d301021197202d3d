"""What every part of a run shares: settings, the model, the trajectory, the repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coding_agent.model import Model
from coding_agent.settings import Settings
from coding_agent.tools import Toolbox
from coding_agent.trajectory import Trajectory


@dataclass
class Context:
    """The shared pieces of one run."""

    settings: Settings
    model: Model
    trajectory: Trajectory
    repo: Path

    def toolbox(self) -> Toolbox:
        """Fresh tools bound to the repository."""
        return Toolbox(self.repo, self.settings.limits, self.settings.tools)


@dataclass
class Outcome:
    """How a loop, a conductor or a whole run ended."""

    stop_reason: str
    """submitted, final_answer, step_limit, cost_limit, token_limit, malformed_replies, ..."""
    summary: str | None = None
    """The submitted summary or final answer, if any."""
