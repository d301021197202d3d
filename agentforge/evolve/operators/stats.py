"""What each operator has cost and gained so far in a run, from the archive and the ledger.

Cost is model tokens (the ledger books each operator's calls under its own task ids) plus
the wall-clock seconds of its steps in sandboxes (recorded per child as an `operator` event),
converted at `TOKENS_PER_SECOND`. Gain is how much a child's validation score beats its
parent's (the better parent's, for crossover); a child that scored no better gains 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from agentforge.llm.ledger import Ledger, ModelCall
from agentforge.store import SqlStore
from agentforge.store.tables import VALIDATED

TOKENS_PER_SECOND = 100.0
"""A sandbox second priced as this many tokens when gain is weighed against cost."""
PROMPT_MUTATION_TASK = "op:prompt_mutation"


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


def operator_tokens(ledger: Ledger, run_id: str) -> dict[str, int]:
    """Tokens of each operator's model calls (self_edit: its diagnosis and implementation)."""
    query = (select(ModelCall.role, ModelCall.task_id,
                    func.sum(ModelCall.prompt_tokens + ModelCall.completion_tokens))
             .where(ModelCall.run_id == run_id, ModelCall.cached == False)  # noqa: E712
             .where(or_(col(ModelCall.task_id).is_(None),
                        col(ModelCall.task_id).like("improve-%"),
                        col(ModelCall.task_id).like("op:%")))
             .group_by(ModelCall.role, ModelCall.task_id))
    totals: dict[str, int] = {}
    with Session(ledger.engine) as session:
        for role, task_id, tokens in session.exec(query).all():
            if task_id == PROMPT_MUTATION_TASK:
                name = "prompt_mutation"
            elif (task_id or "").startswith("improve-") or (task_id is None
                                                             and role == "diagnose"):
                name = "self_edit"
            else:
                continue
            totals[name] = totals.get(name, 0) + int(tokens or 0)
    return totals


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
    for event in store.list_events(run_id):
        if event.kind == "operator" and event.data_json:
            data = json.loads(event.data_json)
            stats.setdefault(data["operator"], OperatorStats()).seconds += data["seconds"]
    for name, tokens in operator_tokens(ledger, run_id).items():
        stats.setdefault(name, OperatorStats()).tokens += tokens
    return stats
