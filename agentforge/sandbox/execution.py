"""Running one command by `docker exec`, for sandboxes without a warden (warden.py).

A sandbox whose image has a Python 3.5+ runs every command through its warden
(warden_link.py). Without one (no Python, or `SandboxConfig.warden` off), a command is a
`docker exec`: the Docker SDK's `exec_run` has no timeout, so we read the exec's multiplexed
stream ourselves with `select` and a deadline. While anything waits we keep draining the
stream: an undrained exec stream blocks the Docker daemon's work on that container.

Ending a timed-out command's tree, in order of preference:
1. The killer: a shell script run in the container that SIGKILLs every process carrying the
   command's marker (an environment variable) and every process of their sessions. It misses
   processes that left the session and cleared their environment (`setsid env -i ...`).
2. Restarting the container, when the killer cannot start or finish: everything in it dies;
   the workspace volumes survive, /tmp and background daemons do not.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import select
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field

import docker
from docker.errors import APIError, NotFound
from requests.exceptions import RequestException

from agentforge.sandbox.output import CappedOutput

MARKER_VAR = "AGENTFORGE_EXEC"
TIMEOUT_EXIT_CODE = 124
KILLER_START_TIMEOUT = 3.0
"""Seconds the engine gets to start the killer; longer means the sandbox is saturated."""
KILL_BUDGET = 4.0
"""Seconds from the deadline until the killer must be done, else the container restarts."""

log = logging.getLogger(__name__)

# Uses shell builtins for everything but the environ check so that it keeps working in a
# nearly full sandbox. Exits 0 once a pass finds nothing alive, 1 if the tree would not die.
_KILLER = r"""
t="$1"; sids=" "; pass=0
while [ "$pass" -lt 40 ]; do
  pass=$((pass + 1)); live=0
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    read -r stat 2>/dev/null < "$p/stat" || continue
    set -- ${stat##*) }
    [ "$1" = Z ] && continue
    if grep -qz "^AGENTFORGE_EXEC=$t\$" "$p/environ" 2>/dev/null; then
      case "$sids" in *" $4 "*) ;; *) sids="$sids$4 " ;; esac
    else
      case "$sids" in *" $4 "*) ;; *) continue ;; esac
    fi
    kill -9 "$pid" 2>/dev/null && live=1
  done
  [ "$live" = 0 ] && exit 0
  sleep 0.05 2>/dev/null
done
exit 1
"""


@dataclass
class ExecResult:
    """What one command did: exit code, output (head and tail kept), and why it ended."""

    exit_code: int
    output: str
    duration: float
    timed_out: bool = False
    oom_killed: bool = False
    output_bytes: int = 0
    output_truncated: bool = False
    stdout: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """One line saying how the command ended, for logs and error messages."""
        if self.timed_out:
            return f"timed out after {self.duration:.1f}s"
        if self.oom_killed:
            return "killed: out of memory (the sandbox's memory limit was reached)"
        return f"exit code {self.exit_code}"


@dataclass
class ExecOutcome:
    """An ExecResult plus what the host had to do to end the command."""

    result: ExecResult
    token: str
    restarted: bool = False
    """True when the killer failed and the container was restarted to end the command."""


class FrameReader:
    """Splits docker's multiplexed exec stream (8-byte headers) into stdout/stderr bytes.

    Keeps its parsing state between reads, so reading can stop at a deadline mid-frame and
    resume later.
    """

    def __init__(self, raw: socket.socket, combined: CappedOutput, stdout: CappedOutput) -> None:
        self.raw = raw
        self.combined = combined
        self.stdout = stdout
        self.header = b""
        self.remaining = 0
        self.stream_id = 1
        self.eof = False

    def pump(self, deadline: float) -> bool:
        """Read until EOF (True) or until `deadline` passes (False)."""
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.raw], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = self.raw.recv(262144)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                break
            self._feed(memoryview(chunk))
        return True

    def _feed(self, view: memoryview) -> None:
        while view:
            if self.remaining == 0:
                need = 8 - len(self.header)
                self.header += bytes(view[:need])
                view = view[need:]
                if len(self.header) < 8:
                    return
                self.stream_id, self.remaining = struct.unpack(">BxxxL", self.header)
                self.header = b""
                continue
            piece = view[: self.remaining]
            view = view[self.remaining :]
            self.remaining -= len(piece)
            data = bytes(piece)
            self.combined.write(data)
            if self.stream_id == 1:
                self.stdout.write(data)


def _raw_socket(sock) -> socket.socket:
    return getattr(sock, "_sock", sock)


def stream_exec(
    api,
    container_id: str,
    cmd: list[str],
    *,
    timeout: float,
    user: str,
    workdir: str | None,
    env: dict[str, str],
    output_limit: int,
) -> ExecOutcome:
    """Run `cmd` (argv, no shell added) until it ends or `timeout` seconds pass."""
    token = uuid.uuid4().hex[:16]
    start = time.monotonic()
    deadline = start + timeout
    environment = {**env, MARKER_VAR: token}
    exec_id = api.exec_create(
        container_id, cmd, stdout=True, stderr=True, user=user, workdir=workdir,
        environment=environment,
    )["Id"]
    sock = api.exec_start(exec_id, socket=True)
    reader = FrameReader(_raw_socket(sock), CappedOutput(output_limit), CappedOutput(output_limit))
    restarted = False
    exit_code: int | None = None
    try:
        if reader.pump(deadline):
            # The stream can close before the command ends (it may close its stdout), so
            # the deadline holds until the engine says the process has exited.
            # The engine records an exit a moment after the stream closes: allow for that.
            exit_code = _wait_exit(api, exec_id, max(deadline, time.monotonic() + 0.5))
        if exit_code is None:
            restarted = not kill_tree(api, container_id, token, user, reader)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    duration = time.monotonic() - start
    timed_out = exit_code is None
    if exit_code is None:
        exit_code = TIMEOUT_EXIT_CODE
    combined = reader.combined
    result = ExecResult(
        exit_code=exit_code,
        output=combined.text(),
        duration=duration,
        timed_out=timed_out,
        output_bytes=combined.total,
        output_truncated=combined.omitted > 0,
        stdout=reader.stdout.text(),
    )
    return ExecOutcome(result, token, restarted)


def _wait_exit(api, exec_id: str, deadline: float) -> int | None:
    """The exec's exit code once the engine records it, or None if `deadline` passes first."""
    pause = 0.002
    while True:
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 2, 0.1)


