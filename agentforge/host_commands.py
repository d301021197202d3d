"""Commands this process starts on the host (git, mkfs, mount), out of a terminal's Ctrl-C.

A terminal sends Ctrl-C to its whole foreground process group: to this process, which then
lets the work in flight finish (`evolve`), and to every command that work has started, which
would die midway and fail that work (a patch that "does not apply", a commit "not in the
repository", a sandbox disk that cannot be made). So each command starts in a session of its
own, and with SIGINT blocked in the starting thread: the child inherits that mask, which also
covers the instant before it leaves our group (a vfork child runs with default handlers
before its setsid), and keeps it (it has no terminal to be interrupted from). Signals to this
process still reach it: the kernel hands them to a thread that does not block them.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """SIGINT blocked in this thread (and in any child started meanwhile) within the block."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run(argv: list[str], *, timeout: float | None = None, text: bool = False,
        **popen_args) -> subprocess.CompletedProcess:
    """`subprocess.run(argv, capture_output=True, ...)` out of a terminal's Ctrl-C."""
    with ctrl_c_held():
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=text, start_new_session=True,
                                   **popen_args)
    with process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
