"""What each operator has cost and gained so far in a run, from the archive and the ledger.

Cost is model tokens (the ledger's calls grouped by step id; each child records the step
and operator that made it) plus the wall-clock seconds of its steps (recorded on the child),
converted at `TOKENS_PER_SECOND`. Gain is how much a child's validation score beats its
parent's (the better parent's, for crossover); a child that scored no better gains 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentforge.llm.ledger import Ledger
from agentforge.store import SqlStore
from agentforge.store.records import VALIDATED

TOKENS_PER_SECOND = 100.0
"""A sandbox second priced as this many tokens when gain is weighed against cost."""


@dataclass
class OperatorStats:
    """One operator's record in a run."""

    children: int = 0
    valid: int = 0
    gain: float = 0.0
    tokens: int = 0
    seconds: float = 0.0

    @property
    def cost(self) -> float:
        """Tokens plus sandbox seconds in token units."""
        return self.tokens + TOKENS_PER_SECOND * self.seconds

    @property
    def gain_per_cost(self) -> float:
        """Validation score gained per million cost units."""
        return 1e6 * self.gain / self.cost if self.cost else 0.0


def operator_stats(store: SqlStore, ledger: Ledger, run_id: str,
                   split: str = "validation") -> dict[str, OperatorStats]:
    """Every operator's children, valid children, gain, tokens and seconds in the run."""
    nodes = {n.id: n for n in store.list_nodes(run_id)}
    scores = {s.id: s.score if s.evaluated_tasks else None
              for s in store.node_summaries(run_id, split=split)}
    stats: dict[str, OperatorStats] = {}
    for node in nodes.values():
        if node.operator is None:
            continue
        entry = stats.setdefault(node.operator, OperatorStats())
        entry.children += 1
        entry.valid += node.status in VALIDATED
        parents = [p for p in (node.parent_id, node.second_parent_id) if p is not None]
        before = max((scores.get(p) or 0.0 for p in parents), default=0.0)
        if scores.get(node.id) is not None:
            entry.gain += max(0.0, scores[node.id] - before)
        entry.seconds += node.step_seconds or 0.0
    operators = {node.step_id: node.operator for node in nodes.values()
                 if node.step_id and node.operator}
    for step_id, spend in ledger.spend_by_step(run_id).items():
        if step_id in operators:
            stats[operators[step_id]].tokens += spend.tokens
    return stats