@functools.cache
def _impatient_api() -> docker.APIClient:
    # A separate client with a short timeout: starting a process in a saturated sandbox can
    # hang for many seconds, and we would rather restart the container than wait.
    return docker.from_env(timeout=KILLER_START_TIMEOUT).api


def kill_tree(api, container_id: str, token: str, user: str, reader: FrameReader) -> bool:
    """Kill the process tree of the command marked `token`; True if the killer managed it.

    When it did not, the container is restarted (which ends every process in it) and False
    is returned.
    """
    budget_end = time.monotonic() + KILL_BUDGET
    killer_id = _start_killer(container_id, token, user)
    while killer_id is not None and time.monotonic() < budget_end:
        if reader.pump(time.monotonic() + 0.1):
            time.sleep(0.05)  # the stream is closed: nothing to drain, just wait for the killer
        try:
            state = api.exec_inspect(killer_id)
        except APIError:
            break
        if not state.get("Running") and state.get("ExitCode") is not None:
            if state["ExitCode"] == 0:
                reader.pump(time.monotonic() + 1.0)
                return True
            break
    log.warning("killer could not end a timed-out command in %s; restarting it", container_id)
    try:
        api.restart(container_id, timeout=0)
    except NotFound:
        return False
    reader.pump(time.monotonic() + 2.0)
    return False


def _start_killer(container_id: str, token: str, user: str) -> str | None:
    api = _impatient_api()
    try:
        killer_id = api.exec_create(
            container_id, ["/bin/sh", "-c", _KILLER, "killer", token], user=user, workdir="/",
        )["Id"]
        api.exec_start(killer_id, detach=True)
    except (APIError, RequestException):
        return None
    return killer_id


# -- scripts of the docker-exec path ---------------------------------------------------------

# SIGKILL to every process but the container's own and this script's. docker-init and the
# keepalive are told apart by session, never by pid order: they are the only processes in
# session 1 (every exec starts a session of its own, and no process can move into a session
# it was not born in), whereas pids tell nothing: under load docker-init forks the keepalive
# after the first commands (a forwarder) have started, so a helper can hold the smaller pid.
# The script's own shell and its ancestors are spared too.
# Shell builtins only, but for `sleep` between passes, so that it works at the PID limit.
# Exits 0 once a pass finds nothing left to kill; else prints the survivors and exits 1.
KILL_ALL_SCRIPT = r"""
spare=" $$ "; a=$$
while [ "$a" -gt 1 ] 2>/dev/null; do
  read -r stat 2>/dev/null < "/proc/$a/stat" || break
  set -- ${stat##*) }
  a=$2; spare="$spare$a "
done
pass=0
while [ "$pass" -lt 300 ]; do
  pass=$((pass + 1)); live=""
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    case "$spare" in *" $pid "*) continue ;; esac
    read -r stat 2>/dev/null < "$p/stat" || continue
    set -- ${stat##*) }
    [ "$4" = 1 ] && continue
    [ "$1" = Z ] && continue
    kill -KILL "$pid" 2>/dev/null && live="$live $pid"
  done
  [ -z "$live" ] && exit 0
  sleep 0.05 2>/dev/null
done
echo "still alive:$live"
exit 1
"""
# Prints the cgroup's count of OOM kills (cgroup v2, then v1) with shell builtins only.
OOM_PROBE_SCRIPT = (
    "for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do"
    " [ -r \"$f\" ] && while read -r k v; do [ \"$k\" = oom_kill ] && { echo \"$v\"; exit 0; };"
    " done < \"$f\"; done; echo 0"
)
def oom_kills(api, container_id: str, user: str) -> int:
    """The container's count of OOM kills so far (0 if it cannot be read)."""
    probe = stream_exec(api, container_id, ["/bin/sh", "-c", OOM_PROBE_SCRIPT], timeout=10,
                        user=user, workdir="/", env={}, output_limit=4096).result
    try:
        return int(probe.stdout.strip() or 0)
    except ValueError:
        return 0


# Polls a loopback port until something accepts (a helper daemon has started), or gives up.
PORT_WAIT_SCRIPT = """
import socket, sys, time
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError as exc:
        if time.monotonic() > deadline:
            print(exc)
            sys.exit(1)
        time.sleep(0.05)
"""
