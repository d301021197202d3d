"""A run directory opened read-only: the data behind every JSON route of the web view.

The database is opened with SQLite's `mode=ro`, or in PostgreSQL's read-only transactions
for a cluster run (a page can never write to an archive, even through a bug of ours);
agents.git is only read with `git diff`, and node files go through `files.resolve_inside`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, func, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, col, select

from agentforge.evolve.report.costs import node_costs
from agentforge.evolve.rundir import RunDir
from agentforge.evolve.selection.base import best_lineage
from agentforge.llm.ledger import ModelCall
from agentforge.store import SqlStore
from agentforge.store.errors import StoreError
from agentforge.store.migrations import latest_version, read_version
from agentforge.store.records import GRADING_DISAGREEMENT, NodeRecord, disputed
from agentforge.web.errors import NotFound
from agentforge.web.files import node_files, resolve_inside
from agentforge.web.page_reads import (
    finalize_progress,
    node_model_calls,
    parse_ids,
    phase_token,
    run_phase,
    search,
    search_texts,
    task_matrix,
)

NODE_FIELDS = ("id", "parent_id", "status", "reason", "score", "tasks", "resolved",
               "held_out_score", "held_out_tasks", "operator", "created_at", "cost_usd",
               "summary", "tokens", "disagreements", "copy_of")
"""Columns of the compact node summaries (one row per node, in this order; new ones go last);
a copy (copy_of: the node whose agent it is) shows that node's scores."""
SHORT_TEXT = 160  # reason and summary in the summaries; the full text is in the node detail
MAX_DIFF_CHARS = 400_000
_SHA = re.compile(r"[0-9a-f]{7,64}")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree (sha1 repositories)


def readonly_engine(database: Path) -> Engine:
    """An engine on a SQLite file that cannot write to it (SQLite's read-only URI mode)."""
    if not database.is_file():
        raise NotFound(f"no archive database at {database}")
    uri = f"file:{quote(str(database.resolve()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA query_only=ON")  # belt and braces over mode=ro
        return connection

    # The URL alone would pick SingletonThreadPool (meant for :memory:), which closes the
    # connections of other threads once more than five threads have used it.
    return create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=4,
                         max_overflow=16)


def readonly_run_engine(rundir: RunDir) -> Engine:
    """The run's archive, read-only: its SQLite file, or its PostgreSQL database (a cluster
    run) in read-only transactions."""
    url = rundir.store_url
    if not url.startswith("postgresql"):
        return readonly_engine(rundir.database)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=4, max_overflow=16, pool_pre_ping=True,
                         connect_args={"options": "-c default_transaction_read_only=on"})


