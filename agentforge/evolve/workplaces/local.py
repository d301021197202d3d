"""`LocalWorkplace`: a run's sandbox work on this machine's Docker engine and the run's gateway."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from agentforge.bench.plain_grading import PlainVerdict, plain_grade
from agentforge.evolve.evaluation.job import GradedRun, run_evaluation
from agentforge.evolve.operators.implement import Implementation, implement
from agentforge.evolve.validation.agent import validate_agent
from agentforge.evolve.workplaces.work import (
    AgentCode,
    Booking,
    EvaluationWork,
    ImplementWork,
    RegradeWork,
    ValidateWork,
)
from agentforge.llm.gateway import Gateway, Grant
from agentforge.sandbox.reaper import reap


class LocalWorkplace:
    """This machine's Docker engine and the run's own gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def evaluate(self, work: EvaluationWork, agent: AgentCode, out_dir: Path) -> GradedRun:
        """Run and grade the agent on the task (a fresh grant per attempt); its files go
        straight into `out_dir`."""
        return run_evaluation(work.benchmark.open(), work.task, agent.folder, out_dir,
                              timeout=work.timeout,
                              grants=lambda _task: self._granted(work.booking),
                              max_trajectory_mb=work.max_trajectory_mb)

    def implement(self, work: ImplementWork, agent: AgentCode,
                  trajectory_dir: Path) -> Implementation:
        """The parent works on a copy of its own source; its trajectory goes to the folder."""
        with self._granted(work.booking) as grant:
            return implement(agent.folder, work.proposal, grant, timeout=work.timeout,
                             trajectory_dir=trajectory_dir, labels=work.labels)

    def validate(self, work: ValidateWork, agent: AgentCode) -> str | None:
        """None if the agent passes its checks, else why not."""
        return validate_agent(agent.folder, pytest_args=work.pytest_args,
                              timeout=work.timeout, labels=work.labels)

    def regrade(self, work: RegradeWork) -> PlainVerdict:
        """The patch graded a second time, the plain way."""
        return plain_grade(work.task, work.patch, labels=work.labels)

    def remove_leftovers(self) -> None:
        """Containers of a killed earlier process of this (or any) run on this engine."""
        reap()

    def close(self) -> None:
        """Nothing of its own to release (the run closes the gateway)."""

    def _granted(self, booking: Booking) -> AbstractContextManager[Grant]:
        """A grant booked as the work says, revoked and its calls written when it ends."""
        return self.gateway.granted(**booking.grant_args())
