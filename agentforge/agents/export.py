"""`agentforge agent export`: a standalone folder for one agent, with its provenance.

    DIR/<the agent's source at the node's commit>
    DIR/agentforge-agent.json   manifest: versions, run and node, ancestors, scores with task
                                ids, models per role, seed, sha256 of every file
    DIR/LINEAGE.md              one line per step: what changed, score before and after
    DIR/lineage.patch           the whole change from the seed
    DIR/README.md               how to run it sandboxed, and what unsandboxed means
    DIR/.git                    with --git: one commit per ancestor, messages from proposals

An agent of agentforge's contract is made installable (`pip install DIR`) under a name of
its own, after its run and node (agents/packaging.py). The manifest lists every file the
export added or changed (its README section is prepended to the agent's README.md); an
invalid node's export says so in the manifest (`status`, `reason`) and the README.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from agentforge.agents.lineage import Lineage, lineage_markdown, read_lineage
from agentforge.agents.packaging import install_names, make_installable
from agentforge.evolve.rundir.agent_ref import (
    AGENTFORGE_CONTRACT,
    AgentRefError,
    ResolvedAgent,
    resolve_agent,
)
from agentforge.version import __version__

FORMAT_VERSION = 1
MANIFEST = "agentforge-agent.json"
_GIT_ENV = {"GIT_AUTHOR_NAME": "agentforge", "GIT_AUTHOR_EMAIL": "agentforge@localhost",
            "GIT_COMMITTER_NAME": "agentforge", "GIT_COMMITTER_EMAIL": "agentforge@localhost"}
_SKIP = {".git", "__pycache__", ".pytest_cache", ".venv", ".ruff_cache", ".mypy_cache"}


def export_agent(ref: str | Path, out: Path, *, git: bool = False) -> Path:
    """Write the agent `ref` names into `out` (new or empty) with manifest and lineage."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise AgentRefError(f"export target {out} is not empty: pick a new or empty directory")
    agent = resolve_agent(ref)
    lineage = read_lineage(agent) if agent.run_dir is not None else None
    out.mkdir(parents=True, exist_ok=True)
    if git:
        _init_git(out)
    if git and lineage is not None:
        _commit_ancestors(agent, lineage, out)
    else:
        _copy_tree(agent.path, out)
        if git:
            _git_commit(out, f"agent {agent.path.name}")
    source = file_hashes(out)  # the agent's own files, before the export adds its own
    _packaging(agent, lineage, out)
    if lineage is not None:
        (out / "LINEAGE.md").write_text(lineage_markdown(lineage), encoding="utf-8")
        (out / "lineage.patch").write_text(_whole_change(agent, lineage), encoding="utf-8")
    _write_readme(agent, lineage, out)
    manifest = build_manifest(agent, lineage, out, source=source)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if git:
        _git_commit(out, "agentforge export: manifest, lineage, README")
    return out