class RunArchive:
    """One run: summary, node summaries and details, diffs and files, all read-only."""

    def __init__(self, path: Path) -> None:
        self.rundir = RunDir(path)
        self.engine = readonly_run_engine(self.rundir)
        self.store = SqlStore(self.engine)  # its read methods only; it opens no write here
        try:
            self._check_schema()
            runs = self.store.list_runs()
        except DBAPIError as exc:
            self.engine.dispose()
            raise NotFound(f"{self.rundir.database} cannot be read ({exc.orig}): is it an "
                           "agentforge archive?") from None
        if not runs:
            raise NotFound(f"{self.rundir.path} holds no run yet")
        self.run_id = runs[0].id
        config = _read_json(self.rundir.config_file) or {}
        bench = config.get("benchmark", {})
        self.validation_split = bench.get("validation_split", "validation")
        self.held_out_split = bench.get("held_out_split", "held_out")
        self._cache: dict[str, tuple[str, object, float, float]] = {}

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def _check_schema(self) -> None:
        # Read-only means no migration here: an older archive is upgraded by any command
        # that opens it for writing, once.
        with self.engine.connect() as connection:
            found = read_version(connection)
        latest = latest_version()
        if found is not None and found < latest:
            self.engine.dispose()
            raise NotFound(f"{self.rundir.database} has schema version {found}, this agentforge "
                           f"reads {latest}: upgrade it once with `agentforge status "
                           f"{self.rundir.path}` (it migrates in place), then reload")
        if found is not None and found > latest:
            self.engine.dispose()
            raise NotFound(f"{self.rundir.database} was written by a newer agentforge (schema "
                           f"{found}, this one reads {latest}): upgrade agentforge")

    # the change feed ----------------------------------------------------------------------

    def version(self) -> str:
        """A token that changes whenever anything the page shows changes (one cheap query)."""
        with self.engine.connect() as connection:
            row = connection.execute(text(
                # Portable SQL: SQLite and PostgreSQL (a cluster run's archive) alike.
                "SELECT (SELECT count(*) || ':' || coalesce(CAST(max(updated_at) AS TEXT), '')"
                "        FROM agentnode WHERE run_id = :run),"
                "       (SELECT count(*) || ':' ||"
                "               coalesce(sum(CASE WHEN finished THEN 1 ELSE 0 END), 0)"
                "        FROM evaluation WHERE run_id = :run),"
                "       (SELECT status || ':' || CAST(updated_at AS TEXT) FROM run"
                "        WHERE id = :run),"
                "       (SELECT coalesce(max(id), 0) FROM modelcall)"), {"run": self.run_id}
            ).one()
        return "|".join(str(part) for part in (*row, phase_token(self.rundir)))

    # summaries ----------------------------------------------------------------------------

    def nodes(self) -> dict:
        """Compact node summaries: `fields` names the columns of every row of `rows`."""
        return self._cached("nodes", self._build_nodes)

    def summary(self) -> dict:
        """Status, stop reason, spend, best node and lineage, work in flight."""
        return self._cached("summary", self._build_summary)

    def _cached(self, kind: str, build):
        # Payloads are pure functions of the archive's version: an unchanged archive is
        # served from memory however many pages poll it. A busy run changes its version
        # every second; rebuilding a big archive that often would keep a core busy, so a
        # payload is rebuilt at most once per twice the time its last build took.
        version = self.version()
        hit = self._cache.get(kind)
        now = time.monotonic()
        if hit is not None and (hit[0] == version or now - hit[2] < 2 * hit[3]):
            return hit[1]
        value = build()
        self._cache[kind] = (version, value, now, time.monotonic() - now)
        return value

    def _node_rows(self):
        return self.store.node_rows(self.run_id, self.validation_split, self.held_out_split)

    def _build_nodes(self) -> dict:
        rows = self._node_rows()
        costs = node_costs(self.engine, self.run_id, rows)
        out = []
        for row in rows:
            out.append([
                row.id, row.parent_id, row.status.value, _short(row.reason),
                _round(row.score), row.evaluated_tasks, row.successes,
                _round(row.held_out_score), row.held_out_tasks, row.operator,
                _iso_text(row.created_at), round(costs[row.id].total_usd, 6),
                _short(row.summary),
                costs[row.id].improve_tokens + costs[row.id].evaluate_tokens,
                len(row.grading_disagreements), row.copy_of])
        return {"fields": list(NODE_FIELDS), "rows": out}

    def _build_summary(self) -> dict:
        run = self.store.get_run(self.run_id)
        rows = self._node_rows()
        best_id, lineage = best_lineage(rows, excluded=disputed(rows))
        phase, flight = run_phase(self.rundir, run.status)
        unfinished = self.store.list_evaluations(self.run_id, finished=False)
        finalizing = None
        if phase == "finalizing":  # the top-up, then the held-out evaluations, not finished
            finalizing = finalize_progress(flight, {
                row.id: row.held_out_tasks for row in rows if row.held_out_tasks})
            split = self.validation_split if finalizing["top_up"] else self.held_out_split
            flight = {"evaluating": [{"node_id": e.node_id, "task_id": e.task_id,
                                      "split": e.split} for e in unfinished
                                     if e.split == split]}
        return {
            "run_id": self.run_id, "run_dir": str(self.rundir.path), "status": run.status,
            "stop_reason": run.stop_reason, "iterations": run.iterations,
            "alive": phase in ("running", "starting", "finalizing"), "phase": phase,
            "finalizing": finalizing,
            "created_at": _iso(run.created_at), "best_id": best_id, "best_lineage": lineage,
            "spend": self._spend(),
            "in_flight": {"improving": flight.get("improving", []),
                          "evaluating": flight.get("evaluating", []),
                          "unfinished_evaluations": [
                              {"node_id": e.node_id, "task_id": e.task_id, "split": e.split}
                              for e in unfinished]},
            "report": _read_json(self.rundir.report_file),
            "events": [{"kind": e.kind, "node_id": e.node_id, "message": e.message,
                        "created_at": _iso(e.created_at)}
                       for e in self.store.list_events(self.run_id, limit=30)],
            "version": self.version(),
        }

    def _spend(self) -> dict:
        with Session(self.engine) as session:
            calls, tokens, usd = session.exec(
                select(func.count(ModelCall.id),
                       func.sum(ModelCall.prompt_tokens + ModelCall.completion_tokens),
                       func.sum(ModelCall.cost_usd))
                .where(ModelCall.run_id == self.run_id, col(ModelCall.cached).is_(False),
                       ModelCall.status != "budget_exceeded")).one()
            # Spend over time for the progress chart: cumulative per minute of the run.
            if self.engine.dialect.name == "sqlite":
                minute = func.strftime("%Y-%m-%dT%H:%M:00", ModelCall.created_at)
            else:  # PostgreSQL (a cluster run): the same text, UTC
                minute = func.to_char(func.timezone("UTC", ModelCall.created_at),
                                      'YYYY-MM-DD"T"HH24:MI:00')
            steps = session.exec(
                select(minute, func.sum(ModelCall.cost_usd),
                       func.sum(ModelCall.prompt_tokens + ModelCall.completion_tokens))
                .where(ModelCall.run_id == self.run_id, col(ModelCall.cached).is_(False),
                       ModelCall.status != "budget_exceeded")
                .group_by(minute).order_by(minute)).all()
        series, total_usd, total_tokens = [], 0.0, 0
        for when, step_usd, step_tokens in steps:
            total_usd += step_usd or 0.0
            total_tokens += step_tokens or 0
            series.append([when, round(total_usd, 6), total_tokens])
        return {"calls": calls or 0, "tokens": tokens or 0, "usd": round(usd or 0.0, 6),
                "over_time": series}

    # one node -----------------------------------------------------------------------------

    def node_detail(self, node_id: int) -> dict:
        """Everything about one node: proposal, diff, evaluations with reasons, files, cost."""
        node = self._node(node_id)
        evaluations = self.store.list_evaluations(self.run_id, node_id=node_id)
        events = [e for e in self.store.list_events(self.run_id) if e.node_id == node_id]
        cost = node_costs(self.engine, self.run_id, [node])[node_id]
        tasks = []
        for e in evaluations:
            result = self.store.task_result(e.id) if e.finished else None
            tasks.append({
                "task_id": e.task_id, "split": e.split, "attempt": e.attempt,
                "finished": e.finished, "resolved": e.resolved, "reason": e.reason,
                "cost_usd": round(e.cost_usd, 6), "tokens": e.tokens,
                "duration_s": round(e.duration_s, 1),
                "started_at": _iso(e.started_at), "finished_at": _iso(e.finished_at),
                "test_output": result.test_output if result else None,
                "files": self._result_files(result.trajectory_path if result else None),
            })
        proposal = _loads(node.proposal_json)
        return {
            "id": node.id, "parent_id": node.parent_id, "status": node.status.value,
            "reason": node.reason, "commit": node.commit, "proposal": proposal,
            "operator": getattr(node, "operator", None), "created_at": _iso(node.created_at),
            "copy_of": node.copy_of,
            "external_id": getattr(node, "external_id", None),
            "warnings": [e.message for e in events if e.kind == "warning"],
            "grading_disagreements": [e.message for e in events
                                      if e.kind == GRADING_DISAGREEMENT],
            "updated_at": _iso(node.updated_at),
            "diff": self._patch(node), "evaluations": tasks,
            "files": node_files(self.rundir.path, self.rundir.node_dir(node_id)),
            "cost": {"improve_usd": round(cost.improve_usd, 6),
                     "improve_tokens": cost.improve_tokens,
                     "evaluate_usd": round(cost.evaluate_usd, 6),
                     "evaluate_tokens": cost.evaluate_tokens},
            "model_calls": node_model_calls(self.engine, self.run_id, node.id, node.step_id),
        }

    def search(self, query: str) -> dict:
        """Ids of the nodes whose proposal or reason contains `query`."""
        return search(self._cached("texts", lambda: search_texts(self.engine, self.run_id)),
                      query)

    def matrix(self, ids: str) -> dict:
        """Finished evaluations of the nodes `ids` (`1,2,3`): the compare matrix."""
        wanted = parse_ids(ids)
        for node_id in wanted:
            self._node(node_id)  # NotFound for a node of another run
        return task_matrix(self.store, self.run_id, wanted)

    def diff(self, a: int, b: int) -> dict:
        """The diff from node a's code to node b's."""
        first, second = self._node(a), self._node(b)
        if not first.commit or not second.commit:
            raise NotFound("one of the two nodes has no commit (its step failed before one)")
        return {"a": a, "b": b, "diff": self._git_diff(first.commit, second.commit)}

    def file(self, relative: str) -> Path:
        """A file of the run directory by its relative path (never one outside it)."""
        return resolve_inside(self.rundir.path, relative)

    # helpers ------------------------------------------------------------------------------

    def _node(self, node_id: int) -> NodeRecord:
        try:
            node = self.store.get_node(node_id)
        except StoreError:
            node = None
        if node is None or node.run_id != self.run_id:
            raise NotFound(f"node {node_id} is not in this run")
        return node

    def _git_diff(self, old: str, new: str) -> str:
        """`git diff old new` in agents.git (one process), or NotFound."""
        if not (self.rundir.repo / "HEAD").exists():
            raise NotFound("this run has no agents.git")
        if not (_SHA.fullmatch(old) and _SHA.fullmatch(new)):
            raise NotFound("not a commit id")  # never hand git an option-like argument
        done = subprocess.run(
            ["git", f"--git-dir={self.rundir.repo}", "diff", "--no-color", "--no-ext-diff",
             "--no-textconv", old, new, "--"],
            capture_output=True, text=True, timeout=60, errors="replace")
        if done.returncode != 0:
            raise NotFound("agents.git does not hold both commits")
        return _cap(done.stdout)

    def _patch(self, node: NodeRecord) -> str | None:
        """The node's change: the diff from its parent's commit (the seed: the empty tree)."""
        if not node.commit:
            return None
        parent = self._node(node.parent_id).commit if node.parent_id is not None else EMPTY_TREE
        try:
            return self._git_diff(parent or EMPTY_TREE, node.commit)
        except NotFound:
            return None  # a commit missing from agents.git: no diff, keep the rest

    def _result_files(self, trajectory_path: str | None) -> list[str]:
        if not trajectory_path:
            return []
        folder = Path(trajectory_path)
        try:
            folder.resolve().relative_to(self.rundir.path)
        except ValueError:
            return []  # recorded by a run that lived elsewhere: nothing we may serve
        files = node_files(self.rundir.path, folder)
        logs = folder.parent.parent / "logs" / folder.name
        return files + node_files(self.rundir.path, logs)


def _loads(raw: str | None):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _short(value: str | None) -> str | None:
    if value is None or len(value) <= SHORT_TEXT:
        return value
    return value[:SHORT_TEXT - 1] + "…"


def _round(score: float | None) -> float | None:
    return None if score is None else round(score, 4)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat() if moment.tzinfo else moment.isoformat() + "Z"


def _iso_text(stored: str | datetime | None) -> str | None:
    """A datetime column read raw, as ISO: SQLite gives text ('YYYY-MM-DD HH:MM:SS.ffffff',
    UTC), PostgreSQL a datetime."""
    if isinstance(stored, datetime):
        return _iso(stored)
    return None if stored is None else stored.replace(" ", "T") + "+00:00"


def _cap(diff: str) -> str:
    if len(diff) <= MAX_DIFF_CHARS:
        return diff
    return diff[:MAX_DIFF_CHARS] + f"\n[diff cut at {MAX_DIFF_CHARS:,} characters]\n"
