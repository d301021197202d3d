"""Plain data the store hands out beyond its tables (JSON-able, no database attached)."""

from __future__ import annotations

from pydantic import BaseModel

from agentforge.store.tables import NodeStatus


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
