"""SQLModel tables of the archive: runs, agent nodes, evaluations, task results, events.

One evaluation row is one attempt of one node on one task. It is written when the attempt
starts (finished=False) and completed once (finished=True); the unique key
(node_id, task_id, split, attempt) makes a repeated finished evaluation impossible, and a
row left unfinished by a crash is what a resume re-queues.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from agentforge.store.records import NodeStatus


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Run(SQLModel, table=True):
    """One evolution run."""

    id: str = Field(primary_key=True)
    run_dir: str = ""
    config_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    status: str = "running"  # running | finished | stopped
    stop_reason: str | None = None
    # random.Random state of the run's selection RNG, JSON (see selection.rng_state_to_json)
    rng_state: str | None = Field(default=None, sa_column=Column(Text))
    iterations: int = 0  # self-improvement attempts started so far (for the budget on resume)
    # where an imported run came from (JSON: system, source, contract); None: grown here.
    # An imported run is read-only for evolution.
    origin_json: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AgentNode(SQLModel, table=True):
    """One agent in the archive: a commit of the run's agent repository."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="run.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="agentnode.id", index=True)
    commit: str | None = None  # sha in the run's agent repository
    status: NodeStatus = NodeStatus.pending
    reason: str | None = Field(default=None, sa_column=Column(Text))
    # the diagnosis that produced this node (JSON), empty for the seed
    proposal_json: str | None = Field(default=None, sa_column=Column(Text))
    # the node's id in the system it was imported from (a DGM/HGM run id), if any
    external_id: str | None = None
    # where a seed came from (JSON: run dir, run id, node id, commit, or a folder)
    origin_json: str | None = Field(default=None, sa_column=Column(Text))
    # how the node was made: self_edit | prompt_mutation | crossover (None: seed or older run)
    operator: str | None = None
    # crossover's second parent (parent_id is the first, whose code the child starts from);
    # checked by the store, no foreign key (SQLite could not drop or alter it later)
    second_parent_id: int | None = None
    # the step that made the node (evolve/step.py): every model call of that step carries the
    # same id in the ledger (None: seed, import, or older run)
    step_id: str | None = Field(default=None, index=True)
    # wall-clock seconds of that step, from its plan to the validated child
    step_seconds: float | None = None
    # the node whose agent this one is (the same tree): a copy is `evaluated` with no
    # evaluations of its own, reuses its original's, and is never a parent (None: no copy)
    copy_of: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Evaluation(SQLModel, table=True):
    """One attempt of one node on one task."""

    __table_args__ = (
        UniqueConstraint("node_id", "task_id", "split", "attempt", name="uq_evaluation_attempt"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="run.id", index=True)
    node_id: int = Field(foreign_key="agentnode.id", index=True)
    task_id: str
    split: str = "validation"  # validation | heldout
    attempt: int = 0
    finished: bool = Field(default=False, index=True)
    resolved: bool | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text))
    cost_usd: float = 0.0
    tokens: int = 0
    duration_s: float = 0.0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class EvaluationArtefacts(SQLModel, table=True):
    """What one finished evaluation produced: patch, test output, where its trajectory is."""

    __tablename__ = "taskresult"  # the name every released schema has

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluation.id", unique=True)
    patch: str = Field(default="", sa_column=Column(Text, nullable=False))
    test_output: str = Field(default="", sa_column=Column(Text, nullable=False))
    trajectory_path: str | None = None
    report_json: str | None = Field(default=None, sa_column=Column(Text))


class Event(SQLModel, table=True):
    """A line of the run's log that the CLI and the web page show."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="run.id", index=True)
    node_id: int | None = Field(default=None, foreign_key="agentnode.id")
    kind: str
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    data_json: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class SchemaVersion(SQLModel, table=True):
    """The single row holding the schema version of this database."""

    id: int = Field(default=1, primary_key=True)
    version: int
