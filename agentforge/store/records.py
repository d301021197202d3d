"""Plain data the store hands out (JSON-able, no database attached), and the node statuses
with their two sets: readers (selectors, status, the web view) import these, never the
tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class NodeStatus(StrEnum):
    """Life cycle of an agent node."""

    pending = "pending"  # created, not yet validated
    evaluating = "evaluating"  # valid, evaluations in progress
    evaluated = "evaluated"  # all planned evaluations finished
    invalid = "invalid"  # the change broke the agent (reason says how); never a parent
    failed = "failed"  # the step itself failed (reason says how); never a parent


GRADING_DISAGREEMENT = "grading_disagreement"
"""Kind of the event, on a node, saying that a held-out evaluation of this finalist was
graded differently by the grader and by the second, independent grading
(evolve/evaluation/regrade.py): such a node is never the run's best."""

NOT_RUNNABLE = frozenset({NodeStatus.invalid, NodeStatus.failed})
"""Statuses of nodes that never become parents, are never evaluated, and carry a reason."""
VALIDATED = frozenset({NodeStatus.evaluating, NodeStatus.evaluated})
"""Statuses of nodes that passed validation: valid agents, with a commit (a plain status
string matches too: NodeStatus is a StrEnum)."""


class NodeSummary(BaseModel):
    """One node with its validation tallies: what parent selection and `status --json` read."""

    id: int
    parent_id: int | None
    status: NodeStatus
    reason: str | None = None
    commit: str | None = None
    successes: int = 0
    """Finished evaluations that resolved their task."""
    failures: int = 0
    """Finished evaluations that did not."""
    copy_of: int | None = None
    """The node whose agent this one is: a copy has no evaluations of its own."""

    @property
    def evaluated_tasks(self) -> int:
        """How many evaluations of this node have finished."""
        return self.successes + self.failures

    @property
    def score(self) -> float | None:
        """Share of finished evaluations resolved, None before the first one."""
        n = self.evaluated_tasks
        return self.successes / n if n else None


class TaskResultData(BaseModel):
    """The artefacts of one finished evaluation, stored next to it."""

    patch: str = ""
    test_output: str = ""
    trajectory_path: str | None = None
    report_json: str | None = None


class NodeRow(BaseModel):
    """One node as the readers of a run see it (status, the web view, lineage, finalize):
    the node with its proposal's one line and its validation and held-out tallies, read for
    the whole archive in two queries (store/read_model.py)."""

    id: int
    parent_id: int | None
    status: NodeStatus
    reason: str | None = None
    commit: str | None = None
    summary: str | None = None
    """The proposal's one line (None for the seed, or a proposal without one)."""
    operator: str | None = None
    second_parent_id: int | None = None
    step_id: str | None = None
    copy_of: int | None = None
    """The node whose agent this one is; its tallies are that node's (it reuses them)."""
    external_id: str | None = None
    origin_json: str | None = None
    created_at: datetime
    successes: int = 0
    failures: int = 0
    held_out_successes: int = 0
    held_out_failures: int = 0
    grading_disagreements: list[str] = []
    """What its two graders disagreed on, one line per held-out evaluation (a finalist's);
    a node with any is never the best."""

    @property
    def evaluated_tasks(self) -> int:
        """Finished validation evaluations."""
        return self.successes + self.failures

    @property
    def score(self) -> float | None:
        """Share of finished validation evaluations resolved, None before the first one."""
        return self.successes / self.evaluated_tasks if self.evaluated_tasks else None

    @property
    def held_out_tasks(self) -> int:
        """Finished held-out evaluations."""
        return self.held_out_successes + self.held_out_failures

    @property
    def held_out_score(self) -> float | None:
        """Share of finished held-out evaluations resolved, None before the first one."""
        return self.held_out_successes / self.held_out_tasks if self.held_out_tasks else None


def disputed(rows: list[NodeRow]) -> set[int]:
    """Ids of the nodes whose graders disagreed: never the best."""
    return {row.id for row in rows if row.grading_disagreements}


class _Record(BaseModel):
    """A row as plain data: read from the table's row once, immutable, no session behind it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)


class RunRecord(_Record):
    """One evolution run (table `run`)."""

    id: str
    run_dir: str
    config_json: str
    status: str
    stop_reason: str | None
    rng_state: str | None
    iterations: int
    origin_json: str | None
    created_at: datetime
    updated_at: datetime


class NodeRecord(_Record):
    """One agent of the archive (table `agentnode`; the columns are explained there)."""

    id: int
    run_id: str
    parent_id: int | None
    commit: str | None
    status: NodeStatus
    reason: str | None
    proposal_json: str | None
    external_id: str | None
    origin_json: str | None
    operator: str | None
    second_parent_id: int | None
    step_id: str | None
    step_seconds: float | None
    copy_of: int | None
    created_at: datetime
    updated_at: datetime


class EvaluationRecord(_Record):
    """One attempt of one node on one task (table `evaluation`)."""

    id: int
    run_id: str
    node_id: int
    task_id: str
    split: str
    attempt: int
    finished: bool
    resolved: bool | None
    reason: str | None
    cost_usd: float
    tokens: int
    duration_s: float
    started_at: datetime
    finished_at: datetime | None


class ArtefactsRecord(_Record):
    """What one finished evaluation produced (table `taskresult`)."""

    id: int
    evaluation_id: int
    patch: str
    test_output: str
    trajectory_path: str | None
    report_json: str | None


class EventRecord(_Record):
    """A line of the run's log (table `event`)."""

    id: int
    run_id: str
    node_id: int | None
    kind: str
    message: str
    data_json: str | None
    created_at: datetime
