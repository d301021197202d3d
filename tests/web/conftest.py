"""Fixtures of the web view tests: generated archives written through the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agentforge.web.app import create_app
from agentforge.web.synthetic import write_synthetic_run


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> object:
    """A 40-node generated run whose node 2 carries injection payloads everywhere."""
    root = tmp_path_factory.mktemp("runs")
    return write_synthetic_run(root / "hostile", 40, hostile=True, seed=3)


@pytest.fixture(scope="session")
def client(hostile_run) -> TestClient:
    """The app on the runs folder of `hostile_run`, spoken to as http://127.0.0.1."""
    with TestClient(create_app([Path(hostile_run.path).parent]),
                    base_url="http://127.0.0.1:8765") as client:
        yield client
