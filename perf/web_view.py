"""The web view at 5,000 nodes: time to the tree drawn, node-detail latency, summary bytes.

Generates a run of realistic shape (DGM-like branching, about a fifth invalid, written
through the store), serves it on loopback, and measures in Debian's headless Chromium the
time from navigation to every node of the tree drawn (target <= 1 s), then the median
latency of the node-detail route over many nodes (target <= 100 ms) and the bytes of the
node-summary payload; and how long a node written to the store takes to appear on the open
page (the change feed; target about 2 s). The feed adds one node to the run it measures.

    python perf/web_view.py [--nodes 5000] [--samples 50] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))
from web_server import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402

from agentforge.web.synthetic import SyntheticRun, write_synthetic_run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--keep", type=Path,
                        help="write the run here and keep it (reused when already there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        started = time.perf_counter()
        if (root / "perf-run" / "archive.sqlite").is_file():
            run = SyntheticRun(root / "perf-run", "", list(range(1, args.nodes + 1)))
        else:
            run = write_synthetic_run(root / "perf-run", args.nodes, seed=7, files_for=50)
            print(f"generated {args.nodes:,} nodes:         "
                  f"{time.perf_counter() - started:6.1f} s")
        server = LiveServer([run.path])
        try:
            measure(server, run, args.samples)
        finally:
            server.stop()


def measure(server: LiveServer, run, samples: int) -> None:
    """Print the three figures for the run `server` serves."""
    from playwright.sync_api import sync_playwright

    base = server.url + "api/runs/perf-run"
    with httpx.Client(timeout=60) as client:
        answer = client.get(base + "/nodes", headers={"Accept-Encoding": "gzip"})
        body, wire = answer.content, answer.num_bytes_downloaded
        client.get(base + "/nodes/1")  # warm the archive and git
        step = max(1, len(run.node_ids) // samples)
        latencies = []
        for node_id in run.node_ids[::step][:samples]:
            started = time.perf_counter()
            client.get(f"{base}/nodes/{node_id}").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url)  # first visit: the server computes the payloads (cold)
        page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        cold = page.evaluate(
            "performance.getEntriesByName('agentforge-tree-drawn')[0].startTime") / 1000
        timings = []
        for _ in range(3):
            page.goto(server.url + "?again")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            drawn_nodes = page.locator("path.node").count()
            # ms from the start of navigation to the tree drawn (a mark main.js sets)
            timings.append(page.evaluate(
                "performance.getEntriesByName('agentforge-tree-drawn')[0].startTime") / 1000)
        feed = _feed_latency(page, run)
        browser.close()
    if drawn_nodes != len(run.node_ids):
        print(f"WARNING: {drawn_nodes} nodes drawn, {len(run.node_ids)} in the run")
    drawn = statistics.median(timings)
    median = statistics.median(latencies)
    print(f"summary payload:               {len(body) / 1024:8.1f} KiB "
          f"({len(body) / len(run.node_ids):.0f} bytes/node; {wire / 1024:.1f} KiB gzipped)")
    print(f"navigation to tree drawn:      {drawn * 1000:8.0f} ms (median of 3, payloads cached "
          f"by version; target <= 1000)  {'met' if drawn <= 1 else 'MISSED'}")
    print(f"  first navigation (cold):     {cold * 1000:8.0f} ms (the server builds the payloads)")
    print(f"new node on the open page:     {feed * 1000:8.0f} ms (store write to drawn; "
          "target about 2000)")
    print(f"node detail, median of {len(latencies)}:    {median:8.1f} ms (target <= 100)  "
          f"{'met' if median <= 100 else 'MISSED'}")


def _feed_latency(page, run) -> float:
    """Seconds from a node written to the store to the node drawn on the open page."""
    from agentforge.store import SqlStore

    store = SqlStore.open(run.path / "archive.sqlite")
    try:
        run_id = store.list_runs()[0].id
        started = time.perf_counter()
        node = store.add_node(run_id, parent_id=1)
    finally:
        store.close()
    page.wait_for_selector(f"path.node[data-id='{node.id}']", timeout=60_000, state="attached")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
