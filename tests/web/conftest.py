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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


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


class LiveServer:
    """uvicorn serving the app on a free loopback port, in a thread of the test process."""

    def __init__(self, paths: list[Path], token: str | None = None) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(paths, token=token), host="127.0.0.1",
                                port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=30)


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
