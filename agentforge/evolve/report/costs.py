"""What each node cost: a grouping of the ledger's calls by the step that made the node
(its diagnosis, implementation or mutation calls all carry the node's step id) and by the
node itself outside any step (the agent runs of its evaluations)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from agentforge.llm.ledger import Ledger


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


def node_costs(engine: Engine, run_id: str, nodes: list) -> dict[int, NodeCost]:
    """Cost per node id of `nodes` (records with id and step_id).

    Only the calls of these nodes and their steps are read when they are few, so a node and
    its siblings cost two small queries, and the whole archive two scans."""
    ledger = Ledger(engine)
    few = len(nodes) <= 500
    steps = {node.step_id: node.id for node in nodes if node.step_id}
    costs = {node.id: NodeCost() for node in nodes}
    for step_id, spend in ledger.spend_by_step(run_id, list(steps) if few else None).items():
        if step_id in steps:
            cost = costs[steps[step_id]]
            cost.improve_usd, cost.improve_tokens = spend.cost_usd, spend.tokens
    for node_id, spend in ledger.spend_by_node(run_id, list(costs) if few else None).items():
        if node_id in costs:
            cost = costs[node_id]
            cost.evaluate_usd, cost.evaluate_tokens = spend.cost_usd, spend.tokens
    return costs
