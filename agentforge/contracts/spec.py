"""What every contract shares: an agent directory as read (`AgentSpec`), one run of it as the
framework lays it out in the sandbox (`AgentCall`), the model it reaches (`ModelAccess`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agentforge.errors import AgentforgeError


class AgentError(AgentforgeError):
    """An agent directory is invalid, or running it could not be set up."""


class AgentSpec(BaseModel):
    """An agent directory as its contract reads it (agent.toml, or the files it is made of)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    """Short name of the agent."""
    contract: str = "agentforge"
    """How the framework runs it: agentforge, dgm, hgm or command (contracts/)."""
    entry: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    """The Python module the agent starts from (`python -m` for agentforge's contract, the
    module of coding_agent.py for DGM's and HGM's); validation imports it. None: no module."""
    description: str = ""
    """One line on what the agent is."""
    command: str | None = None
    """The command contract's template: `{problem}`, `{repo}`, `{out}`, `{model}` filled in."""
    tests: str | None = None
    """The command contract's own-test command (exit code 0 = passed); None: pytest."""
    model_env: dict[str, str] = Field(default_factory=dict)
    """The command contract's extra variables for the model: NAME -> base_url, key or model."""
    path: Path
    """The agent directory on the host."""


@dataclass(frozen=True)
class AgentCall:
    """One run of an agent as the framework lays it out in the sandbox."""

    agent_dir: str
    """Where the agent's files are (its working directory)."""
    repo: str
    problem_file: str
    problem: str
    out_dir: str
    """Where it may leave a trajectory and logs (copied out after the run)."""
    base_commit: str
    """The repository's commit before the run (the patch is the diff against it)."""
    model: str
    """The model name the agent is told (the gateway answers with the run's model whatever
    name a request carries)."""
    timeout: float
    self_edit: bool = False
    """The repository is the agent's own source and the problem a change to make to it."""


@dataclass(frozen=True)
class ModelAccess:
    """How a sandbox reaches the model: the gateway's URL inside it, the per-sandbox token
    (never a real key) and the model's name."""

    base_url: str
    key: str
    model: str

    @classmethod
    def from_env(cls, env: dict[str, str]) -> ModelAccess:
        """Read from the variables a gateway grant puts in a sandbox's config."""
        return cls(base_url=env.get("OPENAI_BASE_URL", ""), key=env.get("OPENAI_API_KEY", ""),
                   model=env.get("AGENTFORGE_MODEL", ""))

    def openai_env(self) -> dict[str, str]:
        """The variables the `openai` client (and clients built on it) read."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": self.key,
                "AGENTFORGE_MODEL": self.model}
