"""Progress of long steps, for a person watching the terminal.

    with long_step("held-out re-scoring: 4 evaluations") as tell:  # said now, then a line
        tell("held-out: 1/4 done (node 2, py-add: resolved)")      # every 10 s while nothing
                                                                   # else is said
    say("pulling python:3.12-slim")                                # one line, now

Library code reports here; the `agentforge` command shows it on stderr (`shown_on_stderr`).
Without that (a library caller, a test) nothing is printed and no thread runs. A caller with
its own printer passes `say=` (the image builder's `log`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HEARTBEAT_SECONDS = 8.0
"""A step silent for this long says it is still at work: with the checks' own delay, a line
comes at least every 10 s (what README command 1 promises)."""

_log = logging.getLogger("agentforge.progress")
_lock = threading.Lock()
_last_said = [time.monotonic()]


def say(text: str) -> None:
    """One progress line, if anyone is listening."""
    if _log.isEnabledFor(logging.INFO):
        _said()
        _log.info(text)


def _said() -> None:
    with _lock:
        _last_said[0] = time.monotonic()


@contextmanager
def long_step(what: str, say_line: Callable[[str], None] | None = None,
              every: float = HEARTBEAT_SECONDS,
              detail: Callable[[], str] = lambda: "",
              announce: bool = True) -> Iterator[Callable[[str], None]]:
    """Say `what` now and, while the step runs, `<its latest line>: still at work (Ns)`
    whenever nothing was said for `every` seconds (through `say_line`, else the progress
    log), with `detail()` (e.g. the step's last output) when it has one; `announce=False`
    says nothing unless the step turns out slow. Yields the function for the step's own
    lines (each one restarts the wait)."""
    if say_line is None:
        if not _log.isEnabledFor(logging.INFO):
            yield lambda _text: None
            return
        say_line = say

    current = [what, time.monotonic()]  # the latest line of this step, and when

    def tell(text: str) -> None:
        _said()
        current[:] = [text, time.monotonic()]
        say_line(text)

    if announce:
        tell(what)
    done = threading.Event()

    def beat() -> None:
        while not done.wait(min(1.0, every)):
            with _lock:
                quiet = time.monotonic() - _last_said[0]
            if quiet >= every:
                _said()
                line = current[0] if len(current[0]) <= 70 else current[0][:69] + "…"
                extra = detail()
                extra = f"; last output: {extra[:100]}" if extra else ""
                say_line(f"{line}: still at work ({time.monotonic() - current[1]:.0f}s{extra})")

    thread = threading.Thread(target=beat, name="agentforge-heartbeat", daemon=True)
    thread.start()
    try:
        yield tell
    finally:
        done.set()
        thread.join()


def note_output() -> None:
    """Something else was just printed: the heartbeat waits another full period."""
    _said()


@contextmanager
def hushed(hush: bool = True) -> Iterator[None]:
    """No progress lines for the duration (`evolve --quiet`); warnings and errors still show."""
    if not hush:
        yield
        return
    before = _log.level
    _log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        _log.setLevel(before)


@contextmanager
def shown_on_stderr() -> Iterator[None]:
    """Print progress lines on stderr for the duration (the CLI's whole run)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False
    try:
        yield
    finally:
        _log.removeHandler(handler)
        _log.setLevel(logging.NOTSET)
        _log.propagate = True
