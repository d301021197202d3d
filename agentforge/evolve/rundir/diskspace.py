"""The run directory's filesystem filling up: seen early, and told apart from a task's failure.

A full disk is our side's fault, never the agent's: an evaluation that hit it must not be
recorded as an unresolved task, nor a self-improvement step as a failed child. So every
step re-raises it (`raise_if_host_disk_full`), the loop turns it into `HostDiskFull`, and the
run stops with an error that says which filesystem is full. SQLite rolls back the write that
did not fit, so the archive stays as it was; `--resume` continues once space is freed.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from agentforge.errors import AgentforgeError, ConfigError

MIN_FREE_ENV = "AGENTFORGE_MIN_FREE_MB"
"""Overrides the reserve below which a run stops (MiB; 0 turns the early stop off)."""
MIN_FREE_BYTES = 64 * 1024 * 1024
"""Below this much free space the run stops before a write fails half-way."""
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# How the errors of SQLite (SQLITE_FULL) and of git's subprocesses spell it.
_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded")


class HostDiskFull(AgentforgeError):
    """The filesystem of the run directory is full."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, is a full disk or quota."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HostDiskFull):
            return True
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if any(text in str(current).lower() for text in _FULL_TEXTS):
            return True
        current = current.__cause__ or current.__context__
    return False


def raise_if_host_disk_full(exc: BaseException) -> None:
    """Re-raise `exc` if it is a full disk (a step must not record it as the agent's failure)."""
    if is_disk_full(exc):
        raise exc


def raise_run_stop_if_disk_full(exc: BaseException, run_dir: Path) -> None:
    """Turn a step's full-disk failure into HostDiskFull, which stops the run."""
    if is_disk_full(exc):
        raise HostDiskFull(disk_full_message(run_dir)) from exc


def free_bytes(path: Path) -> int:
    """Free bytes (for an unprivileged user) on the filesystem holding `path`."""
    return shutil.disk_usage(path).free


def min_free_bytes() -> int:
    """The reserve: AGENTFORGE_MIN_FREE_MB if set, else MIN_FREE_BYTES."""
    value = os.environ.get(MIN_FREE_ENV, "").strip()
    try:
        return int(float(value) * 2**20) if value else MIN_FREE_BYTES
    except ValueError:
        raise ConfigError(f"{MIN_FREE_ENV}={value!r} is not a number of MiB "
                          "(e.g. 64, or 0 to turn the early stop off)") from None


def check_free_space(run_dir: Path) -> None:
    """Raise HostDiskFull when the run directory's filesystem has less than the reserve free."""
    free = free_bytes(run_dir)
    if free < min_free_bytes():
        raise HostDiskFull(disk_full_message(run_dir, free))


def disk_full_message(run_dir: Path, free: int | None = None) -> str:
    """What the user reads: which filesystem, how much is left, and how to go on."""
    try:
        free = free_bytes(run_dir) if free is None else free
        left = f"{free / 2**20:.0f} MiB free"
    except OSError:
        left = "free space unknown"
    return (f"the filesystem of the run directory {run_dir} is full ({left}; the run keeps "
            f"a reserve of {min_free_bytes() // 2**20} MiB, {MIN_FREE_ENV}): the run stopped "
            f"and its archive is intact. Free space there, then continue with "
            f"agentforge evolve --resume {run_dir}")
