"""A generated run directory of realistic shape, written with the store's tables (tests, perf).

DGM-like growth: each child's parent is drawn among valid nodes with weight
score / (1 + children); about a fifth of children are invalid, a few failed; staged
evaluation (one task, then the rest); the last nodes are left pending or evaluating so that
work in flight shows. The rows go in one transaction (the store's methods commit once per
call, which makes thousands of nodes take minutes on a busy machine) and the commits into
agents.git in one `git fast-import`, so 5,000 nodes take seconds. `hostile=True` puts
script-injection payloads into every text an agent or a model could write: proposal, diff,
trajectory, reason, task id, test output.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from agentforge.llm.ledger import Ledger, ModelCall
from agentforge.store import SqlStore
from agentforge.store.records import NodeStatus
from agentforge.store.tables import (
    AgentNode,
    Evaluation,
    EvaluationArtefacts,
    Event,
    utcnow,
)

PAYLOADS = (
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=\"window.__pwned=1\">",
    "</script><script>window.__pwned=1</script>",
    "<svg onload=window.__pwned=1>",
    "javascript:window.__pwned=1",
    "\u2028<iframe srcdoc='<script>parent.__pwned=1</script>'>",
)
HOSTILE = " ".join(PAYLOADS)
"""Every payload in one string; a page that shows it as text never sets window.__pwned."""
TASKS = [f"py-task-{i:02d}" for i in range(10)]
HELD_OUT = [f"py-held-{i:02d}" for i in range(4)]
CALLS = ((2000, 350, 1.4, "tool_calls"), (3500, 280, 2.3, "tool_calls"), (5200, 120, 0.9, "stop"))
"""(prompt tokens, completion tokens, latency s, finish reason) of an agent's calls on a task."""


@dataclass
class SyntheticRun:
    """What was written: the run directory and the ids a test asserts on."""

    path: Path
    run_id: str
    node_ids: list[int] = field(default_factory=list)
    hostile_node: int | None = None
    hostile_task: str | None = None


def write_synthetic_run(path: Path, nodes: int = 30, *, seed: int = 0, hostile: bool = False,
                        files_for: int = 40, in_flight: int = 2,
                        store_url: str | None = None) -> SyntheticRun:
    """Write a run directory with `nodes` nodes (the seed included) and return its ids; its
    archive goes to `store_url` (a cluster run's PostgreSQL) if given."""
    rng = random.Random(seed)
    path = Path(path).resolve()
    path.mkdir(parents=True, exist_ok=True)
    tasks = TASKS + ([HOSTILE[:60]] if hostile else [])
    (path / "config.json").write_text(json.dumps({
        "seed_agent": "archive/base", "seed": seed,
        "benchmark": {"name": "local", "validation_split": "validation",
                      "held_out_split": "held_out"}, "store": store_url}))
    store = SqlStore.open(store_url or path / "archive.sqlite")
    run_id = f"{path.name}-synthetic"
    store.create_run(run_id, run_dir=str(path))
    plan = _plan(rng, nodes, hostile)
    commits = _commits(path / "agents.git", plan, hostile)
    result = SyntheticRun(path, run_id)
    rows = _Rows(Session(store.engine, expire_on_commit=False), run_id, path)
    ids: dict[int, int] = {}
    scores: dict[int, tuple[int, int]] = {}  # node id -> (resolved, tried)
    for index, step in enumerate(plan):
        parent = ids.get(step.parent)
        proposal = None if step.parent is None else {
            "summary": f"Change {index}: {HOSTILE if step.hostile else 'tighten the prompt'}",
            "diagnosis": "The agent stops before running the tests. " * 2
            + (HOSTILE if step.hostile else ""),
            "change": "Add a checklist line to the system prompt that says run the tests.",
            "files": ["coding_agent/config.toml"], "expected_effect": "more tasks resolved"}
        pending = index >= nodes - in_flight
        status = NodeStatus.pending if pending else step.status
        evaluated = status is NodeStatus.evaluating
        step_id = None if parent is None else f"step-{index}"
        node = rows.node(parent, commits[index], NodeStatus.evaluated if evaluated else status,
                         None if pending else step.reason, proposal,
                         # a fixed mix of the operators, so the page shows each
                         None if parent is None else
                         ("self_edit", "self_edit", "prompt_mutation")[index % 3], step_id)
        ids[index] = node.id
        result.node_ids.append(node.id)
        if step.hostile:
            result.hostile_node = node.id
            rows.session.add(Event(run_id=run_id, node_id=node.id, kind="warning",
                                   message=f"the change deletes tests: {HOSTILE}"))
        if parent is not None and index < files_for:  # how the parent implemented the change
            booked = _agent_calls(run_id, parent, f"improve-{index}", 0, step_id)
            rows.calls += booked
            _write_trajectory(path / "nodes" / str(node.id) / "improve" / "out" /
                              "trajectory.json", "the proposal", step.hostile, booked)
        if parent is not None:
            rows.calls.append(ModelCall(run_id=run_id, node_id=parent, role="diagnose",
                                        model="gpt-4o-mini", prompt_tokens=3000,
                                        completion_tokens=400, created_at=node.created_at,
                                        step_id=step_id))
        if not evaluated:
            continue
        won = 0
        for number, task in enumerate(_tasks_run(rng, tasks, step.score, step.hostile)):
            resolved = rng.random() < step.score
            won += resolved
            booked = _agent_calls(run_id, node.id, task, number)
            rows.calls += booked
            rows.evaluate(node.id, task, "validation", resolved, index < files_for,
                          step.hostile, booked)
            scores[node.id] = (won, number + 1)
            if task == tasks[-1] and step.hostile:
                result.hostile_task = task
    _held_out(rows, scores, rng, files_for)
    for node_id in result.node_ids[-in_flight:][:1]:  # one node still evaluating its first task
        node = rows.session.get(AgentNode, node_id)
        if node.status is NodeStatus.pending:
            node.status = NodeStatus.evaluating
            rows.session.add(Evaluation(run_id=run_id, node_id=node_id, task_id=tasks[0]))
    rows.session.commit()
    rows.session.close()
    Ledger(store.engine).record_many(rows.calls)
    store.close()
    return result