def build_manifest(agent: ResolvedAgent, lineage: Lineage | None, folder: Path,
                   source: dict[str, str] | None = None) -> dict:
    """The manifest of an agent folder (what agentforge-agent.json holds); `source`: the
    hashes of the agent's own files, to tell what the export added or changed."""
    from agentforge.agent_contract import load_agent_spec

    spec = None
    if agent.contract == AGENTFORGE_CONTRACT and (folder / "agent.toml").is_file():
        spec = load_agent_spec(folder)
    data: dict = {
        "format_version": FORMAT_VERSION, "agentforge_version": __version__,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "contract": agent.contract,
        "agent": {"name": spec.name, "entry": spec.entry} if spec else None,
        "run_id": None, "node_id": None, "external_id": agent.external_id,
        "commit": agent.commit, "ancestors": [], "scores": None, "models": {},
        "seed": {"kind": "folder", "path": str(agent.path)}, "imported_from": None,
        "status": agent.status, "reason": agent.reason,
        "package": None,
    }
    if spec is not None:
        dist, module = install_names(agent, lineage, spec.name)
        data["package"] = {"distribution": dist, "module": module}
    if lineage is not None:
        own = lineage.node
        data.update({
            "run_id": lineage.run_id, "node_id": lineage.node_id,
            "ancestors": [{"node_id": s.node_id, "commit": s.commit, "summary": s.summary,
                           "external_id": s.external_id} for s in lineage.steps[:-1]],
            "summary": own.summary,
            "scores": {
                "validation": {"score": own.validation_score, "tasks": own.validation_tasks,
                               "task_ids": lineage.validation_task_ids},
                "held_out": {"score": own.held_out_score, "tasks": own.held_out_tasks,
                             "task_ids": lineage.held_out_task_ids}},
            "models": lineage.models, "seed": lineage.seed,
            "imported_from": lineage.imported_from})
    data["files"] = file_hashes(folder)
    if source is not None:
        data["added_by_export"] = sorted({*data["files"], MANIFEST} - set(source))
        data["changed_by_export"] = sorted(
            rel for rel, digest in source.items() if data["files"].get(rel) != digest)
    return data


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` (the manifest itself and .git excluded)."""
    hashes = {}
    for path in sorted(_files(folder)):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            # A symlink is hashed as its target text, never followed: an agent's tree could
            # point at a host file (~/.ssh/...) that must not be read into the export.
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            hashes[rel] = hashlib.sha256(data).hexdigest()
    return hashes


def _files(folder: Path):
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in _SKIP and not d.endswith(".egg-info")]
        for name in files:
            if not name.endswith((".pyc", ".pyo")):
                yield Path(root) / name


def _copy_tree(source: Path, dest: Path) -> None:
    for path in _files(source):
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target, follow_symlinks=False)  # links stay links (see above)


def _commit_ancestors(agent: ResolvedAgent, lineage: Lineage, out: Path) -> None:
    """One commit per ancestor, each the full tree of that node, messages from proposals."""
    from agentforge.evolve.rundir import RunDir

    repo = RunDir(Path(agent.run_dir)).open_repo()
    for index, step in enumerate(lineage.steps):
        for child in out.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        with tempfile.TemporaryDirectory(prefix="agentforge-export-") as tmp:
            repo.export(step.commit, Path(tmp) / "tree")
            _copy_tree(Path(tmp) / "tree", out)
        title = ("seed agent" if index == 0 else step.summary or "change (no summary recorded)")
        foreign = f"\n\nforeign id: {step.external_id}" if step.external_id else ""
        _git_commit(out, f"{title}\n\nagentforge node {step.node_id}, "
                         f"commit {step.commit}{foreign}")


def _whole_change(agent: ResolvedAgent, lineage: Lineage) -> str:
    from agentforge.evolve.rundir import RunDir

    repo = RunDir(Path(agent.run_dir)).open_repo()
    root, own = lineage.steps[0].commit, lineage.node.commit
    return repo.repo.git.diff("--binary", root, own) + "\n" if root != own else ""


def _packaging(agent: ResolvedAgent, lineage: Lineage | None, out: Path) -> None:
    """Make an agentforge-contract agent pip-installable under a name of its own."""
    if agent.contract != AGENTFORGE_CONTRACT or not (out / "agent.toml").is_file():
        return
    from agentforge.agent_contract import load_agent_spec

    spec = load_agent_spec(out)
    dist, module = install_names(agent, lineage, spec.name)
    make_installable(out, spec.entry.split(".")[0], dist, module, _description(agent, lineage,
                                                                              spec.description))


def _description(agent: ResolvedAgent, lineage: Lineage | None, own: str | None) -> str:
    """One line for the package index: which node of which run, and what it changed."""
    if lineage is None:
        return own or agent.path.name
    text = f"agentforge agent: node {lineage.node_id} of run {lineage.run_id}"
    if _invalid(agent):
        text = f"INVALID {text} ({agent.status})"
    summary = " ".join((lineage.node.summary or "").split())
    return f"{text}: {summary}"[:300] if summary else text


def _invalid(agent: ResolvedAgent) -> bool:
    """A node its run refused (invalid, failed): exported for inspection, not for use."""
    from agentforge.store.records import NOT_RUNNABLE

    return agent.status in {status.value for status in NOT_RUNNABLE}


def _write_readme(agent: ResolvedAgent, lineage: Lineage | None, out: Path) -> None:
    """README.md: how to run the export; the agent's own README follows it."""
    from agentforge.agent_contract import load_agent_spec

    spec = load_agent_spec(out) if (out / "agent.toml").is_file() else None
    if lineage is not None:
        origin = (f"Node {lineage.node_id} of run `{lineage.run_id}` "
                  f"(validation score {lineage.node.validation_score}, "
                  f"{lineage.node.validation_tasks} tasks).")
    else:
        origin = f"Exported from the folder `{agent.path}`."
    if _invalid(agent):
        origin += (f"\n\n**This node is {agent.status} in its run** ({agent.reason}): it is "
                   "exported for inspection, not for use; expect it to fail.")
    template = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    ).get_template("export_readme.md")
    name = spec.name if spec else f"{agent.contract.upper()} agent {agent.external_id or ''}"
    dist, module = install_names(agent, lineage, spec.name) if spec else ("", "")
    text = template.render(name=name.strip(), origin=origin,
                           contract=agent.contract, folder=str(out),
                           entry=spec.entry if spec else "", dist=dist, module=module)
    readme = out / "README.md"
    if readme.is_file():
        text += "\n---\n\n" + readme.read_text(encoding="utf-8")
    readme.write_text(text, encoding="utf-8")


def _init_git(out: Path) -> None:
    subprocess.run(["git", "init", "-q", str(out)], check=True, capture_output=True)


def _git_commit(out: Path, message: str) -> None:
    env = {**os.environ, **_GIT_ENV}
    subprocess.run(["git", "add", "-A"], cwd=out, check=True, env=env, capture_output=True)
    subprocess.run(["git", "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty",
                    "-m", message], cwd=out, check=True, env=env, capture_output=True)
