"""Fixtures of the loop tests (helpers live in loop_fixtures.py, importable by name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from loop_fixtures import write_tiny_suite


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    """Three validation tasks and one held-out task."""
    return write_tiny_suite(tmp_path / "suite", ["py-tiny-add", "py-tiny-greet", "py-tiny-double"],
                            ["py-tiny-shout"])


@pytest.fixture(scope="session")
def ray_cluster(missing):
    """A Ray cluster of two nodes on this machine (a head with 1 CPU, a worker with 2)."""
    try:
        from ray.cluster_utils import Cluster
    except ImportError:
        missing("Ray is not installed: pip install 'agentforge[ray]'")
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1",
                                      "include_dashboard": False})
    cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()
