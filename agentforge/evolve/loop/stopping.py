"""Stopping a run: Ctrl-C or SIGTERM once drains, twice aborts; an abort ends the process now.

    first signal   no new work starts; work in flight finishes and is recorded
    second signal  `RunAborted` on the main thread: the caller marks the run aborted and
                   calls `exit_now`, which ends the process without letting work in flight
                   write anything (a resume re-runs it) and removes its sandboxes

An abort cannot wait for the worker threads (an agent may run for half an hour), and it
must not let them go on either: a worker whose sandbox is removed under it would record an
"evaluation error" for a task the agent never got to finish. So the process leaves the way
`kill -9` would (whose resume is tested to be clean), after booking the ledger, and a small
detached process removes the sandboxes once it is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agentforge.evolve.loop.scheduler import Scheduler

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
ABORT_EXIT_CODE = 130
"""What the shell reports for a process ended by Ctrl-C."""


class RunAborted(KeyboardInterrupt):
    """A second stop signal: work in flight is dropped."""


def _say(text: str) -> None:
    # os.write, not print: a signal handler may interrupt a print of the main thread, and
    # a buffered stream refuses a reentrant write.
    os.write(2, f"{text}\n".encode())


def install_stop_handlers(scheduler: Scheduler, run_dir: str) -> Callable[[], None]:
    """Ctrl-C / SIGTERM stop new work and let work in flight finish; a second one aborts.

    Returns the function that puts the previous handlers back. Outside the main thread
    (where Python allows no handlers) nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    hits: list[int] = []

    def handler(signum, frame) -> None:
        hits.append(signum)
        if len(hits) > 1:
            raise RunAborted(signal.Signals(signum).name)
        scheduler.stop()
        # No scheduler.in_flight() here: the handler runs on the main thread, which may hold
        # the scheduler's lock at this very moment.
        _say(f"{signal.Signals(signum).name}: stopping: no new work starts; the steps in "
             "flight finish first. Ctrl-C again aborts them "
             f"(agentforge evolve --resume {run_dir} runs them again).")

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def end_run_now(run, stop_reason: str | None, code: int, message: str) -> None:
    """Record why the run ended (if it was still running), book the ledger, exit at once.

    `run` is the open RunContext. Each write is best effort: when the disk is full, the
    archive keeps what it had, which a resume handles like a kill.
    """
    from agentforge.evolve.rundir.lock import release_run_lock

    if stop_reason is not None:
        _best_effort(lambda: _mark_stopped(run, stop_reason))
    _best_effort(lambda: _flush_ledger(run.gateway))
    _best_effort(lambda: release_run_lock(run.rundir.path))
    _say(message)
    exit_now(code)


def _mark_stopped(run, stop_reason: str) -> None:
    if run.store.get_run(run.run_id).status != "running":
        return  # an interrupted finalize leaves a finished run finished
    run.store.update_run(run.run_id, status="stopped", stop_reason=stop_reason)
    run.store.add_event(run.run_id, "stopped", f"run {stop_reason}")


def _flush_ledger(gateway, seconds: float = 10.0) -> None:
    # The money of calls already answered is spent: book it, but never hang the exit on it.
    writer = threading.Thread(target=gateway.flush, daemon=True)
    writer.start()
    writer.join(seconds)


def _best_effort(step: Callable[[], None]) -> None:
    try:
        step()
    except Exception as exc:  # the process is leaving: say what was not kept, then go on
        _say(f"(while stopping: {type(exc).__name__}: {str(exc)[:300]})")


def exit_now(code: int) -> None:
    """End the process at once (worker threads write nothing more); its sandboxes go too."""
    _spawn_sandbox_remover(os.getpid())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _spawn_sandbox_remover(pid: int) -> None:
    # Detached (own session, no inherited descriptors): it outlives this process and a
    # second Ctrl-C in the terminal does not reach it.
    subprocess.Popen([sys.executable, "-m", "agentforge.evolve.loop.stopping", str(pid)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)


def remove_sandboxes_of(pid: int, wait_seconds: float = 60.0) -> list[str]:
    """Once process `pid` is gone, remove the sandbox containers it started; their names."""
    import socket

    from docker.errors import APIError, NotFound

    from agentforge.sandbox.engine import LABEL, docker_client

    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    filters = {"label": [LABEL, f"agentforge.owner-pid={pid}",
                         f"agentforge.host={socket.gethostname()}"]}
    removed = []
    # ignore_removed: a container removed while listing (another process reaping) is no error.
    for container in docker_client().containers.list(all=True, filters=filters,
                                                      ignore_removed=True):
        try:
            container.remove(v=True, force=True)
        except (NotFound, APIError):
            continue
        removed.append(container.name)
    return removed


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie, waiting for its parent to reap it, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


if __name__ == "__main__":
    remove_sandboxes_of(int(sys.argv[1]))
