"""`agentforge`: the framework's own contract (docs/architecture.md, "The agent contract").

    agent.toml   name, entry (a package), description
    python -m ENTRY --repo REPO --problem FILE --out OUT     in the agent's folder
    OUT/trajectory.json (optional, read back), OPENAI_BASE_URL / OPENAI_API_KEY / AGENTFORGE_MODEL
    own tests: its pytest suite
"""

from __future__ import annotations

from pathlib import Path

from agentforge.contracts.spec import AgentCall, AgentError, AgentSpec, ModelAccess


class AgentforgeContract:
    """Agents written for agentforge (archive/base and its descendants)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self, folder: Path, declared: dict) -> AgentSpec:
        manifest = folder / "agent.toml"
        if not declared:
            raise AgentError(f"{folder} is not an agent directory: it has no agent.toml "
                             "(see archive/base/agent.toml for the fields)")
        if "entry" not in declared or "name" not in declared:
            raise AgentError(f"{manifest} is invalid: it needs name, entry, description")
        spec = AgentSpec(**declared, path=folder)
        if not (folder / Path(*spec.entry.split("."))).exists():
            raise AgentError(f"{manifest} names entry {spec.entry!r} but {folder} has no such "
                             "package")
        return spec

    def command(self, spec: AgentSpec, call: AgentCall) -> list[str]:
        return ["python", "-m", spec.entry, "--repo", call.repo, "--problem", call.problem_file,
                "--out", call.out_dir]

    def model_env(self, spec: AgentSpec, access: ModelAccess) -> dict[str, str]:
        return access.openai_env()

    def test_command(self, spec: AgentSpec) -> list[str] | None:
        return None

    def how_to_run(self, spec: AgentSpec) -> str:
        return f"python -m {spec.entry} --repo DIR --problem FILE --out DIR"

