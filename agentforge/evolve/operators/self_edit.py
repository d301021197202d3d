"""`self_edit`: today's step (diagnose, then the parent implements the change on its own
source), wrapped so that the node records its operator."""

from __future__ import annotations

import hashlib
import shutil

from agentforge.agent_contract import load_agent_spec
from agentforge.evolve.loop.context import RunContext, agent_code, agent_dir
from agentforge.evolve.operators.diagnose import AgentFacts, DiagnosisFailed, diagnose
from agentforge.evolve.operators.failures import failure_cases
from agentforge.evolve.validation.node import validate_node
from agentforge.evolve.workplaces.work import Booking, ImplementWork
from agentforge.llm.client import ModelClient
from agentforge.llm.errors import ModelError
from agentforge.llm.ledger import CallContext
from agentforge.store.tables import NodeStatus

NAME = "self_edit"


def self_edit(ctx: RunContext, parent_id: int, second_parent_id: int | None = None) -> int:
    """One self-improvement step of `parent_id`; return the child's node id."""
    node_id = improve_step(ctx, parent_id)
    ctx.store.set_node_operator(node_id, NAME)
    return node_id


def improve_step(ctx: RunContext, parent_id: int) -> int:
    """Diagnose, implement, commit, validate; return the new node's id (whatever its status)."""
    store, config = ctx.store, ctx.config
    parent = store.get_node(parent_id)
    parent_dir = agent_dir(ctx, parent_id)
    spec = load_agent_spec(parent_dir)
    summary = next(s for s in store.node_summaries(
        ctx.run_id, split=config.benchmark.validation_split) if s.id == parent_id)
    facts = AgentFacts(name=spec.name, description=spec.description,
                       files=sorted(str(p.relative_to(parent_dir)) for p in parent_dir.rglob("*")
                                    if p.is_file()),
                       successes=summary.successes, failures=summary.failures)
    client = ModelClient.for_role(
        "diagnose", config.llm, ledger=ctx.ledger, use_cache=True,
        context=CallContext(run_id=ctx.run_id, node_id=parent_id, role="diagnose"))
    try:
        proposal = diagnose(client, facts, failure_cases(ctx, parent_id),
                            attempts=config.improve.diagnose_attempts)
    except DiagnosisFailed as exc:
        return _failed(ctx, parent_id, f"diagnosis invalid: {exc}; model said: {exc.text[:800]!r}",
                       {"invalid_reply": exc.text})
    except ModelError as exc:
        return _failed(ctx, parent_id, f"diagnosis model error: {exc}", None)
    key = hashlib.sha256(proposal.model_dump_json().encode()).hexdigest()[:12]
    scratch = ctx.rundir.path / "nodes" / f".improve-{parent_id}-{key}"
    shutil.rmtree(scratch, ignore_errors=True)
    work = ctx.workplace().implement(
        ImplementWork(Booking(ctx.run_id, parent_id, f"improve-{key}"), proposal,
                      config.improve.agent_timeout, {"agentforge.run": ctx.run_id}),
        agent_code(ctx, parent_id), scratch)
    commit = ctx.repo.create_child(parent.commit, work.patch, message=proposal.summary)
    node = store.add_node(ctx.run_id, parent_id=parent_id, commit=commit,
                          status=NodeStatus.pending, proposal=proposal.model_dump())
    if scratch.exists():
        target = ctx.rundir.node_dir(node.id) / "improve"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(scratch, target)
    store.add_event(ctx.run_id, "child", f"node {node.id} from {parent_id}: {proposal.summary}",
                    node_id=node.id, data={"stop_reason": work.stop_reason,
                                           "exit_code": work.exit_code})
    if not work.patch.strip():
        why = f"no diff: the implementation changed nothing (agent stop: {work.stop_reason})"
        store.update_node(node.id, status=NodeStatus.invalid, reason=why)
        return node.id
    validate_node(ctx, node.id)
    return node.id



def _failed(ctx: RunContext, parent_id: int, reason: str, proposal: dict | None) -> int:
    node = ctx.store.add_node(ctx.run_id, parent_id=parent_id, status=NodeStatus.failed,
                              reason=reason, proposal=proposal)
    ctx.store.add_event(ctx.run_id, "failed", reason[:300], node_id=node.id)
    return node.id
