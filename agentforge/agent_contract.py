"""Running an agent directory inside a sandbox by the agent contract (docs/architecture.md).

    agent = load_agent_spec(archive_dir() / "base")      # any contract (agentforge.contracts)
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
import re
import shlex
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# load_agent_spec, AgentSpec and AgentError are read from here by callers: one import for
# running agents, whatever their contract.
from agentforge.contracts import get_contract, load_agent_spec
from agentforge.contracts.spec import AgentCall, AgentError, AgentSpec, ModelAccess
from agentforge.errors import AgentforgeError
from agentforge.safe_git import SAFE_DIFF_FLAGS, safe_git_args
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.files import Upload
from agentforge.sandbox.images import require_image
from agentforge.trajectory_copy import (
    DEFAULT_MAX_BYTES,
    TRAJECTORY,
    copy_trajectory,
    listing_command,
    parse_listing,
)

__all__ = ["AgentError", "AgentRun", "AgentSpec", "load_agent_spec", "run_agent",
           "repo_patch", "prepare_repo", "install_agent"]

AGENT_DIR = "/task/agent"
"""Where the agent's code is installed in the sandbox (its working directory)."""
REPO_DIR = "/workspace"
PROBLEM_FILE = "/task/problem.md"
OUT_DIR = "/task/out"
SCRIPTED_SERVER = "/task/lib/scripted.py"
"""Where the scripted model server goes for an agent's own tests (AGENTFORGE_SCRIPTED_SERVER)."""
START_PATCH = "/task/start.diff"
"""A previous attempt's patch, applied on the baseline before a retry."""

_COMMIT_ID = re.compile(r"[0-9a-f]{40,64}")
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


def install_agent(box: Sandbox, agent: AgentSpec, target: str = AGENT_DIR) -> str:
    """Copy the agent's directory into the sandbox; return where it is."""
    box.copy_in(agent.path, target)
    return target


def prepare_repo(box: Sandbox, repo: str = REPO_DIR, *, start_patch: str | None = None) -> str:
    """Make `repo` a git repository with everything committed; return that baseline commit.

    With `start_patch` (a patch file in the sandbox), it is applied and committed on top in
    the same command; the baseline returned is still the first one, so a diff against it
    holds both attempts.
    """
    commit = (f"{_GIT} add -A && ({_GIT} diff --cached --quiet HEAD 2>/dev/null"
              f" || {_GIT} commit -q --allow-empty -m 'agentforge: baseline')")
    script = (f"cd {shlex.quote(repo)} && (git rev-parse -q --verify HEAD >/dev/null 2>&1"
              f" || git init -q) && {commit} && git rev-parse HEAD")
    if start_patch:
        script += (f" && git apply --whitespace=nowarn {shlex.quote(start_patch)}"
                   f" && {commit.replace('baseline', 'previous attempt')}")
    done = box.exec(script, timeout=300, workdir="/")
    # The first commit id printed is the first baseline (a retry prints nothing after it).
    commits = [word for word in done.stdout.split() if _COMMIT_ID.fullmatch(word)]
    if not done.ok or not commits:
        what = "restore the previous attempt in" if start_patch else "commit a git baseline of"
        raise AgentError(f"cannot {what} {repo} in sandbox {box.name}: "
                         f"{done.output.strip()[-500:]}")
    return commits[0]


def repo_patch(box: Sandbox, base_commit: str, repo: str = REPO_DIR) -> str:
    """The diff of `repo` against `base_commit`, untracked files included (every process in
    the sandbox killed first)."""
    return take_patch(box, base_commit, repo)[0]


