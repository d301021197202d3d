"""The one read model of a run's nodes: `node_rows`, every node with its tallies (a copy
with those of the node it copies) and its graders' disagreements, in three queries whatever
the archive's size. The SQL dialect is known here: SQLite extracts each proposal's one line
in the database, PostgreSQL's rows are read and parsed here."""

from __future__ import annotations

import json

from sqlalchemy import Engine, case, func
from sqlmodel import col, select

from agentforge.store.records import GRADING_DISAGREEMENT, NodeRow
from agentforge.store.tables import AgentNode, Evaluation, Event


def node_rows(engine: Engine, run_id: str, validation_split: str = "validation",
              held_out_split: str = "held_out") -> list[NodeRow]:
    """Every node of the run in creation order, with its tallies on both splits and what its
    graders disagreed on."""
    sqlite = engine.dialect.name == "sqlite"
    summary = (case((func.json_valid(AgentNode.proposal_json),
                     func.json_extract(AgentNode.proposal_json, "$.summary")))
               if sqlite else AgentNode.proposal_json)
    columns = (AgentNode.id, AgentNode.parent_id, AgentNode.status, AgentNode.reason,
               AgentNode.commit, summary, AgentNode.operator, AgentNode.second_parent_id,
               AgentNode.step_id, AgentNode.copy_of, AgentNode.external_id,
               AgentNode.origin_json, AgentNode.created_at)
    resolved = func.sum(case((col(Evaluation.resolved).is_(True), 1), else_=0))
    with engine.connect() as connection:
        nodes = connection.execute(select(*columns).where(AgentNode.run_id == run_id)
                                   .order_by(col(AgentNode.id))).all()
        tallies = connection.execute(
            select(Evaluation.node_id, Evaluation.split, resolved, func.count())
            .where(Evaluation.run_id == run_id, col(Evaluation.finished).is_(True),
                   col(Evaluation.split).in_([validation_split, held_out_split]))
            .group_by(Evaluation.node_id, Evaluation.split)).all()
        disputes = connection.execute(
            select(Event.node_id, Event.message)
            .where(Event.run_id == run_id, Event.kind == GRADING_DISAGREEMENT)
            .order_by(col(Event.id))).all()
    disagreements: dict[int, list[str]] = {}
    for node_id, message in disputes:
        disagreements.setdefault(node_id, []).append(message)
    counts = {(node_id, split): (won or 0, tried) for node_id, split, won, tried in tallies}
    rows = []
    for (node_id, parent_id, status, reason, commit, line, operator, second, step, copy_of,
         external, origin, created_at) in nodes:
        scored = copy_of or node_id  # a copy shows the evaluations it reuses
        won, tried = counts.get((scored, validation_split), (0, 0))
        held_won, held_tried = counts.get((scored, held_out_split), (0, 0))
        rows.append(NodeRow(
            id=node_id, parent_id=parent_id, status=status, reason=reason, commit=commit,
            summary=_line(line) if sqlite else summary_of(line), operator=operator,
            second_parent_id=second, step_id=step, copy_of=copy_of, external_id=external,
            origin_json=origin,
            created_at=created_at, successes=won, failures=tried - won,
            held_out_successes=held_won, held_out_failures=held_tried - held_won,
            grading_disagreements=disagreements.get(node_id, [])))
    return rows


def summary_of(proposal_json: str | None) -> str | None:
    """A proposal's one line, or None when it has none or is not JSON."""
    try:
        proposal = json.loads(proposal_json or "null")
    except ValueError:
        return None
    line = proposal.get("summary") if isinstance(proposal, dict) else None
    return line if isinstance(line, str) else None


def _line(extracted: object) -> str | None:
    # json_extract gives whatever the proposal holds: only a text is a one-line summary
    return extracted if isinstance(extracted, str) else None