class _Rows:
    """The run's rows in one open transaction, with the store's tables."""

    def __init__(self, session: Session, run_id: str, root: Path) -> None:
        self.session = session
        self.run_id = run_id
        self.root = root
        self.calls: list[ModelCall] = []

    def node(self, parent_id: int | None, commit: str, status: NodeStatus, reason: str | None,
             proposal: dict | None, operator: str | None, step_id: str | None) -> AgentNode:
        node = AgentNode(run_id=self.run_id, parent_id=parent_id, commit=commit, status=status,
                         reason=reason, operator=operator, step_id=step_id,
                         proposal_json=None if proposal is None else json.dumps(proposal))
        self.session.add(node)
        self.session.flush()  # its id, for its children and evaluations
        return node

    def evaluate(self, node_id: int, task: str, split: str, resolved: bool, with_files: bool,
                 hostile: bool, calls: list[ModelCall] = ()) -> None:
        folder = self.root / "nodes" / str(node_id) / "eval" / split / "trajectories" / _safe(task)
        output = ("1 passed in 0.02s" if resolved else "FAILED test_calc.py::test_add - "
                  "AssertionError: assert None == 5\n1 failed in 0.03s")
        if hostile:
            output += "\n" + HOSTILE
        if with_files:
            _write_trajectory(folder / "out" / "trajectory.json", task, hostile, calls)
            logs = self.root / "nodes" / str(node_id) / "eval" / split / "logs" / _safe(task)
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "test_output.txt").write_text(output)
        reason = ("all FAIL_TO_PASS tests pass" if resolved else "test_add fails: assert None == 5")
        evaluation = Evaluation(
            run_id=self.run_id, node_id=node_id, task_id=task, split=split, finished=True,
            resolved=resolved, reason=reason + (f" {HOSTILE}" if hostile else ""),
            cost_usd=0.0018, tokens=9000, duration_s=12.5, finished_at=utcnow())
        self.session.add(evaluation)
        self.session.flush()
        self.session.add(EvaluationArtefacts(
            evaluation_id=evaluation.id, test_output=output,
            trajectory_path=str(folder) if with_files else None))


@dataclass
class _Step:
    parent: int | None
    status: NodeStatus
    reason: str | None
    score: float
    hostile: bool = False


def _plan(rng: random.Random, count: int, hostile: bool) -> list[_Step]:
    steps = [_Step(None, NodeStatus.evaluating, None, 0.3)]
    children = [0]
    for index in range(1, count):
        valid = [i for i, s in enumerate(steps) if s.status is NodeStatus.evaluating]
        weights = [(0.05 + steps[i].score) / (1 + children[i]) for i in valid]
        parent = rng.choices(valid, weights)[0]
        children[parent] += 1
        children.append(0)
        roll = rng.random()
        marked = hostile and index == 1
        if roll < 0.2 and not marked:
            steps.append(_Step(parent, NodeStatus.invalid,
                               "invalid: the agent's own tests fail (tests/test_loop.py)", 0))
        elif roll < 0.23 and not marked:
            steps.append(_Step(parent, NodeStatus.failed,
                               "diagnosis model error: upstream answered 503", 0))
        else:
            score = min(0.95, max(0.02, steps[parent].score + rng.gauss(0.03, 0.08)))
            reason = f"validated {HOSTILE}" if marked else None
            steps.append(_Step(parent, NodeStatus.evaluating, reason, score, marked))
    return steps


def _tasks_run(rng: random.Random, tasks: list[str], score: float, hostile: bool) -> list[str]:
    if hostile:
        return tasks  # the hostile node is evaluated on every task, the hostile one included
    first = tasks[:1]
    return first + (tasks[1:len(TASKS)] if rng.random() < 0.7 else [])


