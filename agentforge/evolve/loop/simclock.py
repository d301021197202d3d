"""Simulated time for the scheduler: discrete events instead of threads.

`VirtualClock` is a `Clock` whose `wait` jumps to the next job's finish time and runs that
job then; `SimulatedExecutor` submits jobs that take a chosen number of simulated seconds.
Together they drive the real `Scheduler` through thousands of decisions per second,
reproducibly (perf/search_efficiency.py; scheduler tests that need exact timings).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any


class VirtualClock:
    """Simulated seconds; jobs run, in finish-time then submission order, when time reaches them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._events: list[tuple[float, int, Future, Callable[[], Any]]] = []
        self._sequence = itertools.count()

    def monotonic(self) -> float:
        """The simulated time."""
        return self.now

    def schedule(self, duration: float, call: Callable[[], Any]) -> Future:
        """A future that `call()` completes `duration` simulated seconds from now."""
        future: Future = Future()
        heapq.heappush(self._events, (self.now + duration, next(self._sequence), future, call))
        return future

    def wait(self, futures: Sequence[Future], timeout: float | None) -> set[Future]:
        """Advance to the next finish (at most `timeout`) and complete what finishes then."""
        while self._events and self._events[0][2].cancelled():
            heapq.heappop(self._events)
        if not self._events:
            return set()
        finish = self._events[0][0]
        if timeout is not None and finish > self.now + timeout:
            self.now += max(timeout, 0.0)
            return set()
        self.now = max(self.now, finish)
        done: set[Future] = set()
        while self._events and self._events[0][0] <= self.now:
            _, _, future, call = heapq.heappop(self._events)
            if future.cancelled():
                continue
            try:
                future.set_result(call())
            except Exception as exc:  # the job's failure is its outcome, as on a real worker
                future.set_exception(exc)
            done.add(future)
        return done


class SimulatedExecutor:
    """An Executor whose jobs take `duration(*args)` simulated seconds on `clock`."""

    def __init__(self, clock: VirtualClock, duration: Callable[..., float],
                 capacity: int = 1) -> None:
        self.clock = clock
        self.duration = duration
        self._capacity = capacity

    @property
    def capacity(self) -> int:
        """Jobs at the same time (the scheduler enforces its own pool sizes)."""
        return self._capacity

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run `fn(*args, **kwargs)` when its simulated duration has passed."""
        return self.clock.schedule(self.duration(*args, **kwargs), lambda: fn(*args, **kwargs))

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to release."""
