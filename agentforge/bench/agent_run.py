"""Running an agent directory on one task in a sandbox, by the agent contract.

The sandbox (image, limits, the gateway grant, the task's snapshot) is set up here; the
contract itself (install, baseline commit, `python -m <entry> --repo --problem --out`, diff,
trajectory) is agentforge.agent_contract's. For a retry (pass@2) the previous attempt's patch
is applied on top of a first baseline, so the returned patch holds both attempts.

A task whose repo lives in its image (`agent_image` set, no `repo_dir`: SWE-bench) runs in
two sandboxes: the agent in `agent_image`, its tools acting in a container of `image`
through an exec channel (agentforge.sandbox.exec_channel); the patch is taken there.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agentforge import agent_contract
from agentforge.bench.images import resolve_task_image
from agentforge.bench.protocol import BenchError
from agentforge.bench.task import Task
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.exec_channel import ExecChannel

# An agent that calls no model still gets the contract's variables; this URL leads nowhere
# (there is no network in the sandbox and nothing listens on port 9).
NO_MODEL_ENV = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "no-model",
                "AGENTFORGE_MODEL": "none"}


class ModelGrant(Protocol):
    """A gateway grant (agentforge.llm.gateway.Grant): how a sandbox reaches the model."""

    def apply(self, config: SandboxConfig) -> SandboxConfig: ...

    def start_forwarder(self, sandbox: Sandbox) -> None: ...

    def revoke(self) -> None:
        """End the grant: its key is refused and its socket closed from now on."""
        ...


@dataclass
class TaskAttempt:
    """What one agent run left: its patch, how the process ended, where its trajectory is."""

    patch: str
    exit_code: int
    ended: str
    duration: float
    trajectory_dir: Path | None = None
    log_tail: str = field(default="", repr=False)

    @property
    def exited_cleanly(self) -> bool:
        """The agent's process ended by itself with exit code 0 (not a crash, not a timeout)."""
        return self.exit_code == 0


def run_agent_on_task(
    task: Task,
    agent_dir: Path,
    *,
    problem: str,
    trajectory_dir: Path,
    timeout: float = 1800.0,
    start_patch: str = "",
    grant: ModelGrant | None = None,
    max_trajectory_bytes: int = agent_contract.DEFAULT_MAX_BYTES,
) -> TaskAttempt:
    """Run the agent on the task's snapshot (plus `start_patch`) and return its patch.

    With a gateway `grant`, the sandbox gets the gateway's socket, the per-sandbox key and
    a loopback forwarder, so the agent reaches the model at OPENAI_BASE_URL and nowhere else.
    """
    agent = agent_contract.load_agent_spec(Path(agent_dir))
    # In its own image the agent works in /workspace (made for uid 1000); paths in the
    # patch are relative to the repo, so grading may place it elsewhere (SWE-bench: /testbed).
    # When the repo lives in the task's image instead (no snapshot), it stays there and the
    # agent's tools act on it through an exec channel.
    remote = task.agent_image is not None and task.repo_dir is None
    agent_workdir = agent_contract.REPO_DIR if task.agent_image else task.workdir
    workdir = task.workdir if remote else agent_workdir
    config = SandboxConfig(
        image=resolve_task_image(task.agent_image or task.image),
        workdir=agent_workdir,
        writable_paths=sorted({agent_workdir, "/task"}),
        timeout=timeout,
        labels={"agentforge.role": "agent", "agentforge.task": task.instance_id[:60]},
    )
    env = {}
    if grant is not None:
        config = grant.apply(config)
    else:
        env = dict(NO_MODEL_ENV)
    start = time.monotonic()
    with contextlib.ExitStack() as stack:
        task_box = channel = None
        if remote:
            task_box = stack.enter_context(Sandbox(task_sandbox_config(task, timeout)))
            channel = stack.enter_context(
                ExecChannel(task_box, prelude=task.metadata.get("exec_prelude", "")))
            config = channel.apply(config)
        box = stack.enter_context(Sandbox(config))
        if grant is not None:
            grant.start_forwarder(box)
        if channel is not None:
            channel.start_forwarder(box)
        repo_box = task_box or box
        if task.repo_dir is not None:
            box.copy_in(task.repo_dir, workdir)
        first_base = agent_contract.prepare_repo(repo_box, workdir)
        if start_patch.strip():
            repo_box.write_files("/task", {"start.diff": start_patch})
            applied = repo_box.exec("git apply --whitespace=nowarn /task/start.diff",
                                    timeout=120, workdir=workdir)
            if not applied.ok:
                raise BenchError(f"cannot restore the previous attempt: {applied.output[-300:]}")
        trajectory_dir.mkdir(parents=True, exist_ok=True)
        run = agent_contract.run_agent(box, agent, problem, repo=workdir, timeout=timeout,
                                     env=env, trajectory_dir=trajectory_dir, task_box=task_box,
                                     max_trajectory_bytes=max_trajectory_bytes)
        patch = (agent_contract.repo_patch(repo_box, first_base, workdir)
                 if start_patch.strip() else run.patch)
    ended = (f"timed out after {run.duration:.0f}s" if run.timed_out
             else f"exit code {run.exit_code}")
    return TaskAttempt(
        patch=patch, exit_code=124 if run.timed_out else run.exit_code, ended=ended,
        duration=time.monotonic() - start, trajectory_dir=trajectory_dir / "out",
        log_tail=run.output[-4000:],
    )


def task_sandbox_config(task: Task, timeout: float) -> SandboxConfig:
    """The container the agent's tools act in when the repo lives in the task's image."""
    # Instance images (SWE-bench) keep their repo root-owned and run as root; with every
    # capability dropped, root can write only what root owns, here the copy of the repo in
    # a private volume (Docker copies the image's files into a new anonymous volume). The
    # rest of the root filesystem stays read-only; no network, as everywhere.
    return SandboxConfig(
        image=resolve_task_image(task.image), user="0:0", workdir=task.workdir,
        writable_paths=sorted({task.workdir, "/task"}), memory="4g", cpus=1.0,
        pids_limit=2048, timeout=timeout,
        labels={"agentforge.role": "task", "agentforge.task": task.instance_id[:60]},
    )