def _agent_calls(run_id: str, node_id: int, task: str, number: int,
                 step_id: str | None = None) -> list[ModelCall]:
    """The ledger rows of an agent's three calls on one task (or on its own source, in a
    step), one after the other."""
    calls, at = [], utcnow()
    for prompt, completion, latency, _finish in CALLS:
        calls.append(ModelCall(run_id=run_id, node_id=node_id, task_id=task, role="agent",
                               model="gpt-4o-mini", prompt_tokens=prompt + 100 * number,
                               completion_tokens=completion, latency_s=latency, created_at=at,
                               step_id=step_id))
        at += timedelta(seconds=latency + 0.4)
    return calls


def _held_out(rows: _Rows, scores: dict[int, tuple[int, int]], rng: random.Random,
              files_for: int) -> None:
    """The three best nodes by validation score, re-scored on the held-out tasks."""
    top = sorted(scores, key=lambda node_id: (-scores[node_id][0] / scores[node_id][1],
                                              node_id))[:3]
    for node_id in top:
        score = scores[node_id][0] / scores[node_id][1]
        for task in HELD_OUT:
            rows.evaluate(node_id, task, "held_out", rng.random() < score, node_id <= files_for,
                          False)


def _write_trajectory(path: Path, task: str, hostile: bool, calls: list[ModelCall] = ()) -> None:
    """An agent's trajectory.json; its model_calls are the agent's own record of `calls`."""
    text = HOSTILE if hostile else "The test fails because add returns None."
    records = [{"thread": "conductor" if n % 2 == 0 else "tester",
                "usage": {"prompt_tokens": c.prompt_tokens,
                          "completion_tokens": c.completion_tokens,
                          "total_tokens": c.prompt_tokens + c.completion_tokens},
                "cost": round((c.prompt_tokens * 0.15 + c.completion_tokens * 0.6) / 1e6, 6),
                "finish_reason": CALLS[n % len(CALLS)][3], "latency": c.latency_s}
               for n, c in enumerate(calls)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "format": 1, "agent": "coding_agent", "model": "gpt-4o-mini",
        "strategy": "meta-reasoning", "approach": "meta-prompting",
        "exit_status": "ok", "stop_reason": "submitted", "summary": f"Fixed {task}. {text}",
        "usage": {key: sum(r["usage"][key] for r in records) for key in (
            "prompt_tokens", "completion_tokens", "total_tokens")} | {"calls": len(records)},
        "cost": round(sum(r["cost"] for r in records), 6),
        "messages": {
            "conductor": [
                {"role": "system", "content": "You coordinate experts to solve the task."},
                {"role": "user", "content": f"Task {task}: make add(a, b) return the sum."},
                {"role": "assistant", "content": text, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {
                        "name": "consult", "arguments": json.dumps(
                            {"expert": "tester", "instruction": "Run the tests."})}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "1 failed " + text},
            ]},
        "model_calls": records, "tool_calls": [
            {"thread": "conductor", "name": "bash", "arguments": json.dumps(
                {"command": "python -m pytest -q"}), "ok": True, "output": "1 failed " + text}],
        "decisions": [
            {"kind": "approach_ranking", "ranking": ["meta-prompting", "direct-edit"],
             "ranked_by_model": ["meta-prompting", "direct-edit"],
             "fallback_to_config_order": False},
            {"kind": "approach_choice", "chosen": "meta-prompting", "runner": "conductor"},
            {"kind": "consultation", "round": 1, "expert": "tester",
             "instruction": "Run the tests and report.", "answer": "1 failed. " + text}],
        "error": None}, indent=1))


def _commits(repo: Path, plan: list[_Step], hostile: bool) -> list[str]:
    """One commit per planned node, each on its parent's, written by one git fast-import."""
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    lines: list[str] = []
    contents: list[str] = []
    for index, step in enumerate(plan):
        prompt = (contents[step.parent] if step.parent is not None else
                  "You are a careful coding agent.\n") + f"Rule {index}: run the tests.\n"
        if step.hostile:
            prompt += HOSTILE + "\n"
        contents.append(prompt)
        data = prompt.encode()
        lines.append(f"commit refs/agentforge/n{index}\nmark :{index + 1}\n"
                     f"committer agentforge <agentforge@localhost> {1700000000 + index} +0000\n"
                     "data 5\nnode\n")
        if step.parent is not None:
            lines.append(f"from :{step.parent + 1}\n")
        else:
            readme = b"# seed agent\n"
            lines.append(f"M 100644 inline README.md\ndata {len(readme)}\n# seed agent\n\n")
        lines.append(f"M 100644 inline coding_agent/prompt.txt\ndata {len(data)}\n")
        lines.append(prompt + "\n")
    marks = repo / "marks"
    subprocess.run(["git", f"--git-dir={repo}", "fast-import", "--quiet",
                    f"--export-marks={marks}"], input="".join(lines).encode(), check=True)
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    return [by_mark[f":{index + 1}"] for index in range(len(plan))]


def _safe(task: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in task)[:80]
