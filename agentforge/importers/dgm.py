"""Reading a Darwin Gödel Machine run (jennyzzt/dgm: DGM_outer.py, self_improve_step.py).

    output_dgm/<run>/dgm_metadata.jsonl   one indent=2 record per generation: generation,
                                          selfimprove_entries, children, children_compiled,
                                          archive
    output_dgm/<run>/initial/             the root: metadata.json (overall_performance)
    output_dgm/<run>/<run_id>/            one self-improvement attempt: metadata.json
                                          (run_id, parent_commit = initial or a run id, entry,
                                          problem_statement, model_patch_exists/notempty,
                                          overall_performance, is_compiled,
                                          improvement_diagnosis) and model_patch.diff

A node's code is the DGM checkout as its image holds it plus the patches of its ancestors
from `initial`, in order; a Polyglot run first swaps coding_agent_polyglot.py in.
"""

from __future__ import annotations

from pathlib import Path

from agentforge.importers.common import (
    ForeignNode,
    ImportPlan,
    is_polyglot_task,
    parents_first,
    uncounted_notes,
)
from agentforge.importers.records import ImportRefused, agent_files, read_json, read_json_records

METADATA = "dgm_metadata.jsonl"
ROOT = "initial"
_REQUIRED_KEYS = ("accuracy_score", "total_resolved_ids", "total_unresolved_ids",
                  "total_emptypatch_ids")


def read_dgm_run(run_dir: Path, base: Path | None, polyglot: bool | None = None) -> ImportPlan:
    """The plan of a finished or partial DGM run; `polyglot` None: detect it."""
    run_dir = Path(run_dir).resolve()
    if (run_dir / "DGM_outer.py").is_file():
        raise ImportRefused(f"{run_dir} is a DGM checkout, not a run: give the run's folder, "
                            "output_dgm/<run id>/ (and the checkout as --base)")
    if not run_dir.is_dir() or not (
            (run_dir / METADATA).is_file() or (run_dir / ROOT / "metadata.json").is_file()):
        raise ImportRefused(f"{run_dir} is not a DGM run directory: it has neither "
                            f"{METADATA} nor {ROOT}/metadata.json (a DGM run is "
                            "output_dgm/<run id>/ of a DGM checkout)")
    base = check_dgm_checkout(base)
    generations = read_json_records(run_dir / METADATA) if (run_dir / METADATA).is_file() else []
    last = generations[-1] if generations and isinstance(generations[-1], dict) else {}
    archive = set(last.get("archive", []))
    root = read_attempt(run_dir / ROOT, ROOT)
    if root.failure:
        raise ImportRefused(f"{run_dir}/{ROOT} has no usable metadata.json ({root.failure}): "
                            "DGM's root must be evaluated before a run starts")
    attempts = [read_attempt(folder, folder.name) for folder in sorted(run_dir.iterdir())
                if folder.is_dir() and folder.name != ROOT and _is_attempt(folder)]
    for node in attempts:
        node.proposal["in_dgm_archive"] = node.external_id in archive
    if polyglot is None:
        polyglot = detect_polyglot(run_dir, [root, *attempts])
    notes = [] if generations else [f"no {METADATA}: a partial run (generation 0 unfinished)"]
    notes += uncounted_notes([root, *attempts])
    return ImportPlan(system="dgm", source=run_dir, base=base, base_files=agent_files(base),
                      polyglot=polyglot, root=root, nodes=parents_first(attempts, ROOT),
                      notes=notes)


def check_dgm_checkout(base: Path | None) -> Path:
    """The DGM checkout a node's code starts from, or a refusal saying what to give."""
    if base is None:
        raise ImportRefused("a DGM run holds only patches: give --base DGM_CHECKOUT, the "
                            "jennyzzt/dgm checkout the run was made with")
    base = Path(base).resolve()
    missing = [name for name in ("coding_agent.py", "DGM_outer.py", "llm_withtools.py")
               if not (base / name).is_file()]
    if not base.is_dir() or missing:
        raise ImportRefused(f"--base {base} is not a DGM checkout (missing "
                            f"{', '.join(missing) or 'the folder'}): give the jennyzzt/dgm "
                            "checkout the run was made with")
    return base


