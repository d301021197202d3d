"""Agent contracts: how the framework runs an agent that was not necessarily written for it.

    spec = load_agent_spec(folder)            # declared in agent.toml, or detected
    contract = get_contract(spec.contract)    # agentforge | dgm | hgm | command
    contract.command(spec, call)              # the command line of one run (AgentCall)
    contract.model_env(spec, access)          # the variables the agent's model client reads

A contract says how to run the agent on a task (its command line, where it leaves a
trajectory), how to run its own tests, how it reaches the model (the gateway's URL and the
per-sandbox token under the names its client reads, never a real key; the model's name
mapped from the run's role config), and how a self-modification is asked of it (the same
command on a copy of its own source, with the change as the problem, plus the flags the
contract's self-improvement entry takes). Everything else (the sandbox, the baseline commit,
the patch as the repository's diff, the trajectory copy) is the framework's and is the same
for every contract (agentforge.agent_contract).

Which contract: `contract = "..."` in agent.toml declares it; an agent.toml without it is
agentforge's; an export's agentforge-agent.json names the contract it was exported with; a
folder made of DGM's or HGM's agent files (coding_agent.py beside llm_withtools.py) is
`hgm` when coding_agent.py takes `--model`, else `dgm`. Anything else is refused with what
each contract needs.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from agentforge.contracts.spec import AgentCall, AgentError, AgentSpec, ModelAccess

CONTRACTS = {"agentforge": "native:AgentforgeContract", "dgm": "dgm:DgmContract",
             "hgm": "dgm:DgmContract", "command": "command:CommandContract"}
"""Contract name -> MODULE:CLASS in agentforge.contracts (imported when named)."""
MANIFEST_FILE = "agent.toml"
EXPORT_MANIFEST = "agentforge-agent.json"
_DGM_FILES = ("coding_agent.py", "llm_withtools.py")
_MODEL_FLAG = re.compile(r"""add_argument\(\s*["']--model["']""")

NO_CONTRACT_HELP = (
    "agentforge: agent.toml with name, entry (a Python package run as `python -m ENTRY --repo "
    "DIR --problem FILE --out DIR`) and description; dgm / hgm: DGM's or HGM's agent files "
    "(coding_agent.py taking --problem_statement, --git_dir, --base_commit, "
    "--chat_history_file, --outdir, beside llm_withtools.py), e.g. a node of an imported run "
    "or its export; command: agent.toml with contract = \"command\", name and command = "
    "\"PROGRAM ... {problem} {repo} {out}\" (README: Bringing your own agent)")


class AgentContract(Protocol):
    """One way of running an agent (a handful of methods; see the module docstring)."""

    name: str

    def load(self, folder: Path, declared: dict) -> AgentSpec:
        """Read and check the agent directory (`declared`: agent.toml's fields, or {})."""
        ...

    def command(self, spec: AgentSpec, call: AgentCall) -> list[str]:
        """The command line of one run, started in `call.agent_dir`."""
        ...

    def model_env(self, spec: AgentSpec, access: ModelAccess) -> dict[str, str]:
        """The environment variables through which the agent's client reaches the model."""
        ...

    def test_command(self, spec: AgentSpec) -> list[str] | None:
        """The agent's own tests as a command (exit code 0 = passed); None: its pytest suite,
        which the framework runs under its own launcher and guard."""
        ...

    def how_to_run(self, spec: AgentSpec) -> str:
        """The command line in words, for the prompt of a self-modification (keep it working)."""
        ...


def get_contract(name: str) -> AgentContract:
    """The contract of that name; an unknown name lists the valid ones."""
    if name not in CONTRACTS:
        raise AgentError(f"unknown agent contract {name!r}: give one of "
                         f"{', '.join(CONTRACTS)}")
    module, cls = CONTRACTS[name].split(":")
    return getattr(importlib.import_module(f"agentforge.contracts.{module}"), cls)(name)


def detect_contract(folder: Path) -> str:
    """The contract an agent directory declares or is made for; AgentError if none."""
    folder = Path(folder)
    declared = _read_agent_toml(folder)
    if declared is not None:
        return str(declared.get("contract", "agentforge"))
    exported = _exported_contract(folder)
    if exported is not None:
        return exported
    if all((folder / name).is_file() for name in _DGM_FILES):
        source = (folder / "coding_agent.py").read_text(encoding="utf-8", errors="replace")
        return "hgm" if _MODEL_FLAG.search(source) else "dgm"
    if not folder.is_dir():
        raise AgentError(f"{folder} is not a directory: give an agent directory or "
                         "RUN_DIR@NODE (a node id or best)")
    raise AgentError(f"{folder} matches no agent contract (it has no agent.toml and is not "
                     f"made of DGM's or HGM's agent files). What each needs: {NO_CONTRACT_HELP}")


def load_agent_spec(path: Path, contract: str | None = None) -> AgentSpec:
    """Read an agent directory by its contract (`contract`: known from elsewhere, e.g. the
    run an imported node comes from; None: declared or detected)."""
    path = Path(path)
    name = contract or detect_contract(path)
    declared = _read_agent_toml(path) or {}
    try:
        return get_contract(name).load(path.resolve(), declared)
    except ValidationError as exc:
        raise AgentError(f"{path / MANIFEST_FILE} is invalid for the {name} contract: "
                         f"{_first_error(exc)}") from exc


def _read_agent_toml(folder: Path) -> dict | None:
    manifest = folder / MANIFEST_FILE
    if not manifest.is_file():
        return None
    try:
        return tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AgentError(f"{manifest} is not valid TOML: {exc}") from exc


def _exported_contract(folder: Path) -> str | None:
    try:
        manifest = json.loads((folder / EXPORT_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    contract = manifest.get("contract") if isinstance(manifest, dict) else None
    return contract if contract in CONTRACTS else None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "the file"
    return f"{where}: {first.get('msg', exc)}"
