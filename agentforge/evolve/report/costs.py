"""What each node cost, from the ledger's attribution of model calls.

The ledger books the calls of one improvement step to the *parent* node: the diagnosis with
role `diagnose` (no task), the parent agent implementing the change with task id
`improve-<key>`, where key is the first 12 hex digits of the sha256 of the proposal's JSON
(see `steps.improve_step`). So a child's improvement cost is read back from its proposal, and
each diagnosis call of a parent goes to the first child of that parent created after it (a
diagnosis that failed made a `failed` child, so it is counted too). Evaluation calls carry
the evaluated node's own id and the task id.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, func
from sqlmodel import col, select

from agentforge.llm.ledger import ModelCall

IMPROVE_TASK_PREFIX = "improve-"


@dataclass
class NodeCost:
    """Model spend attributed to one node: making it, and evaluating it."""

    improve_usd: float = 0.0
    improve_tokens: int = 0
    evaluate_usd: float = 0.0
    evaluate_tokens: int = 0

    @property
    def total_usd(self) -> float:
        """Improvement plus evaluation, in dollars."""
        return self.improve_usd + self.evaluate_usd


def improve_task_id(proposal: dict) -> str:
    """The ledger task id of the implementation of this proposal (as improve_step books it)."""
    from agentforge.evolve.operators.diagnose import Proposal

    dumped = Proposal.model_validate(proposal).model_dump_json()
    return IMPROVE_TASK_PREFIX + hashlib.sha256(dumped.encode()).hexdigest()[:12]


def node_costs(engine: Engine, run_id: str, nodes: list) -> dict[int, NodeCost]:
    """Cost per node id of `nodes` (rows with id, parent_id, proposal_json, created_at).

    Only the calls booked to these nodes or their parents are read, so a node and its
    siblings cost one small query, and the whole archive one scan."""
    costs = {node.id: NodeCost() for node in nodes}
    reached = [ModelCall.run_id == run_id, ModelCall.cached == False,  # noqa: E712
               ModelCall.status != "budget_exceeded"]
    if len(nodes) <= 500:
        booked = {n.id for n in nodes} | {n.parent_id for n in nodes if n.parent_id is not None}
        reached.append(col(ModelCall.node_id).in_(sorted(booked)))
    tokens = ModelCall.prompt_tokens + ModelCall.completion_tokens
    # Evaluation calls are summed per node in SQL; only improvement task ids stay apart.
    improve = case((col(ModelCall.task_id).like(IMPROVE_TASK_PREFIX + "%"), ModelCall.task_id))
    with engine.connect() as connection:
        grouped = connection.execute(
            select(ModelCall.node_id, improve, func.sum(ModelCall.cost_usd), func.sum(tokens))
            .where(*reached, ModelCall.role != "diagnose")
            .group_by(ModelCall.node_id, improve)).all()
        diagnoses = connection.execute(
            select(ModelCall.node_id, ModelCall.created_at, ModelCall.cost_usd, tokens)
            .where(*reached, ModelCall.role == "diagnose").order_by(ModelCall.id)).all()
    child_by_task = {}
    for node in nodes:
        if node.parent_id is not None and node.proposal_json:
            key = _improve_key(node.proposal_json)
            if key is not None:
                child_by_task[(node.parent_id, key)] = node.id
    for node_id, task_id, usd, used in grouped:
        if task_id and task_id.startswith(IMPROVE_TASK_PREFIX):
            target = costs.get(child_by_task.get((node_id, task_id)))
            if target is not None:
                target.improve_usd += usd or 0.0
                target.improve_tokens += used or 0
        elif node_id in costs:
            costs[node_id].evaluate_usd += usd or 0.0
            costs[node_id].evaluate_tokens += used or 0
    _attribute_diagnoses(costs, nodes, diagnoses)
    return costs


@functools.lru_cache(maxsize=65_536)
def _improve_key(proposal_json: str) -> str | None:
    # A proposal never changes once stored: a web page polling a big run keys it once.
    try:
        return improve_task_id(json.loads(proposal_json))
    except ValueError:  # a proposal this version cannot read: leave it unattributed
        return None


def _attribute_diagnoses(costs: dict[int, NodeCost], nodes: list, diagnoses) -> None:
    children: dict[int, list[tuple[datetime, int]]] = {}
    for node in nodes:
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append((_naive(node.created_at), node.id))
    for family in children.values():
        family.sort()
    for parent_id, created_at, usd, used in diagnoses:
        family = children.get(parent_id, [])
        at = bisect.bisect_left(family, (_naive(created_at), -1))
        if at < len(family):
            child = costs[family[at][1]]
            child.improve_usd += usd or 0.0
            child.improve_tokens += used or 0


def _naive(moment: datetime | str) -> datetime:
    # SQLite hands datetimes back without their zone (or as text, read raw); rows made in
    # memory still carry UTC.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=None) if moment.tzinfo else moment
