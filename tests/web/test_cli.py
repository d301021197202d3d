"""`agentforge web` as a user runs it: a real server process on loopback, its token, its errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from typer.testing import CliRunner

from agentforge.cli import app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(args: list[str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "agentforge", "web", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NO_COLOR": "1"})
    first = process.stdout.readline()
    return process, first


def _wait(url: str, **kwargs) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=5, **kwargs)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_web_serves_a_folder_of_runs_on_loopback(hostile_run):
    port = _free_port()
    process, line = _serve([str(hostile_run.path.parent), "--port", str(port)])
    try:
        assert f"http://127.0.0.1:{port}/" in line and "token" not in line
        runs = _wait(f"http://127.0.0.1:{port}/api/runs").json()
        assert [r["name"] for r in runs] == ["hostile"]
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "/static/vendor/d3.min.js" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/vendor/d3.min.js").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_a_non_loopback_host_gets_a_generated_token(hostile_run):
    port = _free_port()
    process, line = _serve([str(hostile_run.path), "--host", "0.0.0.0", "--port", str(port)])
    try:
        assert "?token=" in line and "0.0.0.0" not in line  # an address a browser can use
        token = line.strip().rsplit("?token=", 1)[1]
        assert len(token) >= 24
        assert _wait(f"http://127.0.0.1:{port}/api/runs").status_code == 401
        ok = httpx.get(f"http://127.0.0.1:{port}/api/runs", params={"token": token})
        assert ok.status_code == 200 and ok.json()[0]["run_id"] == hostile_run.run_id
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_a_folder_with_no_runs_says_so(tmp_path):
    port = _free_port()
    process, _line = _serve([str(tmp_path), "--port", str(port)])
    # Read on a thread: a server that says nothing more must fail the test, not hang it.
    pool = ThreadPoolExecutor(1)
    try:
        said = pool.submit(process.stdout.readline).result(timeout=60)
        assert said.startswith("no runs there yet") and f"--run-dir {tmp_path}/NAME" in said
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        pool.shutdown()


def test_a_path_that_is_not_a_directory_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope"
    done = CliRunner().invoke(app, ["web", str(missing)])
    assert done.exit_code != 0
    assert "is not a directory" in str(done.exception) or "is not a directory" in done.output
    out = tmp_path / "x.html"
    done = CliRunner().invoke(app, ["web", "export", str(tmp_path), "--out", str(out)])
    assert done.exit_code != 0 and not out.exists()


def test_help_of_web_and_of_web_export():
    runner = CliRunner()
    web = runner.invoke(app, ["web", "--help"])
    assert web.exit_code == 0 and "--host" in web.output and "--token" in web.output
    export = runner.invoke(app, ["web", "export", "--help"])
    assert export.exit_code == 0 and "--out" in export.output and "--host" not in export.output
