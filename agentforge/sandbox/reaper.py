"""Removing containers that a crashed or killed run left behind, found by their labels."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from docker.errors import APIError, NotFound

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
    # ignore_removed: another process may remove a listed container before it is inspected.
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
            except APIError as exc:
                # Gone already, or another process's reap is removing it (409): not ours to do.
                if isinstance(exc, NotFound) or exc.status_code == 409:
                    continue
                raise
        reaped.append(ReapedContainer(container.name, reason))
    return reaped
