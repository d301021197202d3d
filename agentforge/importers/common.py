"""What DGM and HGM runs have in common, and writing one as an agentforge run directory.

Both keep one folder per self-improvement attempt (`metadata.json`, `model_patch.diff`) and
an `initial/` root; a node's code is the root's code plus its ancestors' patches in order.
The readers (dgm.py, hgm.py) turn a run into an `ImportPlan`; `write_imported_run` builds
the run directory: the root committed from the base code, each attempt a commit on its
parent's (a patch that does not apply makes a failed node, with git's reason, and the import
goes on), per-task evaluations from the resolved / unresolved / empty-patch id lists (and the
tasks the harness counted but listed in none, its errors, as failures: as its score does), every
node's foreign id kept, and the run marked as an import (read-only for evolution).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.importers.records import ImportRefused
from agentforge.store.errors import PatchDoesNotApply
from agentforge.store.records import NodeStatus, TaskResultData

# Polyglot runs turn the checkout into the Polyglot agent before applying any patch.
POLYGLOT_REMOVE = ("coding_agent.py", "utils/eval_utils.py", "utils/swe_log_parsers.py")
POLYGLOT_RENAME = ("coding_agent_polyglot.py", "coding_agent.py")
SWE_REMOVE = ("coding_agent_polyglot.py",)
POLYGLOT_LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")


@dataclass
class ForeignNode:
    """One attempt of the foreign run, as read from its folder."""

    external_id: str
    parent: str | None
    """The parent's external id (None for the root)."""
    patch: str | None = None
    resolved: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    empty_patch: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)
    """Tasks the foreign harness counted (submitted) that none of the lists above names: its
    evaluation errored. The foreign score counts them as failures, and so does the import."""
    unnamed: int = 0
    """Tasks it counted that could not be named either (no harness report, no predictions)."""
    failure: str | None = None
    """Why the attempt is a failed node (no metadata.json, not evaluated, ...); None: evaluated."""
    proposal: dict = field(default_factory=dict)
    """What the foreign system recorded about the change (entry, problem statement, ...)."""


@dataclass
class ImportPlan:
    """A foreign run, read: its root, its attempts parents-first, and where it came from."""

    system: str
    source: Path
    base: Path
    """Folder whose files (all of `base_files`) are the root agent's code."""
    base_files: list[str]
    polyglot: bool
    root: ForeignNode
    nodes: list[ForeignNode]
    notes: list[str] = field(default_factory=list)

    @property
    def contract(self) -> str:
        """Whose agent contract the imported agents follow."""
        return self.system


def is_polyglot_task(task_id: str) -> bool:
    """Polyglot ids are LANGUAGE__exercise; SWE-bench ids are owner__repo-number."""
    language, sep, _ = task_id.partition("__")
    return bool(sep) and language in POLYGLOT_LANGUAGES


def parents_first(nodes: list[ForeignNode], root_id: str) -> list[ForeignNode]:
    """Order attempts so that every parent comes before its children (then by id)."""
    placed, ordered = {root_id}, []
    pending = sorted(nodes, key=lambda n: n.external_id)
    while pending:
        ready = [n for n in pending if n.parent in placed]
        if not ready:  # parents that are not in the run: hang them under the root, say so
            orphan = pending[0]
            orphan.failure = orphan.failure or (
                f"its parent {orphan.parent!r} is not in the run folder, so its code cannot "
                "be rebuilt (shown under the root)")
            orphan.parent, orphan.patch = root_id, None  # its patch is not against the root
            continue
        for node in ready:
            placed.add(node.external_id)
            ordered.append(node)
            pending.remove(node)
    return ordered


def uncounted_notes(nodes: list[ForeignNode]) -> list[str]:
    """A note per node whose foreign score counts tasks the import cannot name."""
    notes = []
    for node in nodes:
        if node.unnamed:
            named = len(node.resolved) + len(node.unresolved) + len(node.empty_patch) + len(
                node.errored)
            notes.append(
                f"{node.external_id}: its harness counted {named + node.unnamed} tasks but "
                f"names only {named} (no report or prediction names the other {node.unnamed}, "
                f"errors of its harness): its score here is {len(node.resolved)}/{named}, "
                f"where the foreign score is {len(node.resolved)}/{named + node.unnamed}")
    return notes


