"""Every phase of a run on the open page, as it happens: a process starting, held-out
re-scoring by a real `agentforge evolve finalize` (Docker), runs that appear after the page
opened; and a header that keeps its height through all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_server import TIMEOUT, LiveServer, holding_the_lock, open_page, wait_until

from agentforge.web.synthetic import write_synthetic_run

pytestmark = [pytest.mark.browser]


def _pill(page) -> str:
    return page.locator("#run-status").inner_text()


def _header_height(page) -> float:
    return page.locator("#bar").bounding_box()["height"]


def test_a_starting_process_is_not_gone_and_the_header_keeps_its_height(page, tmp_path):
    run = write_synthetic_run(tmp_path / "runs" / "live", 12, files_for=0)
    server = LiveServer([run.path])
    try:
        open_page(page, server.url)
        assert _pill(page) == "running · process gone"  # status running, nobody behind it
        height = _header_height(page)
        holder = holding_the_lock(run.path)
        try:
            wait_until(page, "document.querySelector('#run-status').textContent === 'starting'")
            assert _header_height(page) == height
            # The process writes what is in flight: a long line, ellipsized, same height.
            busy = [{"node_id": n, "task_id": f"py-task-{n:02d}-with-a-long-name",
                     "split": "validation"} for n in run.node_ids]
            (run.path / "live.json").write_text(json.dumps({
                "running": True, "pid": holder.pid, "updated_at": time.time(),
                "improving": run.node_ids[:6], "evaluating": busy, "queued": 3}))
            wait_until(page, "document.querySelector('#run-status').textContent === 'running'")
            assert "py-task" in page.locator("#run-flight").get_attribute("title")
            assert page.locator("path.node.inflight").count() == len(run.node_ids)
            assert _header_height(page) == height
        finally:
            holder.kill()
            holder.wait()
        wait_until(page, "document.querySelector('#run-status').textContent"
                         " === 'running · process gone'")
        assert _header_height(page) == height
        assert not page.errors
    finally:
        server.stop()


def test_a_top_up_before_the_finalists_is_shown_with_its_evaluations(page, tmp_path):
    from agentforge.store import SqlStore

    run = write_synthetic_run(tmp_path / "runs" / "topup", 12, files_for=0, in_flight=0)
    thin = run.node_ids[5]
    store = SqlStore.open(run.path / "archive.sqlite")
    store.update_run(run.run_id, status="finished")
    store.start_evaluation(thin, "py-task-11", split="validation")  # started, not finished
    store.close()
    server = LiveServer([run.path])
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        open_page(page, server.url)
        height = _header_height(page)
        # What `finalize` writes while it tops up (its own pid: alive), then while it re-scores.
        live = {"running": False, "pid": sleeper.pid, "updated_at": time.time(),
                "phase": "finalize", "finalists": [], "top_up": [thin]}
        (run.path / "live.json").write_text(json.dumps(live))
        wait_until(page, "document.querySelector('#run-status').textContent"
                         " === 'finalizing: top-up'")
        flight = page.locator("#run-flight").inner_text()
        assert flight.startswith(f"before choosing finalists: more validation tasks for nodes "
                                 f"{thin} · evaluating {thin}:py-task-11"), flight
        assert page.locator(f"path.node.inflight[data-id='{thin}']").count() == 1
        assert _header_height(page) == height
        (run.path / "live.json").write_text(json.dumps(
            {**live, "top_up": None, "finalists": [thin], "held_out_tasks": 4}))
        wait_until(page, "document.querySelector('#run-status').textContent"
                         " === 'finalizing: held-out'")
        assert page.locator("#run-flight").inner_text().startswith(
            f"re-scoring nodes {thin} on held-out tasks: 0/4 done")
        assert not page.errors
    finally:
        sleeper.kill()
        sleeper.wait()
        server.stop()


def test_the_page_notices_runs_created_after_it_opened(page, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    server = LiveServer([folder])
    try:
        open_page(page, server.url)
        assert "No run found yet" in page.locator("#tab-node").inner_text()
        first = write_synthetic_run(folder / "first", 5, files_for=0)
        page.locator("path.node").nth(4).wait_for(timeout=TIMEOUT)  # opened by itself
        assert page.locator(f"path.node[data-id='{first.node_ids[-1]}']").count() == 1
        write_synthetic_run(folder / "second", 3, files_for=0)
        page.locator("#run-select option[value='second']").wait_for(state="attached",
                                                                    timeout=TIMEOUT)
        assert page.locator("path.node").count() == 5  # still on the run it opened
        assert not page.errors
    finally:
        server.stop()


@pytest.fixture(scope="session")
def unfinalized_run(agent_image, tmp_path_factory) -> Path:
    """The demo's one iteration, not finalized: held-out re-scoring is still to do."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))
    from loop_fixtures import demo_config, write_tiny_suite

    root = tmp_path_factory.mktemp("unfinalized")
    suite = write_tiny_suite(root / "suite", ["py-tiny-add", "py-tiny-greet"], ["py-tiny-shout"])
    config = demo_config(root, suite, seed_solves=("py-tiny-add",))
    run_dir = root / "runs" / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--config", str(config), "--run-dir",
         str(run_dir), "--no-finalize", "--quiet"],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.timeout(1800)  # a demo run and its finalize, in Docker, on a busy machine
def test_held_out_rescoring_is_shown_while_it_runs(page, unfinalized_run):
    server = LiveServer([unfinalized_run.parent])
    try:
        open_page(page, server.url)
        assert _pill(page) == "finished (iterations)"
        height = _header_height(page)
        finalize = subprocess.Popen(
            [sys.executable, "-m", "agentforge", "evolve", "finalize", str(unfinalized_run)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "NO_COLOR": "1"})
        try:
            wait_until(page, "document.querySelector('#run-status').textContent"
                             " === 'finalizing: held-out'", timeout_ms=300_000)
            flight = page.locator("#run-flight").inner_text()
            assert "re-scoring nodes" in flight and "on held-out tasks" in flight, flight
            # A held-out evaluation in flight: named in the header, its node pulsing.
            wait_until(page, "document.querySelector('#run-flight').textContent"
                             ".includes('evaluating')", timeout_ms=300_000)
            assert "py-tiny-" in page.locator("#run-flight").inner_text()
            assert page.locator("path.node.inflight").count() >= 1
            assert _header_height(page) == height
            output = finalize.communicate(timeout=1200)[0]
            assert finalize.returncode == 0, output[-3000:]
        finally:
            if finalize.poll() is None:
                finalize.kill()
        wait_until(page, "document.querySelector('#run-status').textContent"
                         " === 'finished (iterations)'", timeout_ms=60_000)
        assert page.locator("#run-flight").inner_text() == ""
        assert (unfinalized_run / "report.json").is_file()
        assert _header_height(page) == height
        assert not page.errors
    finally:
        server.stop()
