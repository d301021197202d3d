"""`self_edit`: the diagnose model reads the parent's failures and proposes one change
(diagnose.py); the parent agent implements it on a copy of its own source in a sandbox
(implement.py, through the run's workplace); the diff becomes the child."""

from __future__ import annotations

import hashlib

from agentforge.agent_contract import load_agent_spec
from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.operators.child import add_child, failed_child
from agentforge.evolve.operators.diagnose import AgentFacts, diagnose
from agentforge.evolve.operators.failures import failure_cases
from agentforge.evolve.operators.structured import ReplyFailed
from agentforge.evolve.step import StepOutcome, StepPlan
from agentforge.evolve.workplaces.work import Booking, ImplementWork
from agentforge.llm.client import ModelClient
from agentforge.llm.errors import ModelError
from agentforge.llm.ledger import CallContext

NAME = "self_edit"


def self_edit(ctx: RunContext, plan: StepPlan) -> StepOutcome:
    """Diagnose, implement, add the child (validated); its node whatever its status."""
    config, parent_id = ctx.config, plan.parent_id
    client = ModelClient.for_role(
        "diagnose", config.llm, ledger=ctx.ledger, use_cache=True,
        context=CallContext(run_id=ctx.run_id, node_id=parent_id, role="diagnose",
                            step_id=plan.step_id))
    try:
        proposal = diagnose(client, agent_facts(ctx, parent_id),
                            failure_cases(ctx, parent_id, plan.evidence_seed),
                            attempts=config.improve.diagnose_attempts)
    except ReplyFailed as exc:
        return failed_child(ctx, plan, f"diagnosis invalid: {exc}; model said: "
                            f"{exc.text[:800]!r}", {"invalid_reply": exc.text})
    except ModelError as exc:
        return failed_child(ctx, plan, f"diagnosis model error: {exc}")
    # The implementation's task id keys the gateway's response cache by the proposal: the
    # same proposal again (a deterministic model) replays the answers it already had.
    key = hashlib.sha256(proposal.model_dump_json().encode()).hexdigest()[:12]
    scratch = ctx.rundir.path / "nodes" / f".{plan.step_id}"
    work = ctx.workplace().implement(
        ImplementWork(Booking(ctx.run_id, parent_id, f"improve-{key}", step_id=plan.step_id),
                      proposal, config.improve.agent_timeout, {"agentforge.run": ctx.run_id}),
        ctx.agent_code(parent_id), scratch)
    commit = ctx.repo.create_child(ctx.store.get_node(parent_id).commit, work.patch,
                                   message=proposal.summary)
    unchanged = None if work.patch.strip() else (
        f"no diff: the implementation changed nothing (agent stop: {work.stop_reason})")
    return add_child(ctx, plan, commit=commit, summary=proposal.summary,
                     proposal=proposal.model_dump(), invalid=unchanged, kept=scratch,
                     data={"stop_reason": work.stop_reason, "exit_code": work.exit_code})


def agent_facts(ctx: RunContext, node_id: int) -> AgentFacts:
    """What the diagnosis is told about an agent: its card, its files, its tallies."""
    folder = ctx.agent_dir(node_id)
    spec = load_agent_spec(folder)
    summary = next(s for s in ctx.store.node_summaries(
        ctx.run_id, split=ctx.config.benchmark.validation_split) if s.id == node_id)
    return AgentFacts(name=spec.name, description=spec.description,
                      files=sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                                   if p.is_file()),
                      successes=summary.successes, failures=summary.failures)
