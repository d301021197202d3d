"""Fixtures of the loop tests (helpers live in loop_fixtures.py, importable by name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from loop_fixtures import write_tiny_suite


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    """Three validation tasks and one held-out task."""
    return write_tiny_suite(tmp_path / "suite", ["py-tiny-add", "py-tiny-greet", "py-tiny-double"],
                            ["py-tiny-shout"])
