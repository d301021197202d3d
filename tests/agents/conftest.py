"""Fixtures of the agent reference, export and API tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from run_fixture import make_run


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A run directory with a seed, an improved child (the best) and an invalid child."""
    return make_run(tmp_path_factory.mktemp("runs") / "demo")
