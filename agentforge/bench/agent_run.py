"""Running an agent directory on one task in a sandbox, by the agent contract.

    python -m <entry> --repo <workdir> --problem /task/problem.md --out /task/out

The workspace is committed as a baseline first, so the agent's patch is the diff against
that commit (new files included) whatever the agent does with git itself.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agentforge.bench.images import resolve_task_image
from agentforge.bench.protocol import BenchError
from agentforge.bench.task import Task
from agentforge.sandbox import Sandbox, SandboxConfig

AGENT_DIR = "/agent"
_GIT = "git -c user.name=agentforge -c user.email=agentforge@localhost -c commit.gpgsign=false"
_BASELINE = (
    f"git init -q && {_GIT} add -A && {_GIT} commit -q --allow-empty -m baseline"
    " && git rev-parse HEAD > /task/baseline"
)
_DIFF = (
    f'{_GIT} add -A && git diff --cached --binary "$(cat /task/baseline)" > /task/agent.diff'
)


class ModelGrant(Protocol):
    """A gateway grant (agentforge.llm.gateway.Grant): how a sandbox reaches the model."""

    def apply(self, config: SandboxConfig) -> SandboxConfig: ...

    def start_forwarder(self, sandbox: Sandbox) -> None: ...


@dataclass
class AgentRun:
    """What one agent run left: its patch, how the process ended, where its trajectory is."""

    patch: str
    exit_code: int
    ended: str
    duration: float
    trajectory_dir: Path | None = None
    log_tail: str = field(default="", repr=False)

    @property
    def crashed(self) -> bool:
        return self.exit_code != 0


def agent_entry(agent_dir: Path) -> str:
    """The entry module named by the agent's agent.toml."""
    manifest = Path(agent_dir) / "agent.toml"
    if not manifest.is_file():
        raise BenchError(f"{agent_dir} is not an agent: it has no agent.toml (see archive/base)")
    entry = tomllib.loads(manifest.read_text()).get("entry")
    if not entry:
        raise BenchError(f"{manifest} names no `entry` module; add e.g. entry = \"coding_agent\"")
    return entry


def run_agent(
    task: Task,
    agent_dir: Path,
    *,
    problem: str,
    trajectory_dir: Path,
    env: dict[str, str] | None = None,
    binds: dict[str, str] | None = None,
    timeout: float = 1800.0,
    start_patch: str = "",
    grant: ModelGrant | None = None,
) -> AgentRun:
    """Run the agent on the task's snapshot (plus `start_patch`) and return its patch.

    With a gateway `grant`, the sandbox gets the gateway's socket, the per-sandbox key and
    a loopback forwarder, so the agent reaches the model at OPENAI_BASE_URL and nowhere else.
    """
    entry = agent_entry(agent_dir)
    config = SandboxConfig(
        image=resolve_task_image(task.agent_image or task.image),
        workdir=task.workdir,
        writable_paths=sorted({task.workdir, "/task", AGENT_DIR}),
        env={"HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONPATH": AGENT_DIR, **(env or {})},
        binds=binds or {},
        timeout=timeout,
        labels={"agentforge.role": "agent", "agentforge.task": task.instance_id[:60]},
    )
    if grant is not None:
        config = grant.apply(config)
    start = time.monotonic()
    with Sandbox(config) as box:
        if grant is not None:
            grant.start_forwarder(box)
        box.copy_in(Path(agent_dir), AGENT_DIR)
        if task.repo_dir is not None:
            box.copy_in(task.repo_dir, task.workdir)
        box.write_files("/task", {"problem.md": problem})
        _checked(box.exec(_BASELINE, timeout=120), "committing the baseline")
        if start_patch.strip():
            box.write_files("/task", {"start.diff": start_patch})
            _checked(box.exec("git apply --whitespace=nowarn /task/start.diff", timeout=120),
                     "applying the previous attempt")
        box.exec(["mkdir", "-p", "/task/out"], timeout=30)
        done = box.exec(
            ["python", "-m", entry, "--repo", task.workdir,
             "--problem", "/task/problem.md", "--out", "/task/out"],
            timeout=timeout,
        )
        diffed = box.exec(_DIFF, timeout=120)
        patch = box.read_file("/task/agent.diff").decode(errors="replace") if diffed.ok else ""
        trajectory_dir.mkdir(parents=True, exist_ok=True)
        box.copy_out("/task/out", trajectory_dir)
    ended = done.describe()
    if not diffed.ok:
        ended += f"; no patch: git diff failed ({diffed.output.strip()[-200:]})"
    return AgentRun(
        patch=patch, exit_code=done.exit_code if not done.timed_out else 124, ended=ended,
        duration=time.monotonic() - start, trajectory_dir=trajectory_dir / "out",
        log_tail=done.output[-4000:],
    )


def _checked(result, what: str) -> None:
    if not result.ok:
        raise BenchError(f"{what} in the agent sandbox failed: {result.output.strip()[-500:]}")
