"""The `Executor` seam: where evaluation jobs run (a local thread pool, or Ray)."""

from __future__ import annotations

import importlib
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


class RayExecutor:
    """Jobs as Ray tasks (pip install 'agentforge[ray]'); `fn` and its arguments must pickle."""

    def __init__(self, workers: int, address: str | None = None, cpus_per_job: float = 1.0) -> None:
        try:
            self._ray = importlib.import_module("ray")
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "the ray executor needs Ray: pip install 'agentforge[ray]', or use executor 'local'"
            ) from exc
        self._ray.init(address=address, ignore_reinit_error=True)
        self._workers = workers
        self._cpus = cpus_per_job

    @property
    def capacity(self) -> int:
        """How many Ray tasks the scheduler keeps in flight."""
        return self._workers

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run `fn` as a Ray task; its ObjectRef is wrapped in a standard future."""
        remote = self._ray.remote(num_cpus=self._cpus)(fn)
        return remote.remote(*args, **kwargs).future()

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to release per run: the Ray cluster outlives it."""


EXECUTORS: dict[str, str] = {
    "local": "agentforge.evolve.executor:LocalExecutor",
    "ray": "agentforge.evolve.executor:RayExecutor",
}


def make_executor(name: str, workers: int, **options: Any) -> Executor:
    """Build the executor registered under `name`; an unknown name lists the valid ones."""
    if name not in EXECUTORS:
        raise ConfigError(
            f"unknown executor {name!r}: choose one of {', '.join(sorted(EXECUTORS))}"
        )
    module_name, class_name = EXECUTORS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(workers, **options)
