"""Running one command in a container with a host-enforced deadline and capped output.

The Docker SDK's `exec_run` has no timeout, so we read the exec's multiplexed stream
ourselves with `select` and a deadline. Each command carries a marker in its environment;
on timeout a killer command removes every process that inherited the marker, plus the
command's process group, so a timed-out tree does not linger in the sandbox.
"""

from __future__ import annotations

import select
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field

from agentforge.sandbox.output import CappedOutput

MARKER_VAR = "AGENTFORGE_EXEC"
TIMEOUT_EXIT_CODE = 124

# Kills every process whose environment carries the marker, and the command's process
# group; repeated because a forking tree can spawn between two passes.
_KILLER = r"""
t="$1"; pidfile="/tmp/.agentforge-exec-$t"
for pass in 1 2 3 4 5; do
  found=0
  if [ -f "$pidfile" ]; then kill -9 -- "-$(cat "$pidfile")" 2>/dev/null && found=1; fi
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    if grep -qz "^AGENTFORGE_EXEC=$t\$" "$p/environ" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; found=1; fi
  done
  [ "$found" = 0 ] && break
done
rm -f "$pidfile"
"""

# Records the command's pid (it becomes its own process group leader through setsid when
# available) and then replaces itself with the command.
_LAUNCHER = 'echo $$ > "/tmp/.agentforge-exec-$AGENTFORGE_EXEC"; exec "$@"'


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
) -> tuple[ExecResult, str]:
    """Run `cmd` and return its result plus the marker token used (for the caller's killer)."""
    token = uuid.uuid4().hex[:16]
    env = {**env, MARKER_VAR: token}
    wrapped = ["/bin/sh", "-c", _LAUNCHER, "sh", *cmd]
    exec_id = api.exec_create(
        container_id, wrapped, stdout=True, stderr=True, user=user, workdir=workdir,
        environment=env,
    )["Id"]
    start = time.monotonic()
    deadline = start + timeout
    sock = api.exec_start(exec_id, socket=True)
    raw = _raw_socket(sock)
    combined = CappedOutput(output_limit)
    stdout = CappedOutput(output_limit)
    timed_out = False
    try:
        timed_out = not _pump(raw, deadline, combined, stdout)
    finally:
        if timed_out:
            kill_marked(api, container_id, token)
            # Give the stream a moment to close once the tree is gone, then stop reading.
            _pump(raw, time.monotonic() + 3, combined, stdout)
        try:
            sock.close()
        except OSError:
            pass
    duration = time.monotonic() - start
    exit_code = _exit_code(api, exec_id)
    if timed_out:
        exit_code = TIMEOUT_EXIT_CODE
    result = ExecResult(
        exit_code=exit_code,
        output=combined.text(),
        duration=duration,
        timed_out=timed_out,
        output_bytes=combined.total,
        output_truncated=combined.omitted > 0,
        stdout=stdout.text(),
    )
    return result, token


def _pump(raw: socket.socket, deadline: float, combined: CappedOutput, stdout: CappedOutput) -> bool:
    """Read docker's multiplexed frames until EOF (True) or the deadline (False)."""
    header = b""
    remaining = 0
    stream_id = 1
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([raw], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            chunk = raw.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return True
        if not chunk:
            return True
        view = memoryview(chunk)
        while view:
            if remaining == 0:
                need = 8 - len(header)
                header += bytes(view[:need])
                view = view[need:]
                if len(header) < 8:
                    break
                stream_id, remaining = struct.unpack(">BxxxL", header)
                header = b""
                continue
            piece = bytes(view[:remaining])
            view = view[remaining:]
            remaining -= len(piece)
            combined.write(piece)
            if stream_id == 1:
                stdout.write(piece)


def _exit_code(api, exec_id: str) -> int:
    for _ in range(50):
        info = api.exec_inspect(exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        time.sleep(0.05)
    return -1


def kill_marked(api, container_id: str, token: str) -> bool:
    """Kill every process carrying the marker `token`; False if the killer could not run."""
    try:
        exec_id = api.exec_create(
            container_id, ["/bin/sh", "-c", _KILLER, "killer", token], user="", stdout=True,
            stderr=True,
        )["Id"]
        api.exec_start(exec_id)
        return api.exec_inspect(exec_id).get("ExitCode") == 0
    except Exception:  # noqa: BLE001 - the caller falls back to stopping the container
        return False
