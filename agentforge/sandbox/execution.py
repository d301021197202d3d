"""Running one command in a container with a host-enforced deadline and capped output.

The Docker SDK's `exec_run` has no timeout, so we read the exec's multiplexed stream
ourselves with `select` and a deadline. While anything waits we keep draining the stream:
an undrained exec stream blocks the Docker daemon's work on that container.

Ending a timed-out command's tree, in order of preference:
1. The supervisor (`supervise.py`, run by the container's own Python): a child subreaper
   around the command that, at the host's deadline, kills every process below it, including
   ones that left their session and cleared their environment. Nothing new has to start, so
   this works at the PID limit too, and other commands and files are untouched.
2. The killer: a shell script run in the container that SIGKILLs every process carrying the
   command's marker (an environment variable) and every process of their sessions. Used when
   the image has no Python or the supervisor did not end the tree in time.
3. Restarting the container, when the killer cannot start or finish: everything in it dies;
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
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from requests.exceptions import RequestException

from agentforge.sandbox.output import CappedOutput

SUPERVISOR_SCRIPT = (Path(__file__).parent / "supervise.py").read_text()

MARKER_VAR = "AGENTFORGE_EXEC"
TIMEOUT_EXIT_CODE = 124
KILLER_START_TIMEOUT = 3.0
"""Seconds the engine gets to start the killer; longer means the sandbox is saturated."""
KILL_BUDGET = 4.0
"""Seconds from the deadline until the killer must be done, else the container restarts."""
SUPERVISOR_GRACE = 2.0
"""Seconds past the deadline the supervisor gets to end the tree before the killer is sent."""

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


SUPERVISOR_VAR = "AGENTFORGE_SUPERVISOR"
SUPERVISED_ARGV_VAR = "AGENTFORGE_ARGV"
# The supervisor's text and the command travel in its environment (and are removed from it
# before the command starts): `ps` stays readable and `pkill -f` never matches a supervisor.
_SUPERVISOR_BOOT = f"import os;exec(os.environ.pop({SUPERVISOR_VAR!r}))"


def supervised(python: str, cmd: list[str], deadline: float, timeout: float
               ) -> tuple[list[str], dict[str, str]]:
    """The argv and extra environment that run `cmd` under the tree supervisor."""
    argv = [python, "-I", "-S", "-c", _SUPERVISOR_BOOT, repr(deadline), repr(timeout)]
    encoded = " ".join(arg.encode("utf-8", "surrogateescape").hex() for arg in cmd)
    return argv, {SUPERVISOR_VAR: SUPERVISOR_SCRIPT, SUPERVISED_ARGV_VAR: encoded}


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
    supervisor: str | None = None,
) -> ExecOutcome:
    """Run `cmd` (argv, no shell added) until it ends or `timeout` seconds pass.

    `supervisor` is the path of a Python in the container that runs `supervise.py` around
    the command; None runs the command directly (the killer then ends a timed-out tree).
    """
    token = uuid.uuid4().hex[:16]
    start = time.monotonic()
    deadline = start + timeout
    environment = {**env, MARKER_VAR: token}
    argv = cmd
    if supervisor:
        argv, extra = supervised(supervisor, cmd, deadline, timeout)
        environment.update(extra)
    exec_id = api.exec_create(
        container_id, argv, stdout=True, stderr=True, user=user, workdir=workdir,
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
        if supervisor and _ended_by_supervisor(exit_code, deadline):
            exit_code = None
        if exit_code is None and not (supervisor and _supervisor_ended(api, exec_id, reader)):
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


def _ended_by_supervisor(exit_code: int | None, deadline: float) -> bool:
    # The supervisor exits 124 only once the deadline has passed; a command exiting 124 by
    # itself before the deadline is not a timeout.
    return exit_code == TIMEOUT_EXIT_CODE and time.monotonic() >= deadline


def _supervisor_ended(api, exec_id: str, reader: FrameReader) -> bool:
    """Wait for the supervisor to kill a timed-out tree and exit; False if it did not."""
    grace_end = time.monotonic() + SUPERVISOR_GRACE
    if reader.pump(grace_end) and _wait_exit(api, exec_id, grace_end) is not None:
        return True
    log.warning("the supervisor did not end a timed-out command in time; sending the killer")
    return False


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


# Finds a Python 3 in the container and checks that it can become a subreaper. `$0` is the
# supervisor's boot line; the probe prints "ok <interpreter path>".
_SUPERVISOR_PROBE = (
    'for p in python3 python; do if command -v "$p" >/dev/null 2>&1; then'
    ' exec "$p" -I -S -c "$0" --probe; fi; done; exit 127'
)


def find_supervisor(api, container_id: str, user: str) -> str | None:
    """Path of the container's Python able to run the tree supervisor, or None."""
    probe = stream_exec(
        api, container_id, ["/bin/sh", "-c", _SUPERVISOR_PROBE, _SUPERVISOR_BOOT],
        timeout=60, user=user, workdir="/", env={SUPERVISOR_VAR: SUPERVISOR_SCRIPT},
        output_limit=4096,
    ).result
    answer = probe.stdout.strip()
    if probe.ok and answer.startswith("ok /"):
        return answer[3:]
    log.warning("no Python 3 for the tree supervisor in %s (%s): timeouts fall back to the "
                "killer, which misses processes that leave their session and environment",
                container_id[:12], probe.output.strip()[-200:] or probe.describe())
    return None
