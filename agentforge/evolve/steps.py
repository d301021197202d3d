"""The work of one self-improvement step and of one evaluation, run on worker threads.

Both write their results to the archive themselves (the store is thread-safe), in an order
that keeps it consistent at every instant: a child's commit exists before its node row, and
an evaluation is finished in one transaction with its task result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from agentforge.agent_runner import load_agent
from agentforge.evolve.context import RunContext
from agentforge.evolve.diagnose import AgentFacts, DiagnosisFailed, FailureCase, diagnose
from agentforge.evolve.diskspace import raise_if_host_disk_full
from agentforge.evolve.evaluate import EvaluationOutcome
from agentforge.evolve.improve import export_agent
from agentforge.evolve.scheduler import EvaluationJob
from agentforge.evolve.validation import shrunken_test_suite
from agentforge.evolve.work import AgentCode, Booking, EvaluationWork, ImplementWork, ValidateWork
from agentforge.llm.client import ModelClient
from agentforge.llm.errors import ModelError
from agentforge.llm.ledger import CallContext
from agentforge.store.errors import StoreError
from agentforge.store.tables import NOT_RUNNABLE, NodeStatus
from agentforge.trajectory_copy import NOTE_KEY


def agent_dir(ctx: RunContext, node_id: int) -> Path:
    """The node's agent as a folder on the host (never run here: only copied into sandboxes)."""
    node = ctx.store.get_node(node_id)
    return export_agent(ctx.repo, node.commit, ctx.rundir.agents)


def agent_code(ctx: RunContext, node_id: int) -> AgentCode:
    """The node's agent as work carries it: its commit and the exported folder."""
    return AgentCode(ctx.store.get_node(node_id).commit, agent_dir(ctx, node_id))


def failure_cases(ctx: RunContext, node_id: int) -> list[FailureCase]:
    """The node's most recent failed validation evaluations, with their evidence."""
    chars = ctx.config.improve.excerpt_chars
    failed = [e for e in ctx.store.list_evaluations(ctx.run_id, finished=True, node_id=node_id,
                                                    split=ctx.config.benchmark.validation_split)
              if not e.resolved]
    cases = []
    shown = ctx.config.improve.failures_shown
    for evaluation in failed[-shown:] if shown else []:
        result = ctx.store.task_result(evaluation.id)
        cases.append(FailureCase(
            task_id=evaluation.task_id, reason=evaluation.reason or "unresolved",
            problem=ctx.task(evaluation.task_id).problem_statement[:chars],
            patch=(result.patch if result else "")[:chars],
            test_output=(result.test_output if result else "")[-chars:],
            trajectory=trajectory_excerpt(result.trajectory_path if result else None, chars)))
    return cases


def trajectory_excerpt(path: str | None, chars: int) -> str:
    """The tail of a trajectory's messages, as compact text."""
    if not path:
        return ""
    files = sorted(Path(path).rglob("trajectory.json"))
    if not files:
        return ""
    try:
        data = json.loads(files[-1].read_text())
    except (OSError, ValueError):
        return ""
    lines = [f"stop_reason: {data.get('stop_reason')}"]
    if isinstance(cut := data.get(NOTE_KEY), dict):  # the run kept only part of it
        lines.append(f"(trajectory cut at {cut.get('cap_bytes')} bytes: "
                     f"{cut.get('dropped_files')} file(s) left out)")
    for thread in (data.get("messages") or {}).values():
        for message in thread if isinstance(thread, list) else []:
            text = message.get("content") or ""
            calls = " ".join(f"{c.get('function', {}).get('name')}"
                             f"({c.get('function', {}).get('arguments', '')[:300]})"
                             for c in message.get("tool_calls") or [])
            lines.append(f"[{message.get('role')}] {str(text)[:600]} {calls}".rstrip())
    return "\n".join(lines)[-chars:]