def _is_attempt(folder: Path) -> bool:
    return any((folder / name).exists() for name in
               ("metadata.json", "model_patch.diff", "self_improve.log"))


def read_attempt(folder: Path, external_id: str) -> ForeignNode:
    """One attempt's folder (DGM and HGM write the same metadata.json) as a ForeignNode."""
    metadata = read_json(folder / "metadata.json")
    patch_file = folder / "model_patch.diff"
    patch = patch_file.read_text(encoding="utf-8", errors="replace") \
        if patch_file.is_file() else None
    if metadata is None:
        # Without its parent the patch has nothing to apply to: no code, only the record.
        return ForeignNode(external_id, parent=ROOT, failure=(
            "no metadata.json: the attempt crashed before writing it; its parent is unknown "
            "(shown under the root)" + ("; its model_patch.diff is kept in the source run"
                                         if patch else "")))
    statement = metadata.get("problem_statement") or ""
    proposal = {key: metadata[key] for key in ("entry", "problem_statement", "is_compiled",
                                               "improvement_diagnosis") if key in metadata}
    proposal["summary"] = _first_line(statement) or metadata.get("entry") or None
    node = ForeignNode(external_id, parent=metadata.get("parent_commit") or ROOT, patch=patch,
                       proposal=proposal)
    performance = metadata.get("overall_performance")
    if external_id == ROOT:
        node.parent = None
    if not isinstance(performance, dict) or not all(k in performance for k in _REQUIRED_KEYS):
        node.failure = _why_not_evaluated(metadata, patch)
        return node
    node.resolved = list(performance["total_resolved_ids"])
    node.unresolved = list(performance["total_unresolved_ids"])
    node.empty_patch = list(performance["total_emptypatch_ids"])
    node.errored, node.unnamed = _errored(folder, performance,
                                          {*node.resolved, *node.unresolved, *node.empty_patch})
    return node


def _errored(folder: Path, performance: dict, listed: set[str]) -> tuple[list[str], int]:
    """Tasks the score counts (total_submitted_instances) that no id list names, the harness's
    errors: named from its reports' error ids, else from the predictions it wrote; and how
    many stay unnamed."""
    submitted = performance.get("total_submitted_instances")
    if not isinstance(submitted, int) or submitted <= len(listed):
        return [], 0
    found: set[str] = set()
    for report in folder.glob("*.json"):  # the harness reports get_all_performance summed
        data = read_json(report)
        if isinstance(data, dict):
            found.update(str(i) for key in ("error_ids", "incomplete_ids")
                         for i in data.get(key) or [])
    found.update(path.stem for path in folder.glob("predictions/*/*.json"))
    errored = sorted(found - listed)[:submitted - len(listed)]
    return errored, submitted - len(listed) - len(errored)


def _why_not_evaluated(metadata: dict, patch: str | None) -> str:
    if not metadata.get("problem_statement"):
        return "not evaluated: the diagnosis produced no problem statement"
    if patch is None or not patch.strip():
        return "not evaluated: the agent left an empty or no model_patch.diff"
    return "not evaluated: metadata.json has no overall_performance (the evaluation failed)"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return ""


def detect_polyglot(run_dir: Path, nodes: list[ForeignNode]) -> bool:
    """Polyglot if the run's log says so, else if its task ids are Polyglot's."""
    for log in ("dgm_outer.log", "hgm_outer.log"):
        path = run_dir / log
        if path.is_file():
            head = path.read_text(encoding="utf-8", errors="replace")[:20000]
            if "'polyglot': True" in head:
                return True
            if "'polyglot': False" in head:
                return False
    ids = [t for n in nodes for t in (*n.resolved, *n.unresolved, *n.empty_patch)]
    return bool(ids) and all(is_polyglot_task(t) for t in ids)
