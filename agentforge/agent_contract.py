"""Running an agent directory inside a sandbox by the agent contract (docs/architecture.md).

    agent = load_agent_spec(archive_dir() / "base")
    with Gateway(endpoint, ledger) as gw:
        grant = gw.grant(run_id="r", task_id="t")
        with Sandbox(grant.apply(SandboxConfig())) as box:
            grant.start_forwarder(box)
            box.copy_in(repo_dir, "/workspace")
            run = run_agent(box, agent, "Fix the bug in ...")
    run.patch, run.trajectory, run.stop_reason

The caller owns the sandbox (image, limits, the model's gateway grant, the repository in
it); these functions only install the agent, run it, and read back the patch and trajectory.
An agent's own tests run the way validation runs them (agentforge.evolve.validation.checks).
"""

from __future__ import annotations

import json
import shlex
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentforge.errors import AgentforgeError
from agentforge.safe_git import SAFE_DIFF_FLAGS, safe_git_args
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.images import require_image
from agentforge.trajectory_copy import DEFAULT_MAX_BYTES, copy_trajectory

AGENT_DIR = "/task/agent"
"""Where the agent's code is installed in the sandbox (its working directory)."""
REPO_DIR = "/workspace"
PROBLEM_FILE = "/task/problem.md"
OUT_DIR = "/task/out"
SCRIPTED_SERVER = "/task/lib/scripted.py"
"""Where the scripted model server goes for an agent's own tests (AGENTFORGE_SCRIPTED_SERVER)."""

_GIT = "git -c user.name=agentforge -c user.email=agentforge@localhost -c commit.gpgsign=false"
# A git directory of the framework's own, borrowing the repository's objects: the
# repository's .git/config, hooks and info/ never apply to the framework's git commands.
_FRESH_GIT_DIR = ('g=$(mktemp -d /tmp/agentforge-git.XXXXXX); mkdir -p "$g/objects/info" '
                  '"$g/refs"; echo "ref: refs/heads/main" > "$g/HEAD"; : > "$g/config"; '
                  'echo "$PWD/.git/objects" > "$g/objects/info/alternates"; '
                  'export GIT_DIR="$g" GIT_WORK_TREE="$PWD" GIT_INDEX_FILE="$g/index" '
                  'GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_ATTR_NOSYSTEM=1 '
                  'HOME="$g"')
# Caches that running code or tests leaves behind are not part of an agent's change.
_NOT_PATCH = ":(exclude,glob)**/__pycache__/**", ":(exclude,glob)**/.pytest_cache/**"


class AgentError(AgentforgeError):
    """An agent directory is invalid, or running it could not be set up."""


class AgentSpec(BaseModel):
    """An agent directory and its agent.toml."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    """Short name of the agent."""
    entry: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    """Module run as `python -m <entry>`."""
    description: str = ""
    """One line on what the agent is."""
    path: Path
    """The agent directory on the host."""


@dataclass
class AgentRun:
    """What one agent run left behind."""

    exit_code: int
    timed_out: bool
    duration: float
    patch: str
    """`git diff` of the repository against its state before the run (new files included)."""
    trajectory: dict | None
    """The agent's trajectory.json, or None if it wrote none (or wrote something unreadable)."""
    base_commit: str
    output: str = field(default="", repr=False)
    """The tail of the agent's stdout and stderr."""

    @property
    def stop_reason(self) -> str | None:
        """Why the agent stopped, by its own trajectory."""
        return (self.trajectory or {}).get("stop_reason")


def runtime_sandbox_config(labels: dict[str, str], timeout: float) -> SandboxConfig:
    """A sandbox of the agent-runtime image for an agent working on its own source
    (implementation) or being checked (validation): the repository and /task writable."""
    return SandboxConfig(image=require_image("agent-runtime"), timeout=timeout,
                         writable_paths=[REPO_DIR, "/task"], labels=labels)


