"""What runs on a Ray cluster's nodes: the jobs' bodies and each node's model gateway.

A job arrives as plain data (workplaces/work.py) plus the agent's code as a tar from Ray's object
store, so nodes need no shared filesystem. It unpacks into a temporary folder, runs its
sandboxes on this node's Docker engine, and returns its outcome with its files as a tar; the
driver writes them into the run directory and the archive. Jobs never write the archive, so
a job Ray runs again after its worker died is recorded once: by the driver, from the one
result it receives.

Model calls go through the node's own gateway, a Ray actor started on first use on that node
(one per run and model configuration): the same unix-socket design with per-sandbox tokens
as on a single machine. It books every call into the run's ledger in the archive database
(PostgreSQL for a cluster), where the driver reads them, and before each call under a run
budget it reads the run's total back from there, so budgets hold across nodes. What that
cannot see: calls in flight on other nodes at that moment, so the run can overshoot by at
most their worst-case reservations (one request each, capped by what was left).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentforge.bench.plain_grading import PlainVerdict, plain_grade
from agentforge.bench.run import task_trajectory_dir
from agentforge.evolve.evaluation.job import GradedRun, run_evaluation
from agentforge.evolve.operators.implement import Implementation, implement
from agentforge.evolve.validation.agent import validate_agent
from agentforge.evolve.workplaces.work import (
    Booking,
    EvaluationWork,
    ImplementWork,
    RegradeWork,
    ValidateWork,
    pack_outputs,
    unpack,
)
from agentforge.llm.config import LLMConfig
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.spec import Endpoint, role_endpoint
from agentforge.sandbox.socket_mount import SocketMount

NAMESPACE = "agentforge"
"""The Ray namespace of agentforge's named actors."""


@dataclass(frozen=True)
class NodeSetup:
    """What a node's gateway needs (plain data, the same for every job of a run)."""

    run_id: str
    store_url: str
    llm: LLMConfig
    endpoint: Endpoint | None
    """The agent model as the driver resolved it; None for a scripted model, which each
    node serves itself from the same script file."""
    run_budget: Budget | None

    @property
    def actor_prefix(self) -> str:
        """agentforge-gateway-<run>-<configuration hash>: a changed model or budget on
        --resume gets fresh gateways instead of the ones a killed driver left."""
        key = hashlib.sha256(repr((self.store_url, self.llm.model_dump_json(),
                                   self.endpoint, self.run_budget)).encode()).hexdigest()[:10]
        return f"agentforge-gateway-{self.run_id}-{key}"


@dataclass(frozen=True)
class GrantTicket:
    """A grant of a node gateway as plain data: its key, socket folder and environment."""

    token: str
    mount: SocketMount
    env: dict[str, str]


class NodeGateway:
    """A Ray actor holding one node's Gateway for one run."""

    def __init__(self, setup: NodeSetup) -> None:
        endpoint = setup.endpoint or role_endpoint("agent", setup.llm)
        ledger = Ledger(setup.store_url, prices=setup.llm.prices)
        self.gateway = Gateway(endpoint, ledger, retry=setup.llm.retry, shared_ledger=True)
        self.gateway.start()
        if setup.run_budget is not None:
            self.gateway.set_run_budget(setup.run_id, setup.run_budget)

    def grant(self, booking: Booking) -> GrantTicket:
        """A per-sandbox key booked to the work's run, node, task and role."""
        grant = self.gateway.grant(**booking.grant_args())
        assert grant.mount is not None  # the gateway started in __init__
        return GrantTicket(grant.token, grant.mount, grant.env)

    def revoke(self, token: str) -> None:
        """Close the grant and write its calls to the ledger before the job reports back."""
        self.gateway.revoke(token)
        self.gateway.flush()

    def close(self) -> None:
        """Stop serving (the driver calls this when the run ends)."""
        self.gateway.close()


