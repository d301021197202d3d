"""Runs on a Ray cluster of several nodes (started here, on loopback) with the archive in
PostgreSQL: the same archive as the local executor, a Ray worker killed mid-evaluation, the
driver killed with kill -9 and resumed, and SQLite refused for a multi-node cluster.

The scripted model and the bundled tiny suite make every run deterministic, so "the same
archive" is exact: nodes, parents, statuses, every evaluation and its verdict.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loop_fixtures import demo_config, finished_evaluations

from agentforge.store import SqlStore
from agentforge.web.archive import RunArchive

pytestmark = pytest.mark.slow
EVOLVE = [sys.executable, "-m", "agentforge", "evolve", "--quiet"]
RUN_TIMEOUT = 1500


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> Path:
    """The demo's config on the tiny suite (shared by every run here)."""
    from loop_fixtures import write_tiny_suite

    root = tmp_path_factory.mktemp("ray-demo")
    suite = write_tiny_suite(root / "suite", ["py-tiny-add", "py-tiny-greet", "py-tiny-double"],
                             ["py-tiny-shout"])
    return demo_config(root, suite, seed_solves=("py-tiny-add",))


def archive_of(store_url: str) -> dict:
    """Nodes (parent, status, reason kind, commit) and finished evaluations, comparably;
    fails if an evaluation was finished twice or one is left unfinished."""
    store = SqlStore.open(store_url)
    try:
        run_id = store.list_runs()[0].id
        listed = store.list_nodes(run_id)
        nodes = {n.id: (n.parent_id, n.status.value, (n.reason or "").split(":")[0])
                 for n in listed}
        finished = store.list_evaluations(run_id, finished=True)
        keys = [(e.node_id, e.task_id, e.split) for e in finished]
        assert len(keys) == len(set(keys)), f"an evaluation was recorded twice: {sorted(keys)}"
        assert not store.list_evaluations(run_id, finished=False)
        return {"nodes": nodes,
                "evaluations": {(e.node_id, e.task_id, e.split): bool(e.resolved)
                                for e in finished},
                "tokens": {(e.node_id, e.task_id, e.split): e.tokens for e in finished},
                "why": {(e.node_id, e.task_id, e.split): e.reason for e in finished},
                "run": (store.get_run(run_id).status, store.get_run(run_id).iterations),
                "reasons": {n.id: n.reason for n in listed}}
    finally:
        store.close()


