"""What the page reads beyond the archive's summaries: the run's phase, text search over
proposals, the task matrix of chosen nodes, and each node's model calls from the ledger.

Kept apart from archive.py, each a plain function over the engine or store that returns
JSON-able data, so that the store's typed read model can take these queries over as they
are. The new SQL of the web view is here and nowhere else.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, and_, or_, text
from sqlmodel import Session, col, select

from agentforge.evolve.report.status import process_alive
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.rundir.lock import LOCK_NAME, owner_alive
from agentforge.llm.ledger import ModelCall
from agentforge.store import SqlStore
from agentforge.web.errors import NotFound

CALL_FIELDS = ("task_id", "started_at", "latency_s", "prompt_tokens", "completion_tokens",
               "cost_usd", "status", "model", "cached")
"""Columns of a node's `model_calls` rows (the ledger's, in the order they were made)."""
MATRIX_FIELDS = ("node_id", "split", "task_id", "attempt", "resolved")
MAX_MATRIX_NODES = 500
MAX_QUERY = 200


# the run's phase ---------------------------------------------------------------------------

def run_phase(rundir: RunDir, status: str) -> tuple[str | None, dict]:
    """What the run's processes are doing now, and the live.json snapshot that goes with it.

    `running`: the loop's process writes live.json; `finalizing`: that process (or
    `evolve finalize`) tops up thinly evaluated nodes, then re-scores the finalists on
    held-out tasks; `starting`: a process holds
    the run's lock but has not written live.json yet (a fresh start or a resume); `gone`: the
    run says running but no process is behind it. None: nothing runs."""
    live = rundir.read_live()
    live_alive = process_alive(live.get("pid"))
    holder = lock_holder(rundir.path)
    if live.get("phase") == "finalize" and live_alive:
        return "finalizing", live
    if status == "running":
        if live_alive:
            return "running", live
        return ("starting" if holder else "gone"), {}
    if holder and holder.get("pid") != live.get("pid"):
        return "starting", {}  # a resume or finalize that has not said more yet
    return None, {}


def phase_token(rundir: RunDir) -> str:
    """What changes when the run's phase may have: live.json and run.lock rewritten, or the
    process that wrote live.json gone (for the change feed's version)."""
    stamps = []
    for path in (rundir.live_file, rundir.path / LOCK_NAME):
        try:
            stamps.append(str(path.stat().st_mtime_ns))
        except OSError:
            stamps.append("0")
    alive = process_alive(rundir.read_live().get("pid"))
    return ":".join([*stamps, str(int(alive)), str(int(lock_holder(rundir.path) is not None))])


def lock_holder(run_dir: Path) -> dict | None:
    """The live process holding DIR/run.lock, as the lock file names it, or None."""
    try:
        owner = json.loads((Path(run_dir) / LOCK_NAME).read_text() or "{}")
    except (OSError, ValueError):
        return None
    if not isinstance(owner, dict) or not owner.get("pid"):
        return None  # released locks are emptied
    return owner if owner_alive(owner) else None


def finalize_progress(live: dict, held_out_tasks: dict[int, int]) -> dict:
    """The finalists being re-scored, and how many of their held-out evaluations are done;
    before that, the nodes topped up on validation tasks (`top_up`, else empty)."""
    finalists = [int(i) for i in live.get("finalists") or []]
    per_node = int(live.get("held_out_tasks") or 0)
    return {"finalists": finalists, "total": per_node * len(finalists),
            "done": sum(min(held_out_tasks.get(i, 0), per_node) for i in finalists),
            "top_up": [int(i) for i in live.get("top_up") or []]}


# text search -------------------------------------------------------------------------------

def search_texts(engine: Engine, run_id: str) -> list[tuple[int, str]]:
    """(node id, lower-cased text of its proposal and reason) for every node of the run."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, reason, proposal_json FROM agentnode WHERE run_id = :run ORDER BY id"),
            {"run": run_id}).all()
    return [(node_id, " ".join([reason or "", *_strings(_loads(proposal))]).lower())
            for node_id, reason, proposal in rows]


def search(texts: list[tuple[int, str]], query: str) -> dict:
    """The ids of the nodes whose proposal or reason contains `query` (any case)."""
    wanted = query.strip().lower()[:MAX_QUERY]
    if not wanted:
        return {"q": query, "ids": []}
    return {"q": query, "ids": [node_id for node_id, haystack in texts if wanted in haystack]}


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _loads(raw: str | None):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


# the compare matrix ------------------------------------------------------------------------

def parse_ids(raw: str) -> list[int]:
    """Node ids from `1,2,3` (the matrix route's query), in order, each once."""
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise NotFound(f"not a node id: {part[:40]!r} (give ids=1,2,3)")
        if int(part) not in ids:
            ids.append(int(part))
    if not ids or len(ids) > MAX_MATRIX_NODES:
        raise NotFound(f"give between 1 and {MAX_MATRIX_NODES} node ids (ids=1,2,3)")
    return ids


def task_matrix(store: SqlStore, run_id: str, ids: list[int]) -> dict:
    """Every finished evaluation of the given nodes: one row per node, split, task, attempt."""
    rows = []
    for node_id in ids:
        for e in store.list_evaluations(run_id, finished=True, node_id=node_id):
            rows.append([node_id, e.split, e.task_id, e.attempt, bool(e.resolved)])
    return {"ids": ids, "fields": list(MATRIX_FIELDS), "rows": rows}


# model calls of one node -------------------------------------------------------------------

def node_model_calls(engine: Engine, run_id: str, node_id: int, step_id: str | None) -> dict:
    """The ledger's calls behind a node's trajectories: its evaluations' (booked to the node,
    outside any step) and its implementation's (the agent calls of the step that made it,
    booked to the parent under the step id). Diagnosis calls belong to no trajectory."""
    own = and_(ModelCall.node_id == node_id, col(ModelCall.step_id).is_(None))
    wanted = own if step_id is None else or_(own, ModelCall.step_id == step_id)
    agent = or_(col(ModelCall.role).is_(None), ModelCall.role != "diagnose")
    with Session(engine) as session:
        calls = session.exec(select(ModelCall).where(ModelCall.run_id == run_id, wanted, agent)
                             .order_by(col(ModelCall.id))).all()
    # the task id the implementation's calls carry: the page tells them apart by it
    improve = next((c.task_id for c in calls if step_id and c.step_id == step_id), None)
    return {"fields": list(CALL_FIELDS), "improve_task_id": improve, "rows": [
        [c.task_id, _iso(c.created_at), round(c.latency_s, 3), c.prompt_tokens,
         c.completion_tokens, round(c.cost_usd, 6), c.status, c.model, c.cached]
        for c in calls]}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat() if moment.tzinfo else moment.isoformat() + "Z"
