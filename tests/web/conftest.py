"""Fixtures of the web view tests: generated archives written through the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_server import CHROMIUM, CHROMIUM_ARGS, LiveServer

from agentforge.web.app import create_app
from agentforge.web.synthetic import write_synthetic_run


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory) -> object:
    """A 40-node generated run whose node 2 carries injection payloads everywhere."""
    root = tmp_path_factory.mktemp("runs")
    return write_synthetic_run(root / "hostile", 40, hostile=True, seed=3)


@pytest.fixture(scope="session")
def big_run(tmp_path_factory) -> object:
    """A 5,000-node generated run (a minute or two to write: tests that use it are slow)."""
    root = tmp_path_factory.mktemp("big")
    return write_synthetic_run(root / "big", 5000, seed=7, files_for=0)


@pytest.fixture(scope="session")
def client(hostile_run) -> TestClient:
    """The app on the runs folder of `hostile_run`, spoken to as http://127.0.0.1."""
    with TestClient(create_app([Path(hostile_run.path).parent]),
                    base_url="http://127.0.0.1:8765") as client:
        yield client


@pytest.fixture(scope="session")
def browser(missing):
    """Debian's Chromium driven by Playwright (nothing downloads a browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is missing: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        missing("Chromium is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(hostile_run):
    """The app on the hostile run's folder, over real HTTP."""
    server = LiveServer([Path(hostile_run.path).parent])
    yield server
    server.stop()


@pytest.fixture
def page(browser, tmp_path):
    """A fresh browser page that records script errors (a test asserts there are none)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()
