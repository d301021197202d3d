"""Making an exported agent pip-installable under a name of its own.

Every agent of a run imports itself as the same package (`coding_agent`), so the export
installs it inside a package named after its run and node:

    DIR/<module>/__main__.py    python -m <module> (or the <dist> command) runs the agent
    DIR/coding_agent/...        the agent, installed as <module>/coding_agent
    DIR/pyproject.toml          the agent's own, renamed <dist>, with the install layout

`<dist>` is `<run id>-node-<id>` (a folder's export: `<agent name>-agent`), `<module>` the
same with underscores: two exports install side by side in one environment, each running
its own code. A MANIFEST.in carries the data files (config.toml, prompts) and a setup.py
shim serves pips without `wheel`.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from agentforge.agents.lineage import Lineage
from agentforge.evolve.rundir.agent_ref import ResolvedAgent

_LAUNCHER = '''"""Runs the agent exported as {dist} by agentforge's agent contract:
python -m {module} --repo R --problem P --out O (see README.md)."""

import runpy
import sys
from pathlib import Path


def main() -> None:
    """The agent's own `python -m {package}`, with this export's copy of {package}."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("{package}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
'''


def install_names(agent: ResolvedAgent, lineage: Lineage | None, agent_name: str) -> tuple[str,
                                                                                           str]:
    """(distribution, module) of an export: after its run and node, else the agent's name."""
    raw = (f"{lineage.run_id}-node-{lineage.node_id}" if lineage is not None
           else f"{agent_name}-agent")
    dist = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-") or "agent"
    module = dist.replace("-", "_")
    return dist, module if module[0].isalpha() else f"agent_{module}"


def make_installable(out: Path, package: str, dist: str, module: str, description: str) -> None:
    """Write the launcher package, pyproject.toml (the agent's own, renamed), MANIFEST.in
    and the setup.py shim into the export `out`."""
    launcher = out / module
    launcher.mkdir(exist_ok=True)
    (launcher / "__init__.py").write_text(f'"""The agent exported as {dist}."""\n',
                                          encoding="utf-8")
    (launcher / "__main__.py").write_text(
        _LAUNCHER.format(dist=dist, module=module, package=package), encoding="utf-8")
    pyproject = out / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text(encoding="utf-8")) if pyproject.is_file() else {}
    project = data.setdefault("project", {})
    project.update(name=dist, description=description)
    project.setdefault("version", "0.1.0")
    project.setdefault("requires-python", ">=3.11")
    project["scripts"] = {dist: f"{module}.__main__:main"}
    subpackages = sorted(".".join(p.relative_to(out).parts) for p in (out / package).rglob("*")
                         if p.is_dir() and p.name != "__pycache__")
    data.setdefault("tool", {})["setuptools"] = {
        "packages": [module, f"{module}.{package}",
                     *(f"{module}.{name}" for name in subpackages)],
        "package-dir": {f"{module}.{package}": package},
    }
    pyproject.write_text(to_toml(data), encoding="utf-8")
    # A shim so that toolchains without `wheel` (pip's legacy path) can install it too.
    (out / "setup.py").write_text("from setuptools import setup\n\nsetup()\n", encoding="utf-8")
    # Data files (config.toml, prompt templates) are part of the agent: install them.
    (out / "MANIFEST.in").write_text(f"graft {package}\ngraft {module}\n"
                                     "global-exclude *.py[cod] __pycache__\n", encoding="utf-8")


def to_toml(data: dict, prefix: str = "") -> str:
    """TOML for what a pyproject.toml holds: tables of strings, numbers, booleans, lists."""
    plain = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    lines = [f"{_key(k)} = {_value(v)}" for k, v in plain]
    text = "\n".join(lines) + ("\n" if lines else "")
    for key, table in tables:
        name = f"{prefix}.{_key(key)}" if prefix else _key(key)
        inner = to_toml(table, name)
        has_plain = any(not isinstance(v, dict) for v in table.values())
        text += ("\n" if text else "") + (f"[{name}]\n" if has_plain or not table else "") + inner
    return text


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
