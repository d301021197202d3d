"""`agentforge doctor --ray ADDRESS`: can this Ray cluster run agentforge's sandbox work?

Reaches the cluster, then runs a small task pinned to every live node that asks that node's
Docker engine for the sandbox images built from the driver's sources (the images' labels
carry a hash of their Dockerfile folders), and says what is missing where.
"""

from __future__ import annotations

import socket

from agentforge.commands.doctor_check import DoctorCheck
from agentforge.errors import AgentforgeError
from agentforge.version import __version__

NODE_TIMEOUT_S = 120.0


def wanted_images() -> dict[str, str]:
    """The images a run needs (those `agentforge images build` makes), by their source hash."""
    from agentforge.sandbox.images import image_specs

    return {name: spec.files_hash() for name, spec in image_specs().items()
            if spec.built_by_default}


def node_report(wanted: dict[str, str]) -> dict:
    """Runs on a node: its host name, agentforge version, engine, and which images it lacks."""
    from agentforge.sandbox.engine import docker_client

    report: dict = {"host": socket.gethostname(), "version": __version__, "missing": []}
    try:
        client = docker_client()
        report["docker"] = client.version().get("Version", "?")
    except AgentforgeError as exc:
        report["docker_error"] = str(exc)
        return report
    for name, files_hash in wanted.items():
        # Low-level listing: `images.list` inspects each image and raised when another run
        # removed one in between.
        found = client.api.images(filters={"label": [f"agentforge.image={name}",
                                                     f"agentforge.files-hash={files_hash}"]})
        if not any(tag.startswith(f"agentforge/{name}:") for image in found
                   for tag in image.get("RepoTags") or []):
            report["missing"].append(name)
    return report


def ray_checks(address: str, wanted: dict[str, str] | None = None) -> list[DoctorCheck]:
    """One check for reaching the cluster, then one per live node."""
    from agentforge.evolve.workplaces.ray_driver import alive_nodes, connect

    try:
        ray = connect(address)
    except AgentforgeError as exc:
        return [DoctorCheck("ray cluster", False, str(exc))]
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    wanted = wanted_images() if wanted is None else wanted
    try:
        nodes = alive_nodes(ray)
        checks = [DoctorCheck("ray cluster", True, f"{address}: {len(nodes)} live node(s), Ray "
                        f"{ray.__version__}")]
        probe = ray.remote(node_report)
        pending = [(node, probe.options(num_cpus=0, max_retries=0, scheduling_strategy=
                                        NodeAffinitySchedulingStrategy(node["NodeID"],
                                                                       soft=False)
                                        ).remote(wanted)) for node in nodes]
        return checks + [_node_check(ray, node, ref) for node, ref in pending]
    finally:
        ray.shutdown()


def _node_check(ray, node: dict, ref) -> DoctorCheck:
    name = f"node {node.get('NodeManagerAddress')} ({node['NodeID'][:8]})"
    try:
        report = ray.get(ref, timeout=NODE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure of the probe is the node's finding
        return DoctorCheck(name, False, f"did not answer within {NODE_TIMEOUT_S:.0f} s: "
                     f"{type(exc).__name__}: {str(exc)[:300]}")
    name = f"{name} {report['host']}"
    if "docker_error" in report:
        return DoctorCheck(name, False, report["docker_error"])
    problems = []
    if report["version"] != __version__:
        problems.append(f"agentforge {report['version']} there, {__version__} here: install "
                        "the same version on every node")
    if report["missing"]:
        problems.append(f"missing images: {', '.join(report['missing'])} (run `agentforge "
                        "images build` on that node, or load your registry's copies and tag "
                        "them agentforge/NAME:TAG with their labels intact)")
    if problems:
        return DoctorCheck(name, False, "; ".join(problems))
    return DoctorCheck(name, True, f"Docker {report['docker']}, every sandbox image present")
