"""Reading a Huxley-Gödel Machine run (metauto-ai/HGM: hgm.py, tree.py, hgm_utils.py).

    output_hgm/<run>/hgm_metadata.jsonl   indent=2 records of the tree, appended after every
                                          expansion: n_task_evals and nodes (commit_id, id,
                                          parent_id, mean_utility, num_evals; the root
                                          `initial` is id 0 and not listed; `Infinity` for a
                                          node without evaluations)
    output_hgm/<run>/initial/             the root: src/ (the agent's code: the checkout
                                          minus .dockerignore) and metadata.json
    output_hgm/<run>/<commit_id>/         one attempt, as in DGM (metadata.json with
                                          parent_commit, model_patch.diff); attempts that
                                          failed are folders the tree never listed
"""

from __future__ import annotations

import math
from pathlib import Path

from agentforge.importers.common import ImportPlan, parents_first, uncounted_notes
from agentforge.importers.dgm import ROOT, detect_polyglot, read_attempt
from agentforge.importers.records import ImportRefused, agent_files, read_json_records

METADATA = "hgm_metadata.jsonl"


def read_hgm_run(run_dir: Path, base: Path | None = None,
                 polyglot: bool | None = None) -> ImportPlan:
    """The plan of a finished or partial HGM run; the root's code is initial/src (or --base)."""
    run_dir = Path(run_dir).resolve()
    if (run_dir / "hgm.py").is_file():
        raise ImportRefused(f"{run_dir} is an HGM checkout, not a run: give the run's folder, "
                            "output_hgm/<run id>/")
    if not run_dir.is_dir() or not (
            (run_dir / METADATA).is_file() or (run_dir / ROOT / "metadata.json").is_file()):
        raise ImportRefused(f"{run_dir} is not an HGM run directory: it has neither "
                            f"{METADATA} nor {ROOT}/metadata.json (an HGM run is "
                            "output_hgm/<run id>/ of an HGM checkout)")
    base = _root_code(run_dir, base)
    records = read_json_records(run_dir / METADATA) if (run_dir / METADATA).is_file() else []
    last = records[-1] if records and isinstance(records[-1], dict) else {}
    tree = {node["commit_id"]: node for node in last.get("nodes", [])
            if isinstance(node, dict) and "commit_id" in node}
    by_id = {node["id"]: node["commit_id"] for node in tree.values()}
    by_id[0] = ROOT
    root = read_attempt(run_dir / ROOT, ROOT)
    if root.failure:
        raise ImportRefused(f"{run_dir}/{ROOT} has no usable metadata.json ({root.failure}): "
                            "HGM evaluates its initial agent before a run starts")
    attempts = []
    for folder in sorted(run_dir.iterdir()):
        if not folder.is_dir() or folder.name == ROOT:
            continue
        listed = tree.get(folder.name)
        if listed is None and not (folder / "metadata.json").is_file() \
                and not (folder / "self_improve.log").is_file():
            continue
        node = read_attempt(folder, folder.name)
        if listed is not None:
            node.parent = by_id.get(listed.get("parent_id"), node.parent)
            utility = listed.get("mean_utility")
            node.proposal.update({
                "hgm_node_id": listed.get("id"), "num_evals": listed.get("num_evals"),
                "mean_utility": None if utility is None or math.isinf(utility) else utility})
        elif not node.failure:
            node.failure = "not in HGM's tree: the attempt failed and was never expanded"
        attempts.append(node)
    if polyglot is None:
        polyglot = detect_polyglot(run_dir, [root, *attempts])
    notes = [] if records else [f"no {METADATA}: a partial run (no expansion recorded)"]
    notes += uncounted_notes([root, *attempts])
    return ImportPlan(system="hgm", source=run_dir, base=base, base_files=agent_files(base),
                      polyglot=polyglot, root=root, nodes=parents_first(attempts, ROOT),
                      notes=notes)


def _root_code(run_dir: Path, base: Path | None) -> Path:
    """initial/src of the run (what HGM copied), else an HGM checkout given as --base."""
    if base is None:
        src = run_dir / ROOT / "src"
        if src.is_dir() and (src / "coding_agent.py").is_file():
            return src
        raise ImportRefused(f"{run_dir}/{ROOT}/src with the initial agent's code is missing: "
                            "give --base HGM_CHECKOUT, the metauto-ai/HGM checkout the run "
                            "was made with")
    base = Path(base).resolve()
    missing = [name for name in ("coding_agent.py",) if not (base / name).is_file()]
    if not base.is_dir() or missing:
        raise ImportRefused(f"--base {base} has no coding_agent.py: give the HGM checkout "
                            "(or the initial agent's src/) the run was made with")
    return base
