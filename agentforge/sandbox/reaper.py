"""Removing containers that a crashed or killed run left behind, found by their labels."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from docker.errors import APIError, NotFound

from agentforge.sandbox.disk import leftover_disks, release_disk
from agentforge.sandbox.engine import LABEL, docker_client


@dataclass
class ReapedContainer:
    """A leftover container and why it was (or would be) removed."""

    name: str
    reason: str


def _owner_alive(labels: dict[str, str]) -> bool:
    if labels.get("agentforge.host") != socket.gethostname():
        return True  # another machine's process: we cannot tell, so leave it alone
    try:
        os.kill(int(labels.get("agentforge.owner-pid", "0")), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return int(labels.get("agentforge.owner-pid", "0")) > 0


def reap(*, everything: bool = False, older_than: float | None = None, dry_run: bool = False,
         run_id: str | None = None) -> list[ReapedContainer]:
    """Remove agentforge containers whose owner process is gone (or all, or older ones)."""
    filters = {"label": [LABEL] + ([f"agentforge.run={run_id}"] if run_id else [])}
    reaped = []
    now = time.time()
    # ignore_removed: a container removed while listing (another process reaping) is no error.
    for container in docker_client().containers.list(all=True, filters=filters,
                                                     ignore_removed=True):
        labels = container.labels
        age = now - float(labels.get("agentforge.created", now))
        if everything:
            reason = "all agentforge containers requested"
        elif older_than is not None and age > older_than:
            reason = f"older than {older_than:.0f}s"
        elif not _owner_alive(labels):
            reason = f"owner process {labels.get('agentforge.owner-pid')} is gone"
        else:
            continue
        if not dry_run:
            try:
                container.remove(v=True, force=True)
            except NotFound:
                continue
            except APIError as exc:
                if exc.status_code == 409:  # another process is removing it right now
                    continue
                raise
            release_disk(container.name)
        reaped.append(ReapedContainer(container.name, reason))
    if run_id is None:
        reaped += reap_disks(everything=everything, dry_run=dry_run)
    return reaped


def reap_disks(*, everything: bool, dry_run: bool) -> list[ReapedContainer]:
    """Sandbox disks (loop filesystems, named volumes) whose sandbox is gone."""
    api = docker_client().api
    owners: dict[str, dict[str, str]] = {}
    for name, owner in leftover_disks():
        host, _, pid = owner.partition(" ")
        owners[name] = {"agentforge.host": host, "agentforge.owner-pid": pid or "0"}
    volumes = api.volumes(filters={"label": "agentforge.disk-of"}).get("Volumes") or []
    for volume in volumes:
        labels = volume.get("Labels") or {}
        owners.setdefault(labels["agentforge.disk-of"], labels)
    # Names from the listing alone: inspecting each container would fail on one that another
    # process removes meanwhile (two runs on one engine reap at their starts).
    listed = api.containers(all=True, filters={"label": LABEL})
    live = {name.lstrip("/") for container in listed for name in container.get("Names") or []}
    reaped = []
    for name, labels in sorted(owners.items()):
        if name in live or not (everything or not _owner_alive(labels)):
            continue  # in use, or its owner may still be starting it
        if not dry_run:
            release_disk(name)
        reaped.append(ReapedContainer(f"{name} (disk)", "its sandbox is gone"))
    return reaped
