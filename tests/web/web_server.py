"""A real server for the browser tests and perf/web_view.py: uvicorn on a free loopback port.

(A module of its own, not conftest: tests/evolve has a conftest too, and `import conftest`
would find whichever folder came first on sys.path.)
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from agentforge.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class LiveServer:
    """uvicorn serving the app on a free loopback port, in a thread of the test process."""

    def __init__(self, paths: list[Path], token: str | None = None) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(paths, token=token), host="127.0.0.1",
                                port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=30)


TIMEOUT = 30_000  # ms a page is given to show something; generous, the machine is loaded


def open_page(page, url: str) -> None:
    """Go to `url` and wait until the page has drawn its run (or said there is none)."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT)


def node_rows(client, run: str) -> list[dict]:
    """The run's node summaries as dicts, from the API."""
    body = client.get(f"/api/runs/{run}/nodes").json()
    return [dict(zip(body["fields"], row, strict=True)) for row in body["rows"]]


def wait_until(page, expression: str, timeout_ms: int = TIMEOUT):
    """Poll a JavaScript expression until it is truthy (the page's CSP forbids the `eval` that
    Playwright's wait_for_function needs); its last value."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(100)


_HOLD = """import sys, time
from agentforge.evolve.rundir.lock import hold_run_lock
with hold_run_lock(sys.argv[1]):
    print('held', flush=True)
    time.sleep(120)
"""


def holding_the_lock(run_dir: Path):
    """A real process holding DIR/run.lock, as evolve does before it writes live.json (kill it)."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", _HOLD, str(run_dir)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process
