"""`RayWorkplace`: a run's sandbox work as Ray tasks on a cluster (driver side).

The driver keeps selection, planning, commits and the archive; each evaluation,
implementation, validation and second grading is a Ray task (workplaces/ray_node.py) that
gets plain data and the agent's code, a tar of its commit's tree put once into Ray's object
store. The driver thread that asked waits for the result and writes it into the run
directory and the archive, so an evaluation is recorded exactly once even when Ray runs the
task again after its worker died (`ray_max_retries`); when the retries are spent, the error
names what died and the loop records the evaluation as failed with that reason.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import threading
from pathlib import Path
from typing import Any

from agentforge.bench.plain_grading import PlainVerdict
from agentforge.errors import AgentforgeError, ConfigError
from agentforge.evolve.config import RunConfig
from agentforge.evolve.evaluation.job import GradedRun
from agentforge.evolve.operators.implement import Implementation
from agentforge.evolve.workplaces.ray_node import (
    NAMESPACE,
    NodeSetup,
    evaluate_on_node,
    graded_at,
    implement_on_node,
    regrade_on_node,
    validate_on_node,
)
from agentforge.evolve.workplaces.work import (
    AgentCode,
    EvaluationWork,
    ImplementWork,
    RegradeWork,
    ValidateWork,
    pack_agent,
    unpack,
)
from agentforge.llm.gateway import Budget
from agentforge.llm.spec import role_endpoint


class WorkerLost(AgentforgeError):
    """A job's Ray worker or node died and Ray's retries were spent."""


def import_ray():
    """The ray module, or a ConfigError saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ModuleNotFoundError as exc:
        raise ConfigError("executor \"ray\" needs Ray on the driver and every node: "
                          "pip install 'agentforge[ray]' (or set evaluation.executor = "
                          "\"local\")") from exc


def connect(address: str | None):
    """Join the cluster at `address` (None: start a private one-node cluster here, whatever
    other cluster runs on this machine)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address is not None and not address.startswith("ray://"):
        probe_gcs(address)  # Ray itself would wait for an unreachable head for good
    try:
        if address is None:
            # "local", not None: Ray would join RAY_ADDRESS or the last `ray start` on this
            # machine (and retry a dead one's GCS for minutes).
            ray.init(address="local", namespace=NAMESPACE, include_dashboard=False,
                     log_to_driver=False)
        else:
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {exc}. Start it with "
                          "`ray start --head` (then ray_address = \"auto\" on that machine) "
                          "or give its ray://host:10001 address") from exc
    return ray


def probe_gcs(address: str, timeout: float = 10.0) -> None:
    """Reach the head's GCS port at the address Ray will use (it rewrites a loopback host to
    this machine's node address), or raise a ConfigError saying what to check."""
    from ray._private.services import canonicalize_bootstrap_address

    try:
        resolved = canonicalize_bootstrap_address(address)
    except (ConnectionError, ValueError) as exc:
        raise ConfigError(f"ray_address {address!r}: {exc}. Start a cluster with "
                          "`ray start --head`, or leave ray_address unset for a private "
                          "one-node cluster") from exc
    if resolved is None:
        return
    host, _, port = resolved.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the Ray cluster at {address!r} (as {resolved}) does not answer: "
                          f"{exc}. Is `ray start --head` running there, and is the port "
                          "open from this machine?") from exc


def alive_nodes(ray) -> list[dict]:
    """The cluster's live nodes as Ray reports them."""
    return [node for node in ray.nodes() if node.get("Alive")]


def refuse_sqlite_on_many_nodes(ray, store_url: str) -> None:
    """A SQLite archive lives in one machine's file: other nodes' gateways cannot book into
    it, and a file on shared storage breaks SQLite's locking."""
    nodes = alive_nodes(ray)
    if len(nodes) > 1 and not store_url.startswith("postgresql"):
        raise ConfigError(
            f"this Ray cluster has {len(nodes)} nodes, and the run's archive is the SQLite "
            f"file {store_url}: each node's gateway books model calls into the archive "
            "database, which SQLite cannot share between machines. Give the run a "
            "PostgreSQL database: store = \"postgresql://user@host:5432/agentforge_run\" "
            "(one database per run; password in PGPASSWORD or ~/.pgpass)")


