"""Containers never outlive their owner: `with` removes them, the reaper finds the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid

import pytest

from agentforge.errors import SandboxError
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.disk import disk_root
from agentforge.sandbox.engine import LABEL, docker_client


def containers_named(name: str) -> list:
    return docker_client().containers.list(all=True, filters={"name": f"^/{name}$"})


def disk_volumes(sandbox: str) -> list:
    found = docker_client().api.volumes(filters={"label": f"agentforge.disk-of={sandbox}"})
    return found.get("Volumes") or []


def volume_exists(name: str) -> bool:
    return bool(docker_client().volumes.list(filters={"name": name}))


class Boom(Exception):
    pass


def test_raising_inside_with_removes_the_container_and_its_volumes(agent_image: str):
    box = Sandbox(SandboxConfig(image=agent_image))
    volumes: list[str] = []
    with pytest.raises(Boom), box:
        box.exec("echo work > /workspace/file")
        assert len(containers_named(box.name)) == 1
        mounts = docker_client().api.inspect_container(box.container_id)["Mounts"]
        volumes = [m["Name"] for m in mounts if m["Type"] == "volume"]
        assert all(volume_exists(v) for v in volumes)
        raise Boom("the host code failed mid-run")
    assert containers_named(box.name) == []
    assert len(volumes) == 2 and not any(volume_exists(v) for v in volumes)


def test_keyboard_interrupt_inside_with_removes_the_container(agent_image: str):
    box = Sandbox(SandboxConfig(image=agent_image))
    with pytest.raises(KeyboardInterrupt), box:
        raise KeyboardInterrupt
    assert containers_named(box.name) == []


def test_failed_start_leaves_nothing_behind(agent_image: str):
    broken = SandboxConfig(image=agent_image, tmpfs={"/tmp": "size=not-a-size"})
    box = Sandbox(broken)
    with pytest.raises(SandboxError, match="could not start a sandbox"):
        box.start()
    assert containers_named(box.name) == []
    # Its disk was made before the engine refused the container: it is gone too.
    assert not disk_volumes(box.name) and not (disk_root() / box.name).exists()


def test_every_container_carries_the_reaper_labels(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image, labels={"agentforge.run": "r1"})) as box:
        labels = docker_client().api.inspect_container(box.container_id)["Config"]["Labels"]
    assert labels[LABEL] == "1"
    assert labels["agentforge.owner-pid"] == str(os.getpid())
    assert labels["agentforge.run"] == "r1"


CRASHING_OWNER = textwrap.dedent("""
    import sys, time
    from agentforge.sandbox import Sandbox, SandboxConfig
    box = Sandbox(SandboxConfig(image=sys.argv[1], labels={"agentforge.run": sys.argv[2]}))
    box.start()
    print(box.name, flush=True)
    time.sleep(600)
""")


def agentforge_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", *args], capture_output=True,
                          text=True, timeout=300)


def test_reap_removes_what_a_killed_process_left_and_spares_live_sandboxes(agent_image: str):
    run_id = f"reap-test-{uuid.uuid4().hex[:8]}"
    owner = subprocess.Popen([sys.executable, "-c", CRASHING_OWNER, agent_image, run_id],
                             stdout=subprocess.PIPE, text=True)
    try:
        orphan = owner.stdout.readline().strip()
        assert orphan.startswith("agentforge-")
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(30)
    # SIGKILL runs no cleanup: the container really is left behind.
    assert len(containers_named(orphan)) == 1

    live_config = SandboxConfig(image=agent_image, labels={"agentforge.run": run_id})
    with Sandbox(live_config) as live:
        dry = agentforge_cli("sandbox", "reap", "--run", run_id, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"would remove {orphan}: owner process {owner.pid} is gone" in dry.stdout
        assert live.name not in dry.stdout
        assert len(containers_named(orphan)) == 1

        reaped = agentforge_cli("sandbox", "reap", "--run", run_id)
        assert reaped.returncode == 0, reaped.stderr
        assert f"removed {orphan}" in reaped.stdout and "removed 1 container(s)" in reaped.stdout
        assert containers_named(orphan) == []
        # Its disk (a loop filesystem or tmpfs volumes) went with it; the live one's did not.
        assert not disk_volumes(orphan) and not (disk_root() / orphan).exists()
        assert live.exec(["echo", "spared"]).output == "spared\n"
        assert disk_volumes(live.name) or live.disk.choice.mechanism == "none"
    assert containers_named(live.name) == []
    assert not disk_volumes(live.name) and not (disk_root() / live.name).exists()


def test_a_disk_whose_sandbox_and_owner_are_gone_is_reaped(agent_image: str, missing):
    from agentforge.sandbox.reaper import reap_disks

    owner = subprocess.Popen([sys.executable, "-c", CRASHING_OWNER, agent_image, "disk-test"],
                             stdout=subprocess.PIPE, text=True)
    try:
        orphan = owner.stdout.readline().strip()
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(30)
    # The container went some other way (`docker rm -f`); its disk stayed behind.
    docker_client().api.remove_container(orphan, force=True)
    if not disk_volumes(orphan):
        missing("no disk mechanism bounds sandboxes here (see agentforge doctor)")
    with Sandbox(SandboxConfig(image=agent_image)) as live:
        reaped = [entry.name for entry in reap_disks(everything=False, dry_run=False)]
        assert f"{orphan} (disk)" in reaped and f"{live.name} (disk)" not in reaped
        assert not disk_volumes(orphan) and not (disk_root() / orphan).exists()
        assert live.exec(["echo", "spared"]).output == "spared\n"


def test_the_reaper_tolerates_containers_removed_while_it_lists(agent_image: str):
    # Another process on the engine (a second run starting, its sandboxes finishing) removes
    # containers between the reaper's listing and its look at each one.
    from agentforge.sandbox.container import standard_labels
    from agentforge.sandbox.reaper import reap

    client = docker_client()
    stop = threading.Event()
    churned = []

    def churn() -> None:
        while not stop.is_set():
            container = client.containers.create(
                agent_image, ["true"], name=f"agentforge-churn-{uuid.uuid4().hex[:12]}",
                labels=standard_labels())  # our pid: alive, so no reaper takes it
            container.remove(force=True)
            churned.append(container.name)

    churners = [threading.Thread(target=churn) for _ in range(3)]
    for thread in churners:
        thread.start()
    try:
        for _ in range(40):
            reaped = reap(dry_run=True)  # lists containers and disks, as every start does
            assert not any(entry.name.startswith("agentforge-churn-") for entry in reaped)
    finally:
        stop.set()
        for thread in churners:
            thread.join(timeout=60)
    assert len(churned) > 40  # containers did vanish while the reaper listed
