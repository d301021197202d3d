"""The ledger: every model call (tokens, cost, latency, who made it) in SQL, plus the cache.

Its tables, `ModelCall` and `CachedResponse`, are the store's (store/ledger_tables.py): they
live in the run's database next to runs and nodes, and the store's `open_engine` creates
and migrates them. The ledger only writes and queries them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from agentforge.llm.config import Price
from agentforge.store.database import open_engine
from agentforge.store.ledger_tables import CachedResponse, ModelCall
from agentforge.store.tables import utcnow

PRICES: dict[str, Price] = {
    # $ per 1M tokens (input, output); a model's dated variants match by prefix.
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "o3-mini": Price(input=1.10, output=4.40),
    "o4-mini": Price(input=1.10, output=4.40),
    "o3": Price(input=2.00, output=8.00),
}
"""Built-in prices; `[llm.prices]` in the config overrides or extends them. Unknown models
(local vLLM, scripted) cost nothing."""


@dataclass
class CallRecord:
    """A ModelCall in the making: a plain object, cheap on the gateway's hot path."""

    run_id: str | None = None
    node_id: int | None = None
    task_id: str | None = None
    role: str | None = None
    step_id: str | None = None
    model: str = ""
    endpoint: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    status: str = "ok"
    http_status: int | None = None
    error: str | None = None
    cached: bool = False
    streamed: bool = False
    request_hash: str = ""
    created_at: datetime = field(default_factory=utcnow)


@dataclass
class CacheEntry:
    """A CachedResponse in the making (see CallRecord)."""

    request_hash: str
    model: str
    content_type: str
    body: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class CallContext:
    """Who a call is for: the run, node, task and role it is booked to, and the
    self-improvement step it belongs to (evolve/step.py; None for an evaluation)."""

    run_id: str | None = None
    node_id: int | None = None
    task_id: str | None = None
    role: str | None = None
    step_id: str | None = None

    def fields(self) -> dict:
        """The ModelCall fields this context fills."""
        return {"run_id": self.run_id, "node_id": self.node_id, "task_id": self.task_id,
                "role": self.role, "step_id": self.step_id}


