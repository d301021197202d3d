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

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, select

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
    from agentforge.evolve.diagnose import Proposal

    dumped = Proposal.model_validate(proposal).model_dump_json()
    return IMPROVE_TASK_PREFIX + hashlib.sha256(dumped.encode()).hexdigest()[:12]


def node_costs(engine: Engine, run_id: str, nodes: list) -> dict[int, NodeCost]:
    """Cost per node id of `nodes` (AgentNode rows: id, parent_id, proposal_json, created_at)."""
    costs = {node.id: NodeCost() for node in nodes}
    reached = (ModelCall.run_id == run_id, ModelCall.cached == False,  # noqa: E712
               ModelCall.status != "budget_exceeded")
    tokens = func.sum(ModelCall.prompt_tokens + ModelCall.completion_tokens)
    with Session(engine) as session:
        grouped = session.exec(
            select(ModelCall.node_id, ModelCall.task_id, func.sum(ModelCall.cost_usd), tokens)
            .where(*reached, ModelCall.role != "diagnose")
            .group_by(ModelCall.node_id, ModelCall.task_id)).all()
        diagnoses = session.exec(
            select(ModelCall.node_id, ModelCall.created_at, ModelCall.cost_usd,
                   ModelCall.prompt_tokens + ModelCall.completion_tokens)
            .where(*reached, ModelCall.role == "diagnose").order_by(ModelCall.id)).all()
    child_by_task = {}
    for node in nodes:
        if node.parent_id is not None and node.proposal_json:
            try:
                key = improve_task_id(json.loads(node.proposal_json))
            except ValueError:  # a proposal this version cannot read: leave it unattributed
                continue
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


def _attribute_diagnoses(costs: dict[int, NodeCost], nodes: list, diagnoses) -> None:
    children: dict[int, list] = {}
    for node in sorted(nodes, key=lambda n: (_naive(n.created_at), n.id)):
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node)
    for parent_id, created_at, usd, used in diagnoses:
        when = _naive(created_at)
        child = next((c for c in children.get(parent_id, ()) if _naive(c.created_at) >= when),
                     None)
        if child is not None:
            costs[child.id].improve_usd += usd or 0.0
            costs[child.id].improve_tokens += used or 0


def _naive(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; rows made in memory still carry UTC.
    return moment.replace(tzinfo=None) if moment.tzinfo else moment
