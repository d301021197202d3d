"""An unset `ray_address` starts a private one-node cluster, whatever else runs on the machine:
a cluster a stray `ray start --head` left running, its address file once it is gone, or a
RAY_ADDRESS in the environment. Each join runs in its own process, as a run's driver does.

The stray head and the joins share a Ray temp directory of their own (RAY_TMPDIR), so the
test leaves the machine's /tmp/ray (and any other Ray work there) alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

JOIN = """
import json, ray
from agentforge.evolve.workplaces.ray_driver import connect
connect(None)
print(json.dumps({"gcs": ray.get_runtime_context().gcs_address,
                  "nodes": len([n for n in ray.nodes() if n["Alive"]])}))
ray.shutdown()
"""
JOIN_TIMEOUT = 240  # a private cluster starts in seconds, even on a loaded machine


@pytest.fixture()
def ray_tmp(missing):
    """A Ray temp directory of this test's own, short enough for Ray's socket paths."""
    if shutil.which("ray", path=str(Path(sys.executable).parent)) is None:
        missing("Ray is not installed: pip install 'agentforge[ray]'")
    folder = Path(tempfile.mkdtemp(prefix="afray", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def stray_head(ray_tmp):
    """A `ray start --head` left running on the machine; stopped after the test (it is
    started with --block, so stopping that process stops its cluster, and no other)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray = str(Path(sys.executable).parent / "ray")
    head = subprocess.Popen([ray, "start", "--head", f"--port={port}", "--num-cpus=1",
                             "--node-ip-address=127.0.0.1", "--include-dashboard=false",
                             "--block"], env=ray_env(ray_tmp), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    address_file = ray_tmp / "ray" / "ray_current_cluster"
    deadline = time.monotonic() + JOIN_TIMEOUT
    while not address_file.exists():
        assert head.poll() is None and time.monotonic() < deadline, "ray start --head failed"
        time.sleep(0.2)
    time.sleep(2)  # the address is written once the GCS listens; let the raylet come up too
    try:
        yield head, address_file.read_text().strip()
    finally:
        stop(head)


def stop(head: subprocess.Popen) -> None:
    """Stop a `ray start --block` and the cluster it started."""
    if head.poll() is None:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, 9)
            head.wait(timeout=30)


def ray_env(ray_tmp: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return {**env, "RAY_TMPDIR": str(ray_tmp), **extra}


def join(ray_tmp: Path, **extra: str) -> dict:
    """What a driver with no ray_address joins: its GCS address and live nodes."""
    import json

    done = subprocess.run([sys.executable, "-c", JOIN], env=ray_env(ray_tmp, **extra),
                          capture_output=True, text=True, timeout=JOIN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_stray_cluster_on_the_machine_is_not_joined(ray_tmp, stray_head):
    _, stray = stray_head
    joined = join(ray_tmp)
    assert joined["gcs"] != stray and joined["nodes"] == 1, (joined, stray)
    joined = join(ray_tmp, RAY_ADDRESS=stray)
    assert joined["gcs"] != stray and joined["nodes"] == 1, (joined, stray)


def test_the_address_a_dead_cluster_left_behind_is_ignored(ray_tmp, stray_head):
    head, stray = stray_head
    stop(head)
    (ray_tmp / "ray" / "ray_current_cluster").write_text(stray)  # as a crashed head leaves it
    joined = join(ray_tmp)  # within JOIN_TIMEOUT: no retrying a dead head's GCS for minutes
    assert joined["gcs"] != stray and joined["nodes"] == 1, (joined, stray)
