"""A sandbox that writes past its disk limit: the write fails inside, the host keeps its space."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.disk import LOOP, NONE, TMPFS, disk_root, loop_unavailable
from agentforge.sandbox.engine import docker_client

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LIMIT_MIB = 64
FILL = f"dd if=/dev/zero of=/workspace/fill bs=1M count={2 * LIMIT_MIB} 2>&1; echo dd=$?"


def allocated_on_host(box: Sandbox) -> int:
    """Bytes the host's disk really holds for this sandbox's writable paths."""
    total = 0
    folders = [disk_root() / box.name]
    mounts = docker_client().api.inspect_container(box.container_id)["Mounts"]
    # Where the engine keeps the volumes' data (a bind to our disk, or nothing, when bounded).
    folders += [Path(m["Source"]) for m in mounts if m["Type"] == "volume"]
    for folder in folders:
        host_device = os.stat(folder.parent).st_dev  # the host filesystem that holds it
        for root, _dirs, names in os.walk(folder):
            for name in names:
                entry = os.lstat(os.path.join(root, name))
                if entry.st_dev == host_device:  # not on the loop disk or a tmpfs
                    total += entry.st_blocks * 512
    return total


@pytest.fixture
def loop_available(missing):
    problem = loop_unavailable()
    if problem:
        missing(problem)


def test_writing_past_the_limit_fails_inside_and_the_host_loses_at_most_the_limit(
        agent_image: str, loop_available):
    config = SandboxConfig(image=agent_image, disk_limit=f"{LIMIT_MIB}m")
    with Sandbox(config) as box:
        assert box.disk.choice.mechanism == LOOP
        box.exec("echo home > /tmp/kept", timeout=60)
        filled = box.exec(FILL, timeout=300)
        assert "No space left on device" in filled.output, filled.output
        assert "dd=0" not in filled.output
        written = int(box.exec(["stat", "-c", "%s", "/workspace/fill"], timeout=60).stdout)
        assert LIMIT_MIB * 2**20 * 0.8 < written <= LIMIT_MIB * 2**20
        # /task shares the same budget: nothing is left there either.
        task = box.exec("dd if=/dev/zero of=/task/more bs=1M count=2 2>&1; echo dd=$?",
                        timeout=60)
        assert "No space left on device" in task.output and "dd=1" in task.output
        assert allocated_on_host(box) <= LIMIT_MIB * 2**20
        # The sandbox goes on: freeing space makes writes work again, /tmp was untouched.
        again = box.exec("rm /workspace/fill && echo fresh > /workspace/new && cat /workspace/new"
                         " /tmp/kept", timeout=60)
        assert again.ok and again.output == "fresh\nhome\n", again.output
        folder = disk_root() / box.name
        assert folder.is_dir()
    # Removing the sandbox frees its disk.
    assert not folder.exists()
    assert not docker_client().api.volumes(
        filters={"label": f"agentforge.disk-of={box.name}"}).get("Volumes")


def test_the_images_files_are_copied_into_a_bounded_path(agent_image: str, loop_available):
    # Task images (SWE-bench) ship their repository at a writable path: it must be there.
    config = SandboxConfig(image=agent_image, disk_limit=f"{LIMIT_MIB}m",
                           writable_paths=["/workspace", "/etc/apt"])
    with Sandbox(config) as box:
        listing = box.exec(["ls", "/etc/apt"], timeout=60)
        assert "sources.list.d" in listing.output, listing.output
        box.exec("echo x > /workspace/y", timeout=60)
        used = box.exec(["df", "--output=target", "/etc/apt"], timeout=60).output
        assert "/etc/apt" in used  # its own (bounded) filesystem, not the image's


def test_tmpfs_bounds_writes_when_memory_allows(agent_image: str):
    config = SandboxConfig(image=agent_image, disk_limit=f"{LIMIT_MIB}m", disk_mechanism=TMPFS,
                           memory="512m")
    with Sandbox(config) as box:
        assert box.disk.choice.mechanism == TMPFS
        filled = box.exec(FILL, timeout=300)
        assert "No space left on device" in filled.output, filled.output
        assert allocated_on_host(box) < 2**20
        assert box.exec("rm /workspace/fill && echo ok > /workspace/new", timeout=60).ok


def test_no_limit_is_reported_as_such(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image, disk_limit=None)) as box:
        assert box.disk.choice.mechanism == NONE
        assert box.exec("echo x > /workspace/y && cat /workspace/y", timeout=60).output == "x\n"


def doctor_line(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "agentforge", "doctor"], capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env})
    lines = [line for line in done.stdout.splitlines() if " sandbox disk limit: " in line]
    assert len(lines) == 1, done.stdout + done.stderr
    return lines[0]


def test_doctor_says_which_mechanism_is_in_force_and_tries_it(agent_image: str, loop_available):
    line = doctor_line({})
    assert line.startswith(("ok   sandbox disk limit: loop", "warn sandbox disk limit: loop"))
    assert "tried: a write past 16 MiB failed with ENOSPC" in line
    assert "writable root filesystems" in line


def test_doctor_warns_when_nothing_bounds_the_disk():
    line = doctor_line({"AGENTFORGE_SANDBOX_DISK_LIMIT": "none"})
    assert line.startswith("warn sandbox disk limit: no disk limit configured"), line
    assert "can fill this machine's disk" in line