def take_patch(box: Sandbox, base_commit: str, repo: str = REPO_DIR, *,
               list_folder: str | None = None, kill_first: bool = True
               ) -> tuple[str, dict[str, int] | None]:
    """The diff of `repo` against `base_commit`, and the files of `list_folder` (path -> size),
    in one command.

    With `kill_first`, every process in the sandbox is killed before (in the same round
    trip, with a warden), so nothing writes while the patch is taken. git runs with a git
    directory of the framework's own (the repository's objects borrowed read-only as an
    alternate), so nothing of the agent's git configuration applies: no fsmonitor, hooks,
    filters, external diff or textconv, and standard a/ b/ prefixes.
    """
    pathspec = " ".join(shlex.quote(p) for p in _NOT_PATCH)
    git = "git " + " ".join(shlex.quote(a) for a in safe_git_args())
    diff_flags = " ".join(SAFE_DIFF_FLAGS)
    # The listing comes first, ended by a token the agent (dead by now) could not know.
    boundary = f"agentforge-listing-end-{uuid.uuid4().hex}"
    listing = (f"{{ {listing_command(list_folder)} 2>/dev/null || true; }}; "
               f"printf '\\n%s\\n' {boundary}; ") if list_folder else ""
    script = (f"set -e; {listing}cd {shlex.quote(repo)}; {_FRESH_GIT_DIR}; "
              f"{git} read-tree {shlex.quote(base_commit)}; "
              f"{git} add -A -- . {pathspec}; "
              f"{git} diff --cached {diff_flags} {shlex.quote(base_commit)} -- . {pathspec}")
    done = box.exec(script, timeout=300, workdir="/", kill_all_before=kill_first)
    if not done.ok:
        raise AgentError(f"git diff of {repo} failed in sandbox {box.name}: "
                         f"{done.output.strip()[-500:]}")
    if not list_folder:
        return done.stdout, None
    files, _, patch = done.stdout.partition(f"\n{boundary}\n")
    return patch, parse_listing(files)


