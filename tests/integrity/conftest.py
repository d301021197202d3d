"""Fixtures for the integrity tests: cheating predictions built against real task snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentforge.bench import get_benchmark

FIXTURES = Path(__file__).parent.parent / "bench" / "fixtures"


@pytest.fixture(scope="session")
def toolchains_image(agent_image) -> str:
    """The Go image, built on demand."""
    from agentforge.sandbox.images import build_image

    return build_image("toolchains", log=lambda _msg: None)


@pytest.fixture(scope="session")
def polyglot_image(toolchains_image) -> str:
    """The six-language image, built on demand (several minutes the first time)."""
    from agentforge.sandbox.images import build_image

    return build_image("polyglot", log=lambda _msg: None)


@pytest.fixture(scope="session")
def local():
    """The bundled suite."""
    return get_benchmark("local")


@pytest.fixture(scope="session")
def polyglot():
    """The Polyglot fixture (one exercise per language)."""
    return get_benchmark("polyglot", source=FIXTURES / "polyglot")
