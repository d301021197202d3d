"""The `db_url` fixture that runs a store test on SQLite and on PostgreSQL (the private
server comes from the root conftest's `postgres_url`)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def db_url(request, tmp_path) -> str:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "run.db")
    return request.getfixturevalue("postgres_url")