def run_agent(box: Sandbox, agent: AgentSpec, problem: str, *, repo: str = REPO_DIR,
              timeout: float = 1800.0, env: dict[str, str] | None = None,
              args: list[str] | None = None, trajectory_dir: Path | None = None,
              scripted_server: bool = True, task_box: Sandbox | None = None,
              max_trajectory_bytes: int = DEFAULT_MAX_BYTES, start_patch: str = "",
              self_edit: bool = False) -> AgentRun:
    """Run the agent on `problem` in the sandbox's `repo` and collect its patch and trajectory.

    The agent's contract (agentforge.contracts) gives the command line and the names under
    which its client finds the model; the rest is the same for every contract. `self_edit`:
    the repository is the agent's own source (its contract may take a flag for that).

    The model must already be reachable: a gateway grant applied to the sandbox's config (and
    its forwarder started), or OPENAI_BASE_URL/OPENAI_API_KEY/AGENTFORGE_MODEL in `env`.
    `args` are extra command-line flags (e.g. ["--strategy", "direct"]); `trajectory_dir`, if
    given, receives a copy of the agent's output folder, cut at `max_trajectory_bytes` (what
    was left out is noted in the copy: agentforge.trajectory_copy). With `scripted_server`, the
    scripted model file is there too (AGENTFORGE_SCRIPTED_SERVER), so an agent working on its
    own source can run its own tests. `start_patch` (a previous attempt's) is applied and
    committed before the run; the patch returned holds it and the run's changes.

    With `task_box`, the repository is `repo` in that other sandbox (SWE-bench: /testbed of
    the instance container): the agent's tools act there through an exec channel
    (agentforge.sandbox.exec_channel, applied to `box`'s config and its forwarder started),
    and the baseline and the patch are taken there.

    Round trips: one copy of the agent's files, one command for the baseline, the agent (every
    process it left is killed at its end), one command for the patch and the output folder's
    listing, and the copy of that folder.
    """
    env = dict(env or {})
    if "OPENAI_BASE_URL" not in {**box.config.env, **env}:
        raise AgentError("the agent has no model: apply a gateway grant to the sandbox config "
                         "(grant.apply + grant.start_forwarder) or pass OPENAI_BASE_URL in env")
    if task_box is not None and "AGENTFORGE_EXEC_URL" not in {**box.config.env, **env}:
        raise AgentError("the agent cannot reach the task sandbox: apply an ExecChannel of "
                         "task_box to the agent's config (channel.apply + start_forwarder)")
    repo_box = task_box or box
    task_files = Upload().tree(_in_task(AGENT_DIR), agent.path)
    task_files.file(_in_task(PROBLEM_FILE), problem).folder(_in_task(OUT_DIR))
    if scripted_server:
        for name, content in scripted_server_files().items():
            task_files.file(_in_task(str(Path(SCRIPTED_SERVER).parent / name)), content)
        env.setdefault("AGENTFORGE_SCRIPTED_SERVER", SCRIPTED_SERVER)
    if start_patch.strip() and repo_box is box:
        task_files.file(_in_task(START_PATCH), start_patch)
    elif start_patch.strip():
        repo_box.write_files("/task", {_in_task(START_PATCH): start_patch})
    box.put("/task", task_files)
    base = prepare_repo(repo_box, repo, start_patch=START_PATCH if start_patch.strip() else None)
    contract = get_contract(agent.contract)
    access = ModelAccess.from_env({**box.config.env, **env})
    call = AgentCall(agent_dir=AGENT_DIR, repo=repo, problem_file=PROBLEM_FILE, problem=problem,
                     out_dir=OUT_DIR, base_commit=base, model=access.model, timeout=timeout,
                     self_edit=self_edit)
    command = [*contract.command(agent, call), *(args or [])]
    env = {**contract.model_env(agent, access), **env}
    started = time.monotonic()
    # `python -m` finds the agent from its working directory; no PYTHONPATH, so that nothing
    # of the agent leaks into the commands it runs in the repository. Once it ends, every
    # process it left dies: nothing writes to the repository (or drives the exec channel)
    # while the patch is taken.
    done = box.exec(command, timeout=timeout, workdir=AGENT_DIR, env=env, kill_all_after=True)
    duration = time.monotonic() - started
    listed = trajectory_dir is not None and repo_box is box
    patch, listing = take_patch(repo_box, base, repo, list_folder=OUT_DIR if listed else None,
                                kill_first=task_box is not None)
    trajectory = None
    if trajectory_dir is not None:
        copied = copy_trajectory(box, OUT_DIR, Path(trajectory_dir), max_trajectory_bytes,
                                 listing=listing)
        trajectory = _load_json(copied.folder / TRAJECTORY)
    else:
        trajectory = _read_trajectory(box)
    return AgentRun(exit_code=done.exit_code, timed_out=done.timed_out, duration=duration,
                    patch=patch, trajectory=trajectory, base_commit=base,
                    output=done.output[-8000:])


def _in_task(path: str) -> str:
    """A path under /task, relative to it (what an upload into /task names)."""
    return str(Path(path).relative_to("/task"))


def _load_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_trajectory(box: Sandbox) -> dict | None:
    try:
        return json.loads(box.read_file(f"{OUT_DIR}/trajectory.json"))
    except (AgentforgeError, ValueError):
        return None


def scripted_server_source() -> Path:
    """The scripted model server file that agents' own tests load."""
    return Path(__file__).resolve().parent / "llm" / "scripted.py"


def scripted_server_files() -> dict[str, bytes]:
    """The scripted model server and the Responses API translator it loads from beside it,
    by file name (what goes into the sandbox's folder of SCRIPTED_SERVER)."""
    source = scripted_server_source()
    translator = source.with_name("responses_api.py")
    return {source.name: source.read_bytes(), translator.name: translator.read_bytes()}


def install_scripted_server(box: Sandbox) -> str:
    """Copy the scripted model server files into the sandbox; return its path there."""
    box.write_files(str(Path(SCRIPTED_SERVER).parent), scripted_server_files())
    return SCRIPTED_SERVER
