"""`SqlStore`: the `Store` on SQLModel, one SQLite file per run by default or a PostgreSQL URL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from agentforge.store.database import open_engine
from agentforge.store.errors import StoreError
from agentforge.store.read_model import node_rows
from agentforge.store.records import (
    NOT_RUNNABLE,
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
from agentforge.store.tables import (
    AgentNode,
    Evaluation,
    EvaluationArtefacts,
    Event,
    Run,
    utcnow,
)

_RUN_FIELDS = {"run_dir", "status", "stop_reason", "rng_state", "iterations", "origin_json"}
_NEEDS_REASON = NOT_RUNNABLE


class SqlStore:
    """The archive in a SQL database; every method is one short transaction (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, path_or_url: str | Path) -> SqlStore:
        """Open the database at a SQLite path or a SQLAlchemy URL, creating or upgrading it."""
        return cls(open_engine(path_or_url))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # runs -------------------------------------------------------------------------------

    def create_run(self, run_id: str, *, run_dir: str = "",
                   config: dict | None = None) -> RunRecord:
        """Record a new run; its id must be new."""
        with self._session() as session:
            if session.get(Run, run_id) is not None:
                raise StoreError(f"run {run_id!r} already exists: resume it or pick another id")
            run = Run(id=run_id, run_dir=run_dir, config_json=json.dumps(config or {}))
            session.add(run)
            session.commit()
            return _out(run)

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id."""
        with self._session() as session:
            return _out(_require(session.get(Run, run_id), f"run {run_id!r}"))

    def list_runs(self) -> list[RunRecord]:
        """All runs of this database, oldest first."""
        with self._session() as session:
            return [_out(run) for run in session.exec(select(Run).order_by(col(Run.created_at)))]

    def update_run(self, run_id: str, **changes: Any) -> RunRecord:
        """Change run_dir, status, stop_reason, rng_state or iterations of a run."""
        unknown = set(changes) - _RUN_FIELDS
        if unknown:
            raise StoreError(
                f"cannot update run fields {sorted(unknown)}: allowed {sorted(_RUN_FIELDS)}"
            )
        with self._session() as session:
            run = _require(session.get(Run, run_id), f"run {run_id!r}")
            for name, value in changes.items():
                setattr(run, name, value)
            run.updated_at = utcnow()
            session.add(run)
            session.commit()
            return _out(run)

    # nodes ------------------------------------------------------------------------------

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
    ) -> NodeRecord:
        """Add a node (the seed has parent_id None) and return it with its id; a child records
        the operator and step that made it (and crossover's second parent)."""
        _check_reason(status, reason)
        with self._session() as session:
            _require(session.get(Run, run_id), f"run {run_id!r}")
            for role, other_id in (("parent", parent_id), ("second parent", second_parent_id)):
                if other_id is None:
                    continue
                other = _require(session.get(AgentNode, other_id), f"{role} node {other_id}")
                if other.run_id != run_id:
                    raise StoreError(f"{role} node {other_id} belongs to run {other.run_id!r}")
            node = AgentNode(
                run_id=run_id,
                parent_id=parent_id,
                commit=commit,
                status=status,
                reason=reason,
                proposal_json=None if proposal is None else json.dumps(proposal),
                operator=operator,
                second_parent_id=second_parent_id,
                step_id=step_id,
            )
            session.add(node)
            session.commit()
            return _out(node)

    def update_node(
        self,
        node_id: int,
        *,
        status: NodeStatus | None = None,
        reason: str | None = None,
        commit: str | None = None,
    ) -> NodeRecord:
        """Change a node's status (invalid/failed need a reason) and/or its commit."""
        with self._session() as session:
            node = _require(session.get(AgentNode, node_id), f"node {node_id}")
            if status is not None:
                _check_reason(status, reason)
                node.status = status
                node.reason = reason
            elif reason is not None:
                node.reason = reason
            if commit is not None:
                node.commit = commit
            node.updated_at = utcnow()
            session.add(node)
            session.commit()
            return _out(node)

    def set_node_origin(self, node_id: int, *, external_id: str | None = None,
                        origin: dict | None = None) -> NodeRecord:
        """Record a node's foreign id (an import) and/or where a seed came from."""
        with self._session() as session:
            node = _require(session.get(AgentNode, node_id), f"node {node_id}")
            if external_id is not None:
                node.external_id = external_id
            if origin is not None:
                node.origin_json = json.dumps(origin)
            session.add(node)
            session.commit()
            return _out(node)

    def mark_copy(self, node_id: int, original_id: int) -> NodeRecord:
        """Record that the node is the same agent as `original_id` (of its run, not a copy
        itself): it becomes `evaluated`, with no evaluations of its own ever."""
        with self._session() as session:
            node = _require(session.get(AgentNode, node_id), f"node {node_id}")
            original = _require(session.get(AgentNode, original_id), f"node {original_id}")
            if original.run_id != node.run_id or original.copy_of is not None \
                    or original_id == node_id:
                raise StoreError(f"node {node_id} cannot copy node {original_id}: the original "
                                 "must be another node of the same run that is no copy")
            node.copy_of, node.status, node.reason = original_id, NodeStatus.evaluated, None
            node.updated_at = utcnow()
            session.add(node)
            session.commit()
            return _out(node)

    def set_step_seconds(self, node_id: int, seconds: float) -> NodeRecord:
        """Record how long the step that made the node took."""
        with self._session() as session:
            node = _require(session.get(AgentNode, node_id), f"node {node_id}")
            node.step_seconds = seconds
            session.add(node)
            session.commit()
            return _out(node)

    def get_node(self, node_id: int) -> NodeRecord:
        """The node with this id."""
        with self._session() as session:
            return _out(_require(session.get(AgentNode, node_id), f"node {node_id}"))

    def list_nodes(self, run_id: str) -> list[NodeRecord]:
        """The run's nodes in creation order."""
        with self._session() as session:
            query = select(AgentNode).where(AgentNode.run_id == run_id).order_by(col(AgentNode.id))
            return [_out(node) for node in session.exec(query)]

    def node_rows(self, run_id: str, validation_split: str = "validation",
                  held_out_split: str = "held_out") -> list[NodeRow]:
        """Every node with its tallies on both splits and its graders' disagreements: what
        the run's readers show."""
        return node_rows(self.engine, run_id, validation_split, held_out_split)

    def node_summaries(self, run_id: str, split: str = "validation") -> list[NodeSummary]:
        """Every node of the run with its finished successes and failures on `split`."""
        with self._session() as session:
            tallies = session.exec(
                select(Evaluation.node_id, Evaluation.resolved, func.count())
                .where(Evaluation.run_id == run_id, Evaluation.split == split)
                .where(col(Evaluation.finished).is_(True))
                .group_by(Evaluation.node_id, Evaluation.resolved)
            ).all()
            nodes = list(
                session.exec(
                    select(AgentNode).where(AgentNode.run_id == run_id).order_by(col(AgentNode.id))
                )
            )
        counts: dict[int, list[int]] = {}
        for node_id, resolved, n in tallies:
            counts.setdefault(node_id, [0, 0])[0 if resolved else 1] += n
        return [
            NodeSummary(
                id=node.id,
                parent_id=node.parent_id,
                status=node.status,
                reason=node.reason,
                commit=node.commit,
                successes=counts.get(node.id, [0, 0])[0],
                failures=counts.get(node.id, [0, 0])[1],
                copy_of=node.copy_of,
            )
            for node in nodes
        ]

    # evaluations ------------------------------------------------------------------------

    def start_evaluation(
        self, node_id: int, task_id: str, *, split: str = "validation", attempt: int = 0
    ) -> EvaluationRecord:
        """Record that an attempt starts; an unfinished row of an earlier process is reused."""
        with self._session() as session:
            node = _require(session.get(AgentNode, node_id), f"node {node_id}")
            if node.copy_of is not None:
                raise StoreError(f"node {node_id} is a copy of node {node.copy_of}: it reuses "
                                 "that node's evaluations and is never evaluated itself")
            existing = session.exec(
                select(Evaluation).where(
                    Evaluation.node_id == node_id,
                    Evaluation.task_id == task_id,
                    Evaluation.split == split,
                    Evaluation.attempt == attempt,
                )
            ).first()
            if existing is not None and existing.finished:
                raise StoreError(
                    f"node {node_id} already has a finished evaluation of task {task_id!r} "
                    f"({split}, attempt {attempt}): evaluations are never repeated; "
                    "use another attempt"
                )
            evaluation = existing or Evaluation(
                run_id=node.run_id, node_id=node_id, task_id=task_id, split=split, attempt=attempt
            )
            evaluation.started_at = utcnow()
            session.add(evaluation)
            session.commit()
            return _out(evaluation)

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
    ) -> EvaluationRecord:
        """Complete an evaluation exactly once, with its task result, in one transaction."""
        with self._session() as session:
            # The guarded UPDATE is what makes a second finish (say, by a stale worker) fail.
            changed = session.exec(
                update(Evaluation)
                .where(col(Evaluation.id) == evaluation_id, col(Evaluation.finished).is_(False))
                .values(
                    finished=True,
                    resolved=resolved,
                    reason=reason,
                    cost_usd=cost_usd,
                    tokens=tokens,
                    duration_s=duration_s,
                    finished_at=utcnow(),
                )
            )
            if changed.rowcount != 1:
                session.rollback()
                _require(session.get(Evaluation, evaluation_id), f"evaluation {evaluation_id}")
                raise StoreError(
                    f"evaluation {evaluation_id} is already finished; it is kept as is"
                )
            if result is not None:
                session.add(EvaluationArtefacts(evaluation_id=evaluation_id, **result.model_dump()))
            session.commit()
            return _out(session.get(Evaluation, evaluation_id, populate_existing=True))

    def list_evaluations(
        self,
        run_id: str,
        *,
        finished: bool | None = None,
        node_id: int | None = None,
        split: str | None = None,
    ) -> list[EvaluationRecord]:
        """Evaluations of the run, filtered, in start order."""
        query = select(Evaluation).where(Evaluation.run_id == run_id)
        if finished is not None:
            query = query.where(col(Evaluation.finished).is_(finished))
        if node_id is not None:
            query = query.where(Evaluation.node_id == node_id)
        if split is not None:
            query = query.where(Evaluation.split == split)
        with self._session() as session:
            return [_out(row) for row in session.exec(query.order_by(col(Evaluation.id)))]

    def task_result(self, evaluation_id: int) -> ArtefactsRecord | None:
        """The stored artefacts of a finished evaluation, if any were given."""
        with self._session() as session:
            query = select(EvaluationArtefacts).where(
                EvaluationArtefacts.evaluation_id == evaluation_id)
            found = session.exec(query).first()
            return None if found is None else _out(found)

    # events -----------------------------------------------------------------------------

    def add_event(
        self,
        run_id: str,
        kind: str,
        message: str = "",
        *,
        node_id: int | None = None,
        data: dict | None = None,
    ) -> EventRecord:
        """Append one line to the run's log."""
        event = Event(
            run_id=run_id,
            node_id=node_id,
            kind=kind,
            message=message,
            data_json=None if data is None else json.dumps(data),
        )
        with self._session() as session:
            session.add(event)
            session.commit()
            return _out(event)

    def list_events(self, run_id: str, *, limit: int | None = None) -> Sequence[EventRecord]:
        """The run's log, oldest first (the last `limit` lines if given)."""
        query = select(Event).where(Event.run_id == run_id).order_by(col(Event.id).desc())
        if limit is not None:
            query = query.limit(limit)
        with self._session() as session:
            return [_out(event) for event in reversed(session.exec(query).all())]


_RECORDS = {Run: RunRecord, AgentNode: NodeRecord, Evaluation: EvaluationRecord,
            EvaluationArtefacts: ArtefactsRecord, Event: EventRecord}


def _out(row):
    """The row as the plain record the store hands out (never the ORM object)."""
    return _RECORDS[type(row)].model_validate(row)


def _require(value, what: str):
    if value is None:
        raise StoreError(
            f"{what} does not exist in this database: check the id or the run directory"
        )
    return value


def _check_reason(status: NodeStatus, reason: str | None) -> None:
    if status in _NEEDS_REASON and not reason:
        raise StoreError(f"a node marked {status.value!r} needs a reason saying why")
