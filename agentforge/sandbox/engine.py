"""Connection to the Docker engine, with an error that says how to start it."""

from __future__ import annotations

import functools
import os
import socket
import time

import docker
from docker.errors import DockerException

from agentforge.errors import EngineUnavailable

LABEL = "agentforge.sandbox"
"""Every container agentforge creates carries this label; the reaper looks for it."""


def standard_labels(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels that let `agentforge sandbox reap` find and judge a container."""
    return {
        LABEL: "1",
        "agentforge.host": socket.gethostname(),
        "agentforge.owner-pid": str(os.getpid()),
        "agentforge.created": str(int(time.time())),
        **(extra or {}),
    }


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@functools.cache
def docker_client() -> docker.DockerClient:
    """Return a shared client for the local engine, or raise EngineUnavailable saying what to do."""
    try:
        client = docker.from_env(timeout=120, max_pool_size=64)
        client.ping()
    except DockerException as exc:
        raise EngineUnavailable(
            f"Docker engine not reachable at {engine_address()} ({exc}). "
            "Start it (`sudo systemctl start docker`, or `sudo dockerd &` without systemd), "
            "make sure your user may use it (`sudo usermod -aG docker $USER`), "
            "or point DOCKER_HOST at a running engine."
        ) from exc
    return client
