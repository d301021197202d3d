"""The `Workplace` seam: where a run's sandbox work happens.

The loop (on the driver) keeps selection, planning, commits and the archive; everything that
starts a sandbox goes through a Workplace: an evaluation, the parent's implementation of a
proposal, a child's validation, the second grading of a finalist's held-out patch.
`LocalWorkplace` runs it on this machine's Docker engine with the run's gateway;
`RayWorkplace` (workplaces/ray_driver.py) sends it as a Ray task to a cluster node, which
runs it on its own engine and gateway and sends back files as a tar.

Either way the result lands in the run directory on the driver (`out_dir`,
`trajectory_dir`), and only the driver writes the archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from agentforge.bench.plain_grading import PlainVerdict
from agentforge.evolve.evaluation.job import GradedRun
from agentforge.evolve.operators.implement import Implementation
from agentforge.evolve.workplaces.work import (
    AgentCode,
    EvaluationWork,
    ImplementWork,
    RegradeWork,
    ValidateWork,
)


class Workplace(Protocol):
    """Runs sandbox work somewhere and returns its outcome, its files in the run directory."""

    def evaluate(self, work: EvaluationWork, agent: AgentCode, out_dir: Path) -> GradedRun: ...

    def implement(self, work: ImplementWork, agent: AgentCode,
                  trajectory_dir: Path) -> Implementation: ...

    def validate(self, work: ValidateWork, agent: AgentCode) -> str | None: ...

    def regrade(self, work: RegradeWork) -> PlainVerdict: ...

    def remove_leftovers(self) -> None:
        """Remove sandboxes that a killed earlier process left behind."""
        ...

    def close(self) -> None: ...