@pytest.fixture(scope="session")
def local_archive(demo_files, tmp_path_factory, agent_image) -> dict:
    """The reference: the demo with the local executor, same seed."""
    run_dir = tmp_path_factory.mktemp("ray-reference") / "run"
    done = subprocess.run([*EVOLVE, "--config", str(demo_files), "--run-dir", str(run_dir)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return archive_of(str(run_dir / "archive.sqlite"))


def ray_flags(cluster, store_url: str) -> list[str]:
    return ["--set", "evaluation.executor=ray",
            "--set", f"evaluation.ray_address={cluster.address}", "--set", f"store={store_url}"]


def same_archive(ray_run: dict, local: dict) -> None:
    assert ray_run["nodes"] == local["nodes"], ray_run["reasons"]
    differ = {key: (ray_run["why"].get(key), local["why"].get(key))
              for key in {*ray_run["why"], *local["why"]}
              if ray_run["evaluations"].get(key) != local["evaluations"].get(key)}
    assert ray_run["evaluations"] == local["evaluations"], differ
    assert ray_run["run"] == local["run"]


def test_the_demo_on_a_ray_cluster_builds_the_same_archive_as_locally(
        ray_cluster, postgres_url, demo_files, local_archive, tmp_path):
    done = subprocess.run([*EVOLVE, "--config", str(demo_files), "--run-dir",
                           str(tmp_path / "run"), *ray_flags(ray_cluster, postgres_url)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    ray_run = archive_of(postgres_url)
    same_archive(ray_run, local_archive)
    # The nodes' gateways booked the agents' model calls into the run's ledger.
    assert all(tokens > 0 for tokens in ray_run["tokens"].values()), ray_run["tokens"]
    assert ray_run["tokens"] == local_archive["tokens"]
    assert not (tmp_path / "run" / "archive.sqlite").exists()  # the archive is in PostgreSQL
    # Trajectories came back from the nodes into the run directory.
    assert list((tmp_path / "run" / "nodes").rglob("trajectory.json"))
    # status and the web view read the archive from PostgreSQL by the run's config.
    shown = subprocess.run([sys.executable, "-m", "agentforge", "status", str(tmp_path / "run"),
                            "--json"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert len(json.loads(shown.stdout)["nodes"]) == len(local_archive["nodes"])
    web = RunArchive(tmp_path / "run")
    try:
        rows = web.nodes()["rows"]
        assert [row[0] for row in rows] == sorted(local_archive["nodes"])
        assert web.version() and web.summary()
    finally:
        web.close()


def ray_job_pids(function: str) -> list[int]:
    """Ray worker processes executing `function` right now (Ray titles them ray::NAME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if title.startswith(f"ray::{function}"):
            found.append(int(entry.name))
    return found


def test_a_ray_worker_killed_mid_evaluation_loses_and_duplicates_nothing(
        ray_cluster, postgres_url, demo_files, local_archive, tmp_path):
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen([*EVOLVE, "--config", str(demo_files), "--run-dir",
                            str(tmp_path / "run"), *ray_flags(ray_cluster, postgres_url)],
                           stdout=log, stderr=subprocess.STDOUT)
    killed = None
    deadline = time.monotonic() + 600
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        pids = ray_job_pids("evaluate_on_node")
        if pids:
            time.sleep(2)  # inside the job: its sandbox is up and the agent at work
            if pids[0] in ray_job_pids("evaluate_on_node"):
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
        time.sleep(0.2)
    assert killed is not None, (tmp_path / "run.log").read_text()[-3000:]
    assert run.wait(timeout=RUN_TIMEOUT) == 0, (tmp_path / "run.log").read_text()[-3000:]
    same_archive(archive_of(postgres_url), local_archive)


def test_the_driver_killed_with_sigkill_resumes_on_the_cluster(
        ray_cluster, postgres_url, demo_files, local_archive, tmp_path):
    run_dir = tmp_path / "run"
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen([*EVOLVE, "--config", str(demo_files), "--run-dir", str(run_dir),
                              *ray_flags(ray_cluster, postgres_url)],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 900
    try:  # mid-way: some evaluations finished, more under way
        while time.monotonic() < deadline and first.poll() is None:
            if len(finished_evaluations(postgres_url)) >= 2 and ray_job_pids("evaluate_on_node"):
                break
            time.sleep(0.5)
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = finished_evaluations(postgres_url)
    resumed = subprocess.run([*EVOLVE, "--resume", str(run_dir)], capture_output=True,
                             text=True, timeout=RUN_TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = archive_of(postgres_url)
    assert {k: after["evaluations"][k] for k in before} == before  # nothing finished lost
    same_archive(after, local_archive)


def test_sqlite_on_a_multi_node_cluster_is_refused_before_anything_is_written(
        ray_cluster, demo_files, tmp_path):
    run_dir = tmp_path / "run"
    done = subprocess.run([*EVOLVE, "--config", str(demo_files), "--run-dir", str(run_dir),
                           "--set", "evaluation.executor=ray",
                           "--set", f"evaluation.ray_address={ray_cluster.address}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "2 nodes" in done.stderr and "PostgreSQL" in done.stderr, done.stderr[-2000:]
    assert "store = \"postgresql://" in done.stderr
    assert not run_dir.exists()


def test_a_node_lost_mid_evaluation_reruns_its_job_elsewhere(
        ray_cluster, postgres_url, demo_files, local_archive, tmp_path):
    worker = next(node for node in ray_cluster.list_all_nodes()
                  if node is not ray_cluster.head_node)
    raylet = next(process.pid for kind, process in worker.live_processes() if kind == "raylet")
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen([*EVOLVE, "--config", str(demo_files), "--run-dir",
                            str(tmp_path / "run"), *ray_flags(ray_cluster, postgres_url)],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        # Wait until a job runs on the worker node (its raylet is the parent of the job).
        while time.monotonic() < deadline and run.poll() is None:
            if any(parent_pid(pid) == raylet for pid in ray_job_pids("evaluate_on_node")):
                break
            time.sleep(0.2)
        assert run.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
        time.sleep(2)
        ray_cluster.remove_node(worker, allow_graceful=False)  # as `ray stop --force` there
        assert run.wait(timeout=RUN_TIMEOUT) == 0, (tmp_path / "run.log").read_text()[-3000:]
        same_archive(archive_of(postgres_url), local_archive)
    finally:
        if run.poll() is None:
            run.kill()
        ray_cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")  # for later tests
        ray_cluster.wait_for_nodes()


def parent_pid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0
