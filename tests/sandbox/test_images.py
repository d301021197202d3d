"""Building images: each step said as it starts, a silent step still reported,
`agentforge images build` saying each thing once, and agentforge's own image driving the
host's engine from a container (real engine, real builds)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest


def test_a_silent_step_is_reported_while_it_runs(agent_image, docker_engine, tmp_path: Path):
    from agentforge.sandbox.images import stream_build

    context = tmp_path / "context"
    context.mkdir()
    nonce = uuid.uuid4().hex  # never a cached layer
    (context / "Dockerfile").write_text(
        f"FROM {agent_image}\nRUN sleep 13 && echo {nonce}\nLABEL nonce={nonce}\n")
    tag = f"agentforge-test/silent-step:{nonce[:12]}"
    lines: list[str] = []
    try:
        stream_build(context, tag, {}, {"agentforge.test": "silent-step"},
                     what="silent-step: building", log=lines.append)
        assert docker_engine.images.get(tag)
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    assert lines[0] == "silent-step: building"
    assert f"  step 2/4: RUN sleep 13 && echo {nonce}" in lines
    still = [line for line in lines if "still at work" in line]
    assert still and still[0].startswith(f"  step 2/4: RUN sleep 13 && echo {nonce}: still at "
                                         "work ("), lines


def test_images_build_says_each_thing_once(agent_image):
    done = subprocess.run([sys.executable, "-m", "agentforge", "images", "build"],
                          capture_output=True, text=True, timeout=1800, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(set(lines)), lines
    assert sum("agent-runtime: up to date" in line for line in lines) == 1


@pytest.mark.slow
def test_agentforge_in_its_container_runs_a_sandbox_on_the_hosts_engine(agentforge_image,
                                                                          tmp_path: Path):
    shared = tmp_path / "shared"  # the sockets' folder, at the same path on both sides
    shared.mkdir()
    done = subprocess.run(
        ["docker", "run", "--rm", "-v", "/var/run/docker.sock:/var/run/docker.sock",
         "-v", f"{shared}:{shared}", "-e", f"TMPDIR={shared}", agentforge_image,
         "sandbox", "run", "--", "python", "-c", "print(6 * 7)"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
    examples = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "ls", agentforge_image,
         "/opt/agentforge/examples"], capture_output=True, text=True, timeout=120)
    assert "offline-demo.toml" in examples.stdout.split()