def preflight(config: RunConfig, store_url: str) -> None:
    """Join the run's cluster and refuse what it cannot run (a SQLite archive on several
    nodes), before a new run writes anything."""
    refuse_sqlite_on_many_nodes(connect(config.evaluation.ray_address), store_url)


class RayWorkplace:
    """Sends a run's sandbox work to a Ray cluster and brings the results home."""

    def __init__(self, config: RunConfig, run_id: str, store_url: str) -> None:
        evaluation = config.evaluation
        self.ray = connect(evaluation.ray_address)
        refuse_sqlite_on_many_nodes(self.ray, store_url)
        agent = config.llm.role("agent")
        budget = config.budget
        self.setup = NodeSetup(
            run_id=run_id, store_url=store_url, llm=config.llm,
            endpoint=None if agent.spec.startswith("scripted:")
            else role_endpoint("agent", config.llm),
            run_budget=Budget(tokens=budget.max_tokens, usd=budget.max_usd)
            if (budget.max_tokens or budget.max_usd) else None)
        self.options: dict[str, Any] = {"num_cpus": evaluation.ray_cpus_per_job,
                                        "max_retries": evaluation.ray_max_retries,
                                        "retry_exceptions": False}
        if evaluation.ray_memory_mb:
            self.options["memory"] = evaluation.ray_memory_mb * 1024 * 1024
        # Wrapped once: each wrapper is exported to the cluster on its first call.
        self._remote = {body: self.ray.remote(body).options(**self.options)
                        for body in (evaluate_on_node, implement_on_node, validate_on_node,
                                     regrade_on_node)}
        self._code: dict[str, Any] = {}
        self._lock = threading.Lock()

    def code_ref(self, agent: AgentCode) -> Any:
        """The agent's tar in the object store (put once per commit, shared by its jobs)."""
        with self._lock:
            ref = self._code.get(agent.commit)
            if ref is None:
                ref = self._code[agent.commit] = self.ray.put(pack_agent(agent.folder))
            return ref

    def _run(self, body, *args) -> Any:
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(self._remote[body].remote(*args))
        except exceptions.RayTaskError as exc:  # the job raised: the same error as locally
            raise exc.cause if isinstance(exc.cause, Exception) else exc from None
        except exceptions.RayError as exc:  # its worker or node died, retries spent
            raise WorkerLost(f"the Ray {type(exc).__name__} ended {body.__name__} after "
                             f"{self.options['max_retries']} retries: "
                             f"{str(exc).strip().splitlines()[0][:300]}") from exc

    def evaluate(self, work: EvaluationWork, agent: AgentCode, out_dir: Path) -> GradedRun:
        """Evaluate on a node; the output folder is unpacked into `out_dir`."""
        graded, files = self._run(evaluate_on_node, work, self.code_ref(agent),
                                  agent.folder_name, self.setup)
        unpack(files, out_dir)
        return graded_at(graded, out_dir, work.task.instance_id)

    def implement(self, work: ImplementWork, agent: AgentCode,
                  trajectory_dir: Path) -> Implementation:
        """Implement on a node; the trajectory is unpacked into `trajectory_dir`."""
        done, files = self._run(implement_on_node, work, self.code_ref(agent),
                                agent.folder_name, self.setup)
        if files:
            unpack(files, trajectory_dir)
        return done

    def validate(self, work: ValidateWork, agent: AgentCode) -> str | None:
        """Validate on a node."""
        return self._run(validate_on_node, work, self.code_ref(agent), agent.folder_name,
                         self.setup.run_id)

    def regrade(self, work: RegradeWork) -> PlainVerdict:
        """A second grading on a node."""
        return self._run(regrade_on_node, work, self.setup.run_id)

    def remove_leftovers(self) -> None:
        """Nothing here: each job first removes its run's orphaned sandboxes on its node."""

    def close(self) -> None:
        """Stop the run's node gateways and leave the cluster (it outlives the run)."""
        ray = self.ray
        for node in alive_nodes(ray):
            name = f"{self.setup.actor_prefix}-{node['NodeID'][:16]}"
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:  # no job ran on that node
                continue
            with contextlib.suppress(Exception):  # a dead node's gateway is gone anyway
                ray.get(actor.close.remote(), timeout=60)
            ray.kill(actor)
        with self._lock:
            self._code.clear()
        ray.shutdown()
