"""Shared fixtures. Tests marked `docker` need a real engine and the built sandbox images:
a laptop without them skips with the reason; CI (CI=true) fails instead of skipping."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def missing():
    """`missing(reason)`: skip on a laptop, fail in CI, for a test whose prerequisite is absent."""
    return _missing


@pytest.fixture(scope="session")
def docker_engine():
    """The shared Docker client, or a skip (a failure in CI) when no engine answers."""
    from agentforge.errors import EngineUnavailable
    from agentforge.sandbox.engine import docker_client

    try:
        return docker_client()
    except EngineUnavailable as exc:
        _missing(str(exc))


@pytest.fixture(scope="session")
def agent_image(docker_engine) -> str:
    """Tag of the agent runtime image built for the current sources."""
    from agentforge.errors import ImageMissing
    from agentforge.sandbox.images import require_image

    try:
        return require_image("agent-runtime")
    except ImageMissing as exc:
        _missing(str(exc))


def pytest_collection_modifyitems(config, items):
    # Tests that use the docker fixtures are marked `docker` even if their author forgot.
    for item in items:
        if {"docker_engine", "agent_image"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)
