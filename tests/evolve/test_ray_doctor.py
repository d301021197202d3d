"""`agentforge doctor --ray`: every node of a cluster is asked for its engine and images."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentforge.commands.doctor_ray import ray_checks, wanted_images

pytestmark = pytest.mark.slow


def test_every_node_reports_its_engine_and_images(ray_cluster, agent_image):
    done = subprocess.run([sys.executable, "-m", "agentforge", "doctor", "--ray",
                           ray_cluster.address], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if " node " in f" {line}"]
    assert len(lines) == 2 and all(line.startswith("ok") for line in lines), done.stdout
    assert "2 live node(s)" in done.stdout and "every sandbox image present" in done.stdout


def test_a_missing_image_is_named_on_every_node_that_lacks_it(ray_cluster, agent_image):
    wanted = {**wanted_images(), "agent-runtime": "0" * 16}  # sources no node has built
    checks = ray_checks(ray_cluster.address, wanted)
    nodes = [c for c in checks if c.name.startswith("node ")]
    assert len(nodes) == 2, checks
    for check in nodes:
        assert not check.ok and "missing images: agent-runtime" in check.detail
        assert "toolchains" not in check.detail


def test_an_unreachable_cluster_is_one_clear_failure():
    checks = ray_checks("127.0.0.1:1")
    assert [c.ok for c in checks] == [False]
    assert "does not answer" in checks[0].detail and "ray start --head" in checks[0].detail
