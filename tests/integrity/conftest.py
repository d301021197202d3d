"""Fixtures for the integrity tests: cheating predictions built against real task snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentforge.bench import get_benchmark

FIXTURES = Path(__file__).parent.parent / "bench" / "fixtures"


@pytest.fixture(scope="session")
def local():
    """The bundled suite."""
    return get_benchmark("local")


@pytest.fixture(scope="session")
def polyglot():
    """The Polyglot fixture (one exercise per language)."""
    return get_benchmark("polyglot", source=FIXTURES / "polyglot")