@dataclass
class Spend:
    """Totals of a set of calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def _reached(run_id: str) -> list:
    """The calls of a run that reached the model: not cache hits, not budget refusals."""
    return [ModelCall.run_id == run_id, ModelCall.cached == False,  # noqa: E712 - SQL
            ModelCall.status != "budget_exceeded"]


def request_hash(body: dict) -> str:
    """Cache key of a chat request: sha256 of its canonical JSON (model, messages, tools, …)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # A lone surrogate (a "\\ud800" escape) is valid JSON but not UTF-8: keep it as it is.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class Ledger:
    """Records model calls and answers spend questions; also holds the response cache."""

    def __init__(self, database: Engine | str | Path,
                 prices: dict[str, Price] | None = None) -> None:
        """`database`: the store's engine (`open_engine`), a database URL, or a SQLite path."""
        # A path or URL is opened by the store, which creates and upgrades every table.
        self.engine = database if isinstance(database, Engine) else open_engine(database)
        self.prices = {**PRICES, **(prices or {})}
        self._write_lock = threading.Lock()  # one writer at a time: no SQLITE_BUSY storms

    def price_of(self, model: str) -> Price:
        """The price of a model: exact name, else the longest known prefix, else free."""
        if model in self.prices:
            return self.prices[model]
        bare = model.split("/")[-1]
        matches = [name for name in self.prices if bare.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else Price()

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for that many tokens of that model."""
        price = self.price_of(model)
        return (prompt_tokens * price.input + completion_tokens * price.output) / 1e6

    def record(self, call: ModelCall) -> ModelCall:
        """Store one call, filling in its cost when the caller left it at zero."""
        if not call.cost_usd and not call.cached:
            call.cost_usd = self.cost(call.model, call.prompt_tokens, call.completion_tokens)
        with self._write_lock, Session(self.engine, expire_on_commit=False) as session:
            session.add(call)
            session.commit()
        return call

    def record_many(self, calls: list[ModelCall]) -> None:
        """Store several calls in one transaction (imports and generated archives write many)."""
        for call in calls:
            if not call.cost_usd and not call.cached:
                call.cost_usd = self.cost(call.model, call.prompt_tokens, call.completion_tokens)
        with self._write_lock, Session(self.engine, expire_on_commit=False) as session:
            session.add_all(calls)
            session.commit()

    def spend(self, *, run_id: str | None = None, node_id: int | None = None,
              task_id: str | None = None, role: str | None = None) -> Spend:
        """Totals over the calls that reached the model (not cache hits, not budget refusals)."""
        query = select(func.count(ModelCall.id), func.sum(ModelCall.prompt_tokens),
                       func.sum(ModelCall.completion_tokens), func.sum(ModelCall.cost_usd))
        query = self._where(query, run_id=run_id, node_id=node_id, task_id=task_id, role=role)
        query = query.where(ModelCall.cached == False,  # noqa: E712 - SQL expression
                            ModelCall.status != "budget_exceeded")
        with Session(self.engine) as session:
            count, prompt, completion, cost = session.exec(query).one()
        return Spend(count or 0, prompt or 0, completion or 0, cost or 0.0)

    def spend_by_step(self, run_id: str, step_ids: list[str] | None = None
                      ) -> dict[str, Spend]:
        """Totals per self-improvement step of the run (only `step_ids` when given)."""
        query = select(ModelCall.step_id, func.count(ModelCall.id),
                       func.sum(ModelCall.prompt_tokens), func.sum(ModelCall.completion_tokens),
                       func.sum(ModelCall.cost_usd)).where(
            *_reached(run_id), col(ModelCall.step_id).is_not(None))
        if step_ids is not None:
            query = query.where(col(ModelCall.step_id).in_(sorted(step_ids)))
        return self._grouped(query.group_by(ModelCall.step_id))

    def spend_by_node(self, run_id: str, node_ids: list[int] | None = None
                      ) -> dict[int, Spend]:
        """Totals per node of the calls outside any step (no diagnosis): its evaluations'
        agent runs."""
        query = select(ModelCall.node_id, func.count(ModelCall.id),
                       func.sum(ModelCall.prompt_tokens), func.sum(ModelCall.completion_tokens),
                       func.sum(ModelCall.cost_usd)).where(
            *_reached(run_id), col(ModelCall.step_id).is_(None),
            col(ModelCall.node_id).is_not(None), ModelCall.role != "diagnose")
        if node_ids is not None:
            query = query.where(col(ModelCall.node_id).in_(sorted(node_ids)))
        return self._grouped(query.group_by(ModelCall.node_id))

    def _grouped(self, query) -> dict:
        with self.engine.connect() as connection:
            return {key: Spend(count or 0, prompt or 0, completion or 0, cost or 0.0)
                    for key, count, prompt, completion, cost in connection.execute(query)}

    def calls(self, *, run_id: str | None = None, node_id: int | None = None,
              task_id: str | None = None, role: str | None = None) -> list[ModelCall]:
        """The calls matching every given field, oldest first (cache hits included)."""
        query = self._where(select(ModelCall), run_id=run_id, node_id=node_id,
                            task_id=task_id, role=role).order_by(ModelCall.id)
        with Session(self.engine) as session:
            return list(session.exec(query).all())

    @staticmethod
    def _where(query, **fields):
        for name, value in fields.items():
            if value is not None:
                query = query.where(getattr(ModelCall, name) == value)
        return query

    # -- the response cache ----------------------------------------------------------------

    def cached(self, key: str) -> CachedResponse | None:
        """The cached answer for a request hash, if any."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(CachedResponse, key)

    def cache_keys(self) -> set[str]:
        """Every request hash the cache holds (the gateway keeps them in memory)."""
        with Session(self.engine) as session:
            return set(session.exec(select(CachedResponse.request_hash)).all())

    def store(self, calls: list[ModelCall | CallRecord],
              cache: list[CachedResponse | CacheEntry]) -> None:
        """Write calls and cache entries in one transaction (the gateway's batched writer).

        Core bulk inserts, not the ORM: the writer shares the GIL with the gateway's request
        threads, and ORM flushes cost milliseconds of it per row."""
        rows = [_row(call) for call in calls]
        for row in rows:
            if not row["cost_usd"] and not row["cached"]:
                row["cost_usd"] = self.cost(row["model"], row["prompt_tokens"],
                                            row["completion_tokens"])
        entries = {e.request_hash: _row(e) for e in cache}  # the last answer wins
        with self._write_lock, self.engine.begin() as connection:
            if rows:
                connection.execute(insert(ModelCall), rows)
            if entries:
                connection.execute(delete(CachedResponse).where(
                    CachedResponse.request_hash.in_(list(entries))))
                connection.execute(insert(CachedResponse), list(entries.values()))

    def remember(self, entry: CachedResponse) -> None:
        """Store (or replace) a cached answer."""
        with self._write_lock, Session(self.engine) as session:
            session.merge(entry)
            session.commit()


def _row(item: SQLModel | CallRecord | CacheEntry) -> dict:
    if isinstance(item, SQLModel):
        return item.model_dump(exclude={"id"})
    return dict(vars(item))  # shallow: asdict() deep-copies every value
