"""The `Executor` seam: the pools the scheduler runs its steps on.

A thread pool here; on a Ray cluster too, since a step only waits there while its sandbox
work runs as a Ray task (workplaces/). Simulated time has its own (simclock.py)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from agentforge.errors import ConfigError


class Executor(Protocol):
    """Runs callables somewhere and hands back standard futures."""

    @property
    def capacity(self) -> int:
        """How many jobs run at the same time."""
        ...

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future: ...
    def shutdown(self, wait: bool = True) -> None: ...


class LocalExecutor:
    """A thread pool on this machine (the jobs mostly wait on Docker, so threads suffice)."""

    def __init__(self, workers: int, name: str = "agentforge-eval") -> None:
        if workers < 1:
            raise ConfigError(f"an executor needs at least 1 worker, got {workers}")
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    @property
    def capacity(self) -> int:
        """The number of worker threads."""
        return self._workers

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run `fn(*args, **kwargs)` on a worker thread."""
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; drop queued ones; optionally wait for running ones."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
