"""Fixtures for the checks of the bundled suite (benchmarks/local)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def toolchains_image(agent_image) -> str:
    """The Go image (agent runtime + golang-go), built for the current sources if missing."""
    from agentforge.sandbox.images import build_image

    return build_image("toolchains", log=lambda _msg: None)