class NodeGrant:
    """A grant used by a job on the same node as its gateway (what `Grant` offers sandboxes)."""

    def __init__(self, ticket: GrantTicket, actor: Any) -> None:
        self.ticket, self._actor = ticket, actor

    @property
    def env(self) -> dict[str, str]:
        """The agent's environment (base URL, per-sandbox key, model name)."""
        return self.ticket.env

    def apply(self, config):
        """A copy of the sandbox config with the grant's socket folder and environment."""
        return self.ticket.mount.apply(config, self.ticket.env)

    def start_forwarder(self, sandbox, timeout: float = 60.0) -> None:
        """Start the loopback forwarder inside the sandbox."""
        self.ticket.mount.start_forwarder(sandbox, timeout)

    def revoke(self) -> None:
        """Close the grant on the node's gateway (its calls are in the ledger afterwards)."""
        import ray

        ray.get(self._actor.revoke.remote(self.ticket.token))


def node_gateway(setup: NodeSetup) -> Any:
    """This node's gateway actor for the run, started on first use."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    # Detached: it outlives the job that started it (and a killed driver, for --resume);
    # the driver closes every one at the end of the run.
    return ray.remote(NodeGateway).options(
        name=f"{setup.actor_prefix}-{node[:16]}", namespace=NAMESPACE, get_if_exists=True,
        lifetime="detached", num_cpus=0, max_concurrency=64,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(setup)


@contextmanager
def _granted(setup: NodeSetup, booking: Booking) -> Iterator[NodeGrant]:
    """A grant of this node's gateway, revoked (its calls written) when the block ends."""
    import ray

    actor = node_gateway(setup)
    grant = NodeGrant(ray.get(actor.grant.remote(booking)), actor)
    try:
        yield grant
    finally:
        grant.revoke()


@contextmanager
def _job_folder(run_id: str, code: bytes, folder_name: str) -> Iterator[tuple[Path, Path]]:
    """(the agent unpacked, a scratch folder) for one job, both gone when it ends; first
    the sandboxes of this run whose worker died (SIGKILL, a lost node's retry) are removed."""
    from agentforge.sandbox.reaper import reap

    reap(run_id=run_id)
    with tempfile.TemporaryDirectory(prefix="agentforge-job-") as tmp:
        yield unpack(code, Path(tmp) / folder_name), Path(tmp)


def evaluate_on_node(work: EvaluationWork, code: bytes, folder_name: str,
                     setup: NodeSetup) -> tuple[GradedRun, bytes]:
    """Run and grade one evaluation here (a fresh grant of this node's gateway per attempt);
    its output folder comes back as a tar."""
    with _job_folder(setup.run_id, code, folder_name) as (agent, tmp):
        graded = run_evaluation(work.benchmark.open(), work.task, agent, tmp / "out",
                                timeout=work.timeout,
                                grants=lambda _task: _granted(setup, work.booking),
                                max_trajectory_mb=work.max_trajectory_mb)
        return graded, pack_outputs(tmp / "out")


def implement_on_node(work: ImplementWork, code: bytes, folder_name: str,
                      setup: NodeSetup) -> tuple[Implementation, bytes]:
    """The parent implements the proposal here; its trajectory comes back as a tar."""
    with _job_folder(setup.run_id, code, folder_name) as (agent, tmp), \
            _granted(setup, work.booking) as grant:
        done = implement(agent, work.proposal, grant, timeout=work.timeout,
                         trajectory_dir=tmp / "trajectory", labels=work.labels)
        return done, pack_outputs(tmp / "trajectory")


def validate_on_node(work: ValidateWork, code: bytes, folder_name: str, run_id: str) -> str | None:
    """The child's own checks here: None if it passes, else why not."""
    with _job_folder(run_id, code, folder_name) as (agent, _tmp):
        return validate_agent(agent, pytest_args=work.pytest_args, timeout=work.timeout,
                              labels=work.labels)


def regrade_on_node(work: RegradeWork, run_id: str) -> PlainVerdict:
    """A finalist's held-out patch graded a second time here."""
    from agentforge.sandbox.reaper import reap

    reap(run_id=run_id)
    return plain_grade(work.task, work.patch, labels=work.labels)


def graded_at(graded: GradedRun, out_dir: Path, task_id: str) -> GradedRun:
    """The outcome with its trajectory path pointing into the driver's run directory."""
    artefacts = graded.artefacts.model_copy(
        update={"trajectory_path": str(task_trajectory_dir(out_dir, task_id))})
    return replace(graded, artefacts=artefacts)
