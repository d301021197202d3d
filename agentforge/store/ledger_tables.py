"""The model-call ledger's tables, in the run's database next to the archive.

The store owns them (creates and migrates them with its other tables); `llm/ledger.py`
writes and queries them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from agentforge.store.tables import utcnow


class ModelCall(SQLModel, table=True):
    """One request to a model, whoever made it (the gateway or a host-side client)."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, index=True)
    node_id: int | None = Field(default=None, index=True)
    task_id: str | None = Field(default=None, index=True)
    role: str | None = Field(default=None, index=True)  # diagnose | agent
    # the self-improvement step the call belongs to (None: an evaluation, or older runs)
    step_id: str | None = Field(default=None, index=True)
    model: str = ""
    endpoint: str = ""  # the upstream base URL (never a key)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    status: str = "ok"  # ok | error | cached | budget_exceeded
    http_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    cached: bool = False
    streamed: bool = False
    request_hash: str = Field(default="", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class CachedResponse(SQLModel, table=True):
    """A successful upstream answer, replayed verbatim for an identical request."""

    request_hash: str = Field(primary_key=True)
    model: str = ""
    content_type: str = "application/json"
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    created_at: datetime = Field(default_factory=utcnow)
