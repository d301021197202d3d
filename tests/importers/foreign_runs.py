"""Small DGM and HGM runs written the way their code writes them (our own generator, read
from jennyzzt/dgm DGM_outer.py + self_improve_step.py and metauto-ai/HGM hgm.py + tree.py):
metadata.json per attempt (indent=4), model_patch.diff as `git diff` output, the
`*_metadata.jsonl` files as appended json.dumps(record, indent=2) records, HGM's Infinity.

DGM run (SWE-bench ids unless polyglot):
    initial                 root, 1 of 3 resolved
    20250101_000001_000001  A: parent initial, edits tools/edit.py; 2 resolved, 1 empty patch
    20250101_000002_000001  B: parent A, edits coding_agent.py; 3 resolved
    20250101_000003_000001  C: parent initial, diagnosis gave nothing (no overall_performance)
    20250101_000004_000001  D: crashed (self_improve.log only, no metadata.json)
    20250101_000005_000001  E: parent initial, a patch whose context is not in the code
    20250101_000006_000001  F: parent E (its code cannot be rebuilt)
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

A, B, C, D, E, F = (f"20250101_00000{i}_000001" for i in range(1, 7))
SWE_IDS = ["django__django-10880", "sympy__sympy-20590", "astropy__astropy-12907"]
POLYGLOT_IDS = ["python__dominoes", "go__dominoes", "rust__acronym"]

BASE_FILES = {
    "coding_agent.py": "def main():\n    print('swe agent')\n\n\nif __name__ == '__main__':\n"
                       "    main()\n",
    "coding_agent_polyglot.py": "def main():\n    print('polyglot agent')\n\n\n"
                                "if __name__ == '__main__':\n    main()\n",
    "llm_withtools.py": "MODEL = 'claude'\n",
    "tools/edit.py": "def edit(path, text):\n    open(path, 'w').write(text)\n",
    "utils/eval_utils.py": "def swe_only():\n    pass\n",
    "utils/swe_log_parsers.py": "PARSERS = {}\n",
    "utils/common_utils.py": "def load_json_file(p):\n    pass\n",
    "requirements.txt": "anthropic\n",
}
DGM_ONLY = {"DGM_outer.py": "# the outer loop\n", "self_improve_step.py": "# one step\n",
            ".dockerignore": "__pycache__/\n\n<!-- outputs -->\noutput_dgm/\ninitial/\n"
                             "DGM_outer.py\nself_improve_step.py\nanalysis/\n",
            "initial/metadata.json": "{}\n", "analysis/plot.py": "# plots\n"}


def diff(path: str, before: str, after: str) -> str:
    """A `git diff`-style patch of one file."""
    body = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                f"a/{path}", f"b/{path}")
    return f"diff --git a/{path} b/{path}\n" + "".join(body)


def write_files(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def make_dgm_checkout(root: Path) -> Path:
    """A DGM checkout in miniature: agent files, outer-loop files and its .dockerignore."""
    return write_files(root, {**BASE_FILES, **DGM_ONLY})


def performance(resolved: list[str], unresolved: list[str], empty: list[str],
                errors: int = 0) -> dict:
    """`overall_performance` as utils/evo_utils.get_all_performance builds it; `errors`:
    tasks the harness counted as submitted but put in none of the three lists."""
    submitted = len(resolved) + len(unresolved) + len(empty) + errors
    return {"accuracy_score": len(resolved) / submitted if submitted else 0,
            "total_resolved_instances": len(resolved), "total_submitted_instances": submitted,
            "files": [], "total_unresolved_ids": unresolved, "total_emptypatch_ids": empty,
            "total_resolved_ids": resolved, "total_submitted_ids": resolved + unresolved + empty}


def attempt(folder: Path, run_id: str, parent: str, patch: str | None,
            perf: dict | None, statement: str = "Improve the edit tool") -> None:
    """One self-improvement folder: metadata.json (json.dump indent=4) and model_patch.diff."""
    folder.mkdir(parents=True)
    (folder / "self_improve.log").write_text("log\n")
    metadata = {"run_id": run_id, "parent_commit": parent}
    if statement:
        metadata.update(entry="django__django-10880", problem_statement=statement)
    if patch is not None:
        (folder / "model_patch.diff").write_text(patch)
        metadata.update(model_patch_exists=True, model_patch_notempty=bool(patch.strip()))
    if perf is not None:
        metadata["overall_performance"] = perf
        metadata["is_compiled"] = True
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=4))


def _patches(polyglot: bool) -> dict[str, str]:
    agent = BASE_FILES["coding_agent_polyglot.py" if polyglot else "coding_agent.py"]
    edit = BASE_FILES["tools/edit.py"]
    edit_a = edit.replace("open(path, 'w').write(text)",
                          "with open(path, 'w') as f:\n        f.write(text)")
    agent_b = agent.replace("agent')", "agent, improved')")
    return {A: diff("tools/edit.py", edit, edit_a), B: diff("coding_agent.py", agent, agent_b),
            E: diff("llm_withtools.py", "MODEL = 'gpt'\n", "MODEL = 'o3'\n"),
            F: diff("requirements.txt", "anthropic\n", "anthropic\nopenai\n")}


def make_dgm_run(root: Path, *, polyglot: bool = False, with_metadata: bool = True) -> Path:
    """The DGM run described in the module docstring, at `root`."""
    ids = POLYGLOT_IDS if polyglot else SWE_IDS
    patches = _patches(polyglot)
    root.mkdir(parents=True)
    (root / "initial").mkdir()
    (root / "initial" / "metadata.json").write_text(json.dumps(
        {"run_id": "initial", "overall_performance": performance(ids[:1], ids[1:], [])},
        indent=4))
    attempt(root / A, A, "initial", patches[A], performance(ids[:2], [], ids[2:]))
    attempt(root / B, B, A, patches[B], performance(ids, [], []),
            statement="# Better output\n\nMake the agent say it improved.")
    attempt(root / C, C, "initial", None, None, statement="")
    (root / D).mkdir()
    (root / D / "self_improve.log").write_text("Traceback: container died\n")
    attempt(root / E, E, "initial", patches[E], performance([], ids, []))
    attempt(root / F, F, E, patches[F], performance(ids[:1], ids[1:], []))
    (root / "dgm_outer.log").write_text(
        f"Starting DGM run with arguments: {{'polyglot': {polyglot}, 'max_generation': 2}}\n")
    if with_metadata:
        with open(root / "dgm_metadata.jsonl", "a") as handle:
            for generation, children in enumerate([[A, C, D, E], [B, F]]):
                handle.write(json.dumps({
                    "generation": generation, "selfimprove_entries": [["initial", ids[0]]],
                    "children": children, "children_compiled": [A] if generation == 0 else [B],
                    "archive": ["initial", A] + ([B] if generation else [])}, indent=2) + "\n")
    return root


def make_hgm_run(root: Path) -> Path:
    """An HGM run: initial/src, tree nodes A (id 1), B (id 2, child of A, never evaluated:
    Infinity), E (id 3, broken patch); C failed and never in the tree."""
    patches = _patches(False)
    root.mkdir(parents=True)
    write_files(root / "initial" / "src", BASE_FILES)
    (root / "initial" / "metadata.json").write_text(json.dumps(
        {"run_id": "initial", "overall_performance": performance(SWE_IDS[:1], SWE_IDS[1:], [])},
        indent=4))
    attempt(root / A, A, "initial", patches[A], performance(SWE_IDS[:2], [], SWE_IDS[2:]))
    attempt(root / B, B, A, patches[B], performance([], [], []))
    attempt(root / C, C, A, None, None, statement="")
    attempt(root / E, E, "initial", patches[E], performance([], SWE_IDS, []))
    tree = [{"commit_id": A, "id": 1, "parent_id": 0, "mean_utility": 2 / 3, "num_evals": 3}]
    with open(root / "hgm_metadata.jsonl", "a") as handle:
        for added in ([], [{"commit_id": B, "id": 2, "parent_id": 1,
                            "mean_utility": float("inf"), "num_evals": 0},
                           {"commit_id": E, "id": 3, "parent_id": 0, "mean_utility": 0.0,
                            "num_evals": 3}]):
            tree = tree + added
            handle.write(json.dumps({"n_task_evals": 3 * len(tree), "nodes": tree},
                                    indent=2) + "\n")
    (root / "init_evaluated_tasks.json").write_text(json.dumps(SWE_IDS))
    return root


ERRORED_IDS = ["django__django-11066", "sympy__sympy-21612"]


def make_dgm_run_with_harness_errors(root: Path) -> Path:
    """A DGM run whose evaluations met harness errors, as DGM's own initial/ did (12/60):
    the root counts 4 tasks, lists 2 (1 resolved) and names all 4 in predictions/; attempt A
    counts 3, lists 2 and left no predictions."""
    root.mkdir(parents=True)
    initial = root / "initial"
    initial.mkdir()
    (initial / "metadata.json").write_text(json.dumps(
        {"run_id": "initial",
         "overall_performance": performance(SWE_IDS[:1], SWE_IDS[1:2], [], errors=2)},
        indent=4))
    for task in [*SWE_IDS[:2], *ERRORED_IDS]:  # what the harness wrote per prediction
        folder = initial / "predictions" / "initial_0"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{task}.json").write_text("{}")
        (folder / f"{task}.md").write_text("chat history\n")
    attempt(root / A, A, "initial", _patches(False)[A],
            performance(SWE_IDS[:1], SWE_IDS[1:2], [], errors=1))
    return root
