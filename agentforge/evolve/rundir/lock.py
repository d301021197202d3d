"""One process per run directory: `DIR/run.lock`, held for as long as a run is open.

The lock is a kernel lock (`flock`) on the file, so it dies with its process, `kill -9`
included: a lock left behind by a dead process is taken over (with a line saying so), and a
reused PID can never keep a run locked. The file also records who holds it (pid, host,
start time), which is what the refusal names. On a filesystem without `flock` (some network
filesystems) the file alone is the lock: its owner counts as alive only while a process with
that pid *and that start time* exists on the same host.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from agentforge.errors import ConfigError

LOCK_NAME = "run.lock"


class RunLocked(ConfigError):
    """Another live process holds the run directory."""


def _process_started(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), or None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _owner(pid: int | None = None) -> dict:
    pid = pid or os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "process_started": _process_started(pid),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _read_owner(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def owner_alive(owner: dict) -> bool:
    """Whether the process a lock file names still runs (same host, pid and start time)."""
    if owner.get("host") != socket.gethostname():
        return True  # another machine's process: we cannot tell, so it counts as alive
    try:
        pid = int(owner.get("pid", 0))
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    started = _process_started(pid)
    return started is not None and started == owner.get("process_started", started)


def _describe(owner: dict) -> str:
    return (f"pid {owner.get('pid', '?')} on {owner.get('host', '?')} "
            f"(since {owner.get('since', '?')})")


def _refusal(run_dir: Path, owner: dict) -> RunLocked:
    return RunLocked(
        f"{run_dir} is in use by agentforge {_describe(owner)}: two processes on one run would "
        f"do its work twice. Wait for it to end, or stop it with kill -INT {owner.get('pid')} "
        f"(Ctrl-C in its terminal), then run the command again")


def release_run_lock(run_dir: Path) -> None:
    """Clear this process's entry in DIR/run.lock before it leaves without unwinding."""
    path = Path(run_dir) / LOCK_NAME
    if _read_owner(path).get("pid") == os.getpid():
        path.write_text("")


@contextlib.contextmanager
def hold_run_lock(run_dir: Path, say: Callable[[str], None] = print) -> Iterator[dict]:
    """Hold DIR/run.lock for the block; refuse (RunLocked) while another live process has it."""
    run_dir = Path(run_dir)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refusal(run_dir, _read_owner(path)) from None
        except OSError:  # no flock here (ENOLCK, EOPNOTSUPP): the file's owner decides
            previous = _read_owner(path)
            if previous and previous.get("pid") != os.getpid() and owner_alive(previous):
                raise _refusal(run_dir, previous) from None
        else:
            previous = _read_owner(path)
        if previous.get("pid") not in (None, os.getpid()):
            say(f"taking over the lock of {run_dir} left by {_describe(previous)}: "
                "that process is gone")
        mine = _owner()
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(mine).encode(), 0)
        try:
            yield mine
        finally:
            # Emptied, not deleted: deleting would let a waiting process lock a file that a
            # third process then recreates, and two would hold "the" lock.
            if _read_owner(path).get("pid") == os.getpid():
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)
