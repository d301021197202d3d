"""The `Store` seam: what the evolution loop, the CLI and the web page need from the archive,
handed out as records (records.py): plain immutable data, never the tables' ORM rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from agentforge.store.records import (
    ArtefactsRecord,
    EvaluationRecord,
    EventRecord,
    NodeRecord,
    NodeRow,
    NodeStatus,
    NodeSummary,
    RunRecord,
    TaskResultData,
)


class Store(Protocol):
    """Runs, nodes, evaluations and events of the archive."""

    def create_run(self, run_id: str, *, run_dir: str = "",
                   config: dict | None = None) -> RunRecord: ...
    def get_run(self, run_id: str) -> RunRecord: ...
    def update_run(self, run_id: str, **changes: Any) -> RunRecord: ...

    def add_node(
        self,
        run_id: str,
        *,
        parent_id: int | None,
        commit: str | None = None,
        status: NodeStatus = NodeStatus.pending,
        reason: str | None = None,
        proposal: dict | None = None,
        operator: str | None = None,
        second_parent_id: int | None = None,
        step_id: str | None = None,
    ) -> NodeRecord: ...
    def update_node(
        self,
        node_id: int,
        *,
        status: NodeStatus | None = None,
        reason: str | None = None,
        commit: str | None = None,
    ) -> NodeRecord: ...
    def mark_copy(self, node_id: int, original_id: int) -> NodeRecord: ...
    def set_step_seconds(self, node_id: int, seconds: float) -> NodeRecord: ...
    def get_node(self, node_id: int) -> NodeRecord: ...
    def list_nodes(self, run_id: str) -> list[NodeRecord]: ...
    def node_summaries(self, run_id: str, split: str = "validation") -> list[NodeSummary]: ...
    def node_rows(self, run_id: str, validation_split: str = "validation",
                  held_out_split: str = "held_out") -> list[NodeRow]: ...

    def start_evaluation(
        self, node_id: int, task_id: str, *, split: str = "validation", attempt: int = 0
    ) -> EvaluationRecord: ...
    def finish_evaluation(
        self,
        evaluation_id: int,
        *,
        resolved: bool,
        reason: str | None = None,
        cost_usd: float = 0.0,
        tokens: int = 0,
        duration_s: float = 0.0,
        result: TaskResultData | None = None,
    ) -> EvaluationRecord: ...
    def list_evaluations(
        self,
        run_id: str,
        *,
        finished: bool | None = None,
        node_id: int | None = None,
        split: str | None = None,
    ) -> list[EvaluationRecord]: ...
    def task_result(self, evaluation_id: int) -> ArtefactsRecord | None: ...

    def add_event(
        self,
        run_id: str,
        kind: str,
        message: str = "",
        *,
        node_id: int | None = None,
        data: dict | None = None,
    ) -> EventRecord: ...
    def list_events(self, run_id: str, *, limit: int | None = None) -> Sequence[EventRecord]: ...