def improve_step(ctx: RunContext, parent_id: int) -> int:
    """Diagnose, implement, commit, validate; return the new node's id (whatever its status)."""
    store, config = ctx.store, ctx.config
    parent = store.get_node(parent_id)
    parent_dir = agent_dir(ctx, parent_id)
    spec = load_agent(parent_dir)
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
    work = ctx.sandboxes().implement(
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


def validate_node(ctx: RunContext, node_id: int) -> None:
    """Run the child's own checks; mark it evaluating (valid) or invalid with the reason."""
    try:
        reason = ctx.sandboxes().validate(
            ValidateWork(list(ctx.config.improve.own_tests), ctx.config.improve.validate_timeout,
                         {"agentforge.run": ctx.run_id}), agent_code(ctx, node_id))
    except Exception as exc:  # our side broke (Docker), not the child: the step failed
        raise_if_host_disk_full(exc)  # stays pending: a resume validates it again
        ctx.store.update_node(node_id, status=NodeStatus.failed,
                              reason=f"validation could not run: {type(exc).__name__}: {exc}")
        return
    if reason:
        ctx.store.update_node(node_id, status=NodeStatus.invalid, reason=reason)
    else:
        ctx.store.update_node(node_id, status=NodeStatus.evaluating)
    ctx.store.add_event(ctx.run_id, "validated", reason or "valid", node_id=node_id)
    warn_if_tests_shrank(ctx, node_id)


def warn_if_tests_shrank(ctx: RunContext, node_id: int) -> None:
    """A `warning` event when the child deleted tests or defines fewer than its parent."""
    parent_id = ctx.store.get_node(node_id).parent_id
    if parent_id is None:
        return
    warning = shrunken_test_suite(agent_dir(ctx, parent_id), agent_dir(ctx, node_id))
    if warning:
        ctx.store.add_event(ctx.run_id, "warning", f"node {node_id}: {warning}",
                            node_id=node_id, data={"kind": "tests_shrunk", "detail": warning})


def _failed(ctx: RunContext, parent_id: int, reason: str, proposal: dict | None) -> int:
    node = ctx.store.add_node(ctx.run_id, parent_id=parent_id, status=NodeStatus.failed,
                              reason=reason, proposal=proposal)
    ctx.store.add_event(ctx.run_id, "failed", reason[:300], node_id=node.id)
    return node.id


def evaluate_job(ctx: RunContext, job: EvaluationJob) -> EvaluationOutcome:
    """Run one node on one task and finish its evaluation row (exactly once)."""
    store = ctx.store
    node = store.get_node(job.node_id)
    if node.status in NOT_RUNNABLE:
        return EvaluationOutcome(None, False, f"skipped: node is {node.status}", skipped=True)
    try:
        evaluation = store.start_evaluation(job.node_id, job.task_id, split=job.split,
                                            attempt=job.attempt)
    except StoreError as exc:  # already finished (a stale job): never run twice
        return EvaluationOutcome(None, False, f"skipped: {exc}", skipped=True)
    out_dir = ctx.rundir.node_dir(job.node_id) / "eval" / job.split
    config = ctx.config.evaluation
    work = EvaluationWork(Booking(ctx.run_id, job.node_id, job.task_id), ctx.benchmark_spec,
                          ctx.task(job.task_id), config.agent_timeout, config.max_trajectory_mb)
    crash = None
    try:
        graded = ctx.sandboxes().evaluate(work, agent_code(ctx, job.node_id), out_dir)
        resolved, reason, crash = graded.resolved, graded.reason, graded.crash
        data, seconds = graded.artefacts, graded.seconds
    except Exception as exc:  # one task's crash on our side (or a lost worker) must not
        raise_if_host_disk_full(exc)  # stop the run; a full disk must, and is not the agent's
        resolved, reason, data, seconds = False, f"evaluation error: {type(exc).__name__}: " \
            f"{str(exc)[:400]}", None, 0.0
    spend = ctx.ledger.spend(run_id=ctx.run_id, node_id=job.node_id, task_id=job.task_id)
    store.finish_evaluation(evaluation.id, resolved=resolved, reason=reason,
                            cost_usd=spend.cost_usd, tokens=spend.tokens, duration_s=seconds,
                            result=data)
    if crash is not None:
        return EvaluationOutcome(evaluation.id, resolved, crash, crashed=True)
    return EvaluationOutcome(evaluation.id, resolved, reason)