def write_imported_run(plan: ImportPlan, run_dir: Path) -> Path:
    """Build the run directory for `plan` (refused if `run_dir` exists); return its path."""
    run_dir = Path(run_dir).resolve()
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise ImportRefused(f"{run_dir} already exists and is not empty: pick a new --run-dir "
                            "(an import never writes into an existing run)")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    # Built next to the target and renamed at the end: a refusal half-way leaves nothing.
    staging = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.importing-", dir=run_dir.parent))
    try:
        _build(plan, staging, run_dir)
        if run_dir.exists():
            run_dir.rmdir()
        os.rename(staging, run_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return run_dir


def _build(plan: ImportPlan, staging: Path, final: Path) -> None:
    from agentforge.evolve.config import RunConfig
    from agentforge.evolve.rundir import RunDir

    rundir = RunDir(staging)
    config = RunConfig(
        seed_agent=plan.source / "initial", selection={"name": plan.system},
        benchmark={"name": "polyglot" if plan.polyglot else "swebench"},
        budget={"max_iterations": 0}, finalize={"enabled": False})
    rundir.save_config(config)
    store, repo = rundir.open_store(), rundir.open_repo()
    try:
        run_id = store.create_run(f"{plan.system}-{plan.source.name}", run_dir=str(final),
                                  config=config.model_dump(mode="json")).id
        origin = {"system": plan.system, "source": str(plan.source), "base": str(plan.base),
                  "contract": plan.contract, "polyglot": plan.polyglot, "models": {},
                  "notes": plan.notes}
        store.update_run(run_id, origin_json=json.dumps(origin), status="finished",
                         stop_reason=f"imported from {plan.system.upper()}")
        root_commit = _commit_root(plan, repo, staging)
        ids: dict[str, int] = {}
        broken: dict[str, str] = {}
        commits: dict[str, str | None] = {plan.root.external_id: root_commit}
        root = store.add_node(run_id, parent_id=None, commit=root_commit,
                              status=_status(plan.root), reason=plan.root.failure,
                              proposal=plan.root.proposal or None)
        ids[plan.root.external_id] = root.id
        _record(store, root.id, plan.root)
        store.set_node_origin(root.id, external_id=plan.root.external_id,
                              origin={"kind": "import", "system": plan.system,
                                      "source": str(plan.source / plan.root.external_id)})
        for node in plan.nodes:
            commit, why = _commit_child(repo, node, commits.get(node.parent))
            commits[node.external_id] = commit
            if why and node.patch and commits.get(node.parent):
                broken[node.external_id] = why
            failure = why or node.failure
            added = store.add_node(
                run_id, parent_id=ids[node.parent], commit=commit,
                status=NodeStatus.failed if failure else NodeStatus.evaluated,
                reason=failure, proposal=node.proposal or None)
            ids[node.external_id] = added.id
            store.set_node_origin(added.id, external_id=node.external_id)
            _record(store, added.id, node)
        _refuse_unmatched_base(plan, broken)
        store.add_event(run_id, "imported", f"imported {len(plan.nodes) + 1} nodes of a "
                        f"{plan.system.upper()} run from {plan.source}", data=origin)
    finally:
        store.close()


def _refuse_unmatched_base(plan: ImportPlan, broken: dict[str, str]) -> None:
    """A wrong --base shows as none of the root's children's patches applying: refuse."""
    firsts = [n.external_id for n in plan.nodes if n.parent == plan.root.external_id
              and n.patch and n.patch.strip()]
    if len(firsts) >= 2 and all(ext in broken for ext in firsts):
        raise ImportRefused(
            f"none of the {len(firsts)} patches made on the root applies to the code from "
            f"{plan.base}: it is not the checkout this run was made with (another version?); "
            f"give the right --base. First error: {broken[firsts[0]]}")


def _status(node: ForeignNode) -> NodeStatus:
    return NodeStatus.failed if node.failure else NodeStatus.evaluated


def _commit_root(plan: ImportPlan, repo, staging: Path) -> str:
    tree = staging / ".base"
    for rel in plan.base_files:
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(plan.base / rel, target)
    if plan.polyglot:
        renamed_from, renamed_to = (tree / p for p in POLYGLOT_RENAME)
        if not renamed_from.is_file():
            raise ImportRefused(f"this is a Polyglot run but {plan.base} has no "
                                f"{POLYGLOT_RENAME[0]}: give the checkout the run used")
        for rel in POLYGLOT_REMOVE:
            (tree / rel).unlink(missing_ok=True)
        renamed_from.rename(renamed_to)
    else:
        for rel in SWE_REMOVE:
            (tree / rel).unlink(missing_ok=True)
    commit = repo.commit_folder(tree, message=f"{plan.system.upper()} initial agent")
    shutil.rmtree(tree)
    return commit


def _commit_child(repo, node: ForeignNode, parent_commit: str | None):
    """(commit, why it has none): the parent's code plus this attempt's patch."""
    if parent_commit is None:
        return None, f"its parent {node.parent} has no code (an ancestor's patch does not apply)"
    if not node.patch or not node.patch.strip():
        return None, node.failure or "no model_patch.diff (the attempt changed nothing)"
    try:
        summary = node.proposal.get("summary") or node.external_id
        return repo.create_child(parent_commit, node.patch, message=summary[:200]), None
    except PatchDoesNotApply as exc:
        return None, f"model_patch.diff does not apply to its parent's code: {exc}"


def _record(store, node_id: int, node: ForeignNode) -> None:
    """One finished validation evaluation per task id the foreign harness reported."""
    outcomes: dict[str, tuple[bool, str | None]] = {}
    for task_id in node.unresolved:
        outcomes[task_id] = (False, "unresolved")
    for task_id in node.empty_patch:
        outcomes[task_id] = (False, "empty patch")
    for task_id in node.errored:
        outcomes[task_id] = (False, "the evaluation errored in the foreign harness, which "
                                    "counts it as a failure")
    for task_id in node.resolved:
        outcomes[task_id] = (True, None)
    for task_id, (resolved, reason) in outcomes.items():
        row = store.start_evaluation(node_id, task_id)
        store.finish_evaluation(row.id, resolved=resolved, reason=reason,
                                result=TaskResultData(report_json=json.dumps(
                                    {"imported": True, "reason": reason})))
