"""Sandbox work as plain data: what one evaluation, implementation, validation or second
grading needs.

These cross process and machine boundaries (Ray pickles them), so they hold no open archive,
gateway or Docker client: names, numbers, the task, the proposal. The agent's code travels
beside them as a tar of its commit's tree (`pack_agent`).
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.bench import get_benchmark
from agentforge.bench.protocol import Benchmark
from agentforge.bench.task import Task
from agentforge.evolve.operators.diagnose import Proposal
from agentforge.sandbox.files import extract_safely, pack_directory


@dataclass(frozen=True)
class Booking:
    """Whom the model calls of a piece of work are booked to (the gateway grant's context)."""

    run_id: str
    node_id: int
    task_id: str
    role: str = "agent"
    step_id: str | None = None
    """The self-improvement step the work belongs to (None: an evaluation)."""

    def grant_args(self) -> dict:
        """The gateway's `grant`/`granted` arguments that book to this."""
        return {"run_id": self.run_id, "node_id": self.node_id, "task_id": self.task_id,
                "role": self.role, "step_id": self.step_id}


@dataclass(frozen=True)
class BenchmarkSpec:
    """How to open the run's benchmark (its data must be at `source` where the work runs)."""

    name: str
    source: Path | None
    options: dict = field(default_factory=dict)

    def open(self) -> Benchmark:
        """The benchmark adapter."""
        return get_benchmark(self.name, source=self.source, **self.options)


@dataclass(frozen=True)
class EvaluationWork:
    """Run one agent on one task and grade it."""

    booking: Booking
    benchmark: BenchmarkSpec
    task: Task
    timeout: float
    max_trajectory_mb: float


@dataclass(frozen=True)
class ImplementWork:
    """The parent agent implements a proposal on its own source."""

    booking: Booking
    proposal: Proposal
    timeout: float
    labels: dict[str, str]


@dataclass(frozen=True)
class ValidateWork:
    """The child's own checks (compile, import, own tests, the contract)."""

    pytest_args: list[str]
    timeout: float
    labels: dict[str, str]


@dataclass(frozen=True)
class RegradeWork:
    """A finalist's held-out patch graded a second time (bench/plain_grading.py)."""

    task: Task
    patch: str
    labels: dict[str, str]


@dataclass(frozen=True)
class AgentCode:
    """An agent at a commit: the folder exported on the driver (what is packed and sent)."""

    commit: str
    folder: Path

    @property
    def folder_name(self) -> str:
        """The name its folder has everywhere (the benchmark reports use it as model name)."""
        return self.folder.name


def pack_agent(folder: Path) -> bytes:
    """The agent folder's files as an uncompressed tar (sent once per commit)."""
    with pack_directory(folder, uid=0, gid=0, excludes=()) as spool:
        return spool.read()


def pack_outputs(folder: Path) -> bytes:
    """A work's output folder (trajectories, logs) as a tar; empty bytes if it is missing."""
    if not folder.is_dir():
        return b""
    return pack_agent(folder)


def unpack(data: bytes, destination: Path) -> Path:
    """Extract a tar made by `pack_agent`/`pack_outputs` (checked entry by entry: the
    outputs are written by untrusted agents)."""
    destination.mkdir(parents=True, exist_ok=True)
    if data:
        extract_safely(io.BytesIO(data), destination)
    return destination


def tar_members(data: bytes) -> list[str]:
    """Names in a tar (for tests and diagnostics)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getnames()