def load_agent_spec(path: Path) -> AgentSpec:
    """Read an agent directory's agent.toml."""
    path = Path(path)
    manifest = path / "agent.toml"
    if not manifest.is_file():
        raise AgentError(f"{path} is not an agent directory: it has no agent.toml "
                         "(see archive/base/agent.toml for the fields)")
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        spec = AgentSpec(**data, path=path.resolve())
    except (tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
        raise AgentError(
            f"{manifest} is invalid: {exc}; it needs name, entry, description") from exc
    if not (path / Path(*spec.entry.split("."))).exists():
        raise AgentError(f"{manifest} names entry {spec.entry!r} but {path} has no such package")
    return spec


def install_agent(box: Sandbox, agent: AgentSpec, target: str = AGENT_DIR) -> str:
    """Copy the agent's directory into the sandbox; return where it is."""
    box.copy_in(agent.path, target)
    return target


def prepare_repo(box: Sandbox, repo: str = REPO_DIR) -> str:
    """Make `repo` a git repository with everything committed; return that baseline commit."""
    script = (f"cd {shlex.quote(repo)} && (git rev-parse -q --verify HEAD >/dev/null 2>&1"
              f" || git init -q) && {_GIT} add -A && "
              f"({_GIT} diff --cached --quiet HEAD 2>/dev/null"
              f" || {_GIT} commit -q --allow-empty -m 'agentforge: baseline')"
              " && git rev-parse HEAD")
    done = box.exec(script, timeout=300, workdir="/")
    if not done.ok:
        raise AgentError(f"cannot commit a git baseline of {repo} in sandbox {box.name}: "
                         f"{done.output.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


def stop_processes(box: Sandbox) -> None:
    """Kill every process left running in the sandbox (the agent's `setsid nohup` helpers
    too), so nothing writes to the repository while its patch is taken; SandboxError if
    some would not die."""
    box.kill_processes()


def repo_patch(box: Sandbox, base_commit: str, repo: str = REPO_DIR) -> str:
    """The diff of `repo` against `base_commit`, untracked files included.

    Every process in the sandbox is killed first. git then runs with a git directory of
    the framework's own (the repository's objects borrowed read-only as an alternate), so
    nothing of the agent's git configuration applies: no fsmonitor, hooks, filters,
    external diff or textconv, and standard a/ b/ prefixes.
    """
    stop_processes(box)
    pathspec = " ".join(shlex.quote(p) for p in _NOT_PATCH)
    git = "git " + " ".join(shlex.quote(a) for a in safe_git_args())
    diff_flags = " ".join(SAFE_DIFF_FLAGS)
    script = (f"set -e; cd {shlex.quote(repo)}; {_FRESH_GIT_DIR}; "
              f"{git} read-tree {shlex.quote(base_commit)}; "
              f"{git} add -A -- . {pathspec}; "
              f"{git} diff --cached {diff_flags} {shlex.quote(base_commit)} -- . {pathspec}")
    done = box.exec(script, timeout=300, workdir="/")
    if not done.ok:
        raise AgentError(f"git diff of {repo} failed in sandbox {box.name}: "
                         f"{done.output.strip()[-500:]}")
    return done.stdout


def run_agent(box: Sandbox, agent: AgentSpec, problem: str, *, repo: str = REPO_DIR,
              timeout: float = 1800.0, env: dict[str, str] | None = None,
              args: list[str] | None = None, trajectory_dir: Path | None = None,
              scripted_server: bool = True, task_box: Sandbox | None = None,
              max_trajectory_bytes: int = DEFAULT_MAX_BYTES) -> AgentRun:
    """Run the agent on `problem` in the sandbox's `repo` and collect its patch and trajectory.

    The model must already be reachable: a gateway grant applied to the sandbox's config (and
    its forwarder started), or OPENAI_BASE_URL/OPENAI_API_KEY/AGENTFORGE_MODEL in `env`.
    `args` are extra command-line flags (e.g. ["--strategy", "direct"]); `trajectory_dir`, if
    given, receives a copy of the agent's output folder, cut at `max_trajectory_bytes` (what
    was left out is noted in the copy: agentforge.trajectory_copy). With `scripted_server`, the
    scripted model file is there too (AGENTFORGE_SCRIPTED_SERVER), so an agent working on its
    own source can run its own tests.

    With `task_box`, the repository is `repo` in that other sandbox (SWE-bench: /testbed of
    the instance container): the agent's tools act there through an exec channel
    (agentforge.sandbox.exec_channel, applied to `box`'s config and its forwarder started),
    and the baseline and the patch are taken there.
    """
    env = dict(env or {})
    if "OPENAI_BASE_URL" not in {**box.config.env, **env}:
        raise AgentError("the agent has no model: apply a gateway grant to the sandbox config "
                         "(grant.apply + grant.start_forwarder) or pass OPENAI_BASE_URL in env")
    if task_box is not None and "AGENTFORGE_EXEC_URL" not in {**box.config.env, **env}:
        raise AgentError("the agent cannot reach the task sandbox: apply an ExecChannel of "
                         "task_box to the agent's config (channel.apply + start_forwarder)")
    repo_box = task_box or box
    install_agent(box, agent)
    if scripted_server:
        env.setdefault("AGENTFORGE_SCRIPTED_SERVER", install_scripted_server(box))
    box.write_files("/task", {"problem.md": problem})
    box.exec(["mkdir", "-p", OUT_DIR], timeout=60, workdir="/")
    base = prepare_repo(repo_box, repo)
    command = ["python", "-m", agent.entry, "--repo", repo, "--problem", PROBLEM_FILE,
               "--out", OUT_DIR, *(args or [])]
    started = time.monotonic()
    # `python -m` finds the agent from its working directory; no PYTHONPATH, so that nothing
    # of the agent leaks into the commands it runs in the repository.
    done = box.exec(command, timeout=timeout, workdir=AGENT_DIR, env=env)
    duration = time.monotonic() - started
    if task_box is not None:
        stop_processes(box)  # the agent's leftovers could still drive the exec channel
    patch = repo_patch(repo_box, base, repo)
    if trajectory_dir is not None:
        copy_trajectory(box, OUT_DIR, Path(trajectory_dir), max_trajectory_bytes)
    return AgentRun(exit_code=done.exit_code, timed_out=done.timed_out, duration=duration,
                    patch=patch, trajectory=_read_trajectory(box), base_commit=base,
                    output=done.output[-8000:])


def _read_trajectory(box: Sandbox) -> dict | None:
    try:
        return json.loads(box.read_file(f"{OUT_DIR}/trajectory.json"))
    except (AgentforgeError, ValueError):
        return None


def scripted_server_source() -> Path:
    """The scripted model server file that agents' own tests load."""
    return Path(__file__).resolve().parent / "llm" / "scripted.py"


def install_scripted_server(box: Sandbox) -> str:
    """Copy the scripted model server into the sandbox; return its path there."""
    box.write_files(str(Path(SCRIPTED_SERVER).parent),
                    {Path(SCRIPTED_SERVER).name: scripted_server_source().read_bytes()})
    return SCRIPTED_SERVER
