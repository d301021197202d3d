"""Signals and time on a real `agentforge evolve` process: Ctrl-C once drains, twice aborts,
SIGTERM is Ctrl-C once, the wall-time budget ends the run on time; every time the archive
holds and `--resume` finishes the run as if nothing had happened."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from run_fixtures import (
    EVOLVE,
    archive_state,
    containers_of,
    demo_run_config,
    evaluation_rows,
    expected_complete_archive,
    in_flight,
    set_model_delay,
    start_run,
    wait_until,
)

pytestmark = pytest.mark.slow


def _resume_to_the_end(root, run_dir) -> None:
    """`--resume` with a prompt model: the run finishes with the complete, consistent archive."""
    set_model_delay(root, 0)
    resumed = subprocess.run([*EVOLVE, "--resume", str(run_dir)], capture_output=True,
                             text=True, timeout=1500)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = archive_state(run_dir)
    assert state.problems == [] and state.integrity == "ok"
    assert (state.status, state.stop_reason) == ("finished", "iterations")
    assert state.unfinished == []
    assert state.finished == expected_complete_archive()


def _stop_once(root, agent_image, signum: int, to_group: bool):
    """Start a run, signal it once while the seed's first task is in flight; wait for its end."""
    config = demo_run_config(root, model_delay=15)
    run_dir = root / "run"
    run = start_run(root, ["--config", str(config), "--run-dir", str(run_dir)])
    try:
        wait_until(lambda: in_flight(run_dir), run, 600, "evaluation in flight")
        # A second process on the same run is refused by the first one's lock.
        second = subprocess.run([*EVOLVE, "--resume", str(run_dir)], capture_output=True,
                                text=True, timeout=300)
        assert second.returncode == 2
        assert f"in use by agentforge pid {run.process.pid}" in second.stderr
        if to_group:
            run.signal_group(signum)
        else:
            run.process.send_signal(signum)
        code = run.wait(timeout=900)
    finally:
        run.kill()
    output = run.output()
    assert code == 0, output[-3000:]
    assert "stopping: no new work starts" in output
    assert "run stopped (Ctrl-C or SIGTERM)" in output
    assert "not finalized; continue with" in output
    return run, run_dir


def test_ctrl_c_once_finishes_work_in_flight_and_starts_none(agent_image, tmp_path):
    run, run_dir = _stop_once(tmp_path, agent_image, signal.SIGINT, to_group=True)
    state = archive_state(run_dir)
    assert state.problems == [] and state.integrity == "ok"
    assert (state.status, state.stop_reason) == ("stopped", "stopped")
    # The seed's first task was in flight: it finished and was recorded; nothing new started
    # (no self-improvement step, no second stage).
    assert state.unfinished == []
    assert list(state.finished) == [(1, "py-tiny-double", "validation")]
    assert state.nodes == [(None, "evaluating")]
    assert containers_of(run.process.pid) == []
    assert (run_dir / "run.lock").read_text() == ""  # released, not left for a takeover


def test_sigterm_is_ctrl_c_once(agent_image, tmp_path):
    run, run_dir = _stop_once(tmp_path, agent_image, signal.SIGTERM, to_group=False)
    state = archive_state(run_dir)
    assert state.problems == [] and (state.status, state.stop_reason) == ("stopped", "stopped")
    assert state.unfinished == [] and list(state.finished) == [(1, "py-tiny-double", "validation")]
    assert containers_of(run.process.pid) == []


def test_ctrl_c_twice_aborts_work_in_flight_and_resume_is_clean(agent_image, tmp_path):
    # Every model answer takes 60 s: the first task is surely still running when we abort.
    config = demo_run_config(tmp_path, model_delay=60)
    run_dir = tmp_path / "run"
    run = start_run(tmp_path, ["--config", str(config), "--run-dir", str(run_dir)])
    try:
        wait_until(lambda: in_flight(run_dir), run, 600, "evaluation in flight")
        run.signal_group(signal.SIGINT)
        wait_until(lambda: "stopping: no new work starts" in run.output(), run, 60,
                   "acknowledgement of the first Ctrl-C")
        run.signal_group(signal.SIGINT)
        started = time.monotonic()
        code = run.wait(timeout=120)
        took = time.monotonic() - started
    finally:
        run.kill()
    output = run.output()
    assert code == 130, output[-3000:]
    assert "aborted: work in flight was dropped" in output
    assert took < 55, f"the abort waited {took:.0f}s: it waited for the model's answer"
    state = archive_state(run_dir)
    assert state.problems == [] and state.integrity == "ok"
    assert (state.status, state.stop_reason) == ("stopped", "aborted")
    # Dropped, not recorded as a failure of the agent: a resume runs it again.
    assert state.finished == {} and state.unfinished == [(1, "py-tiny-double", "validation")]
    # The abandoned sandboxes are removed by the detached remover once the process is gone.
    wait_until(lambda: containers_of(run.process.pid) == [], None, 120,
               "removal of the aborted run's sandboxes")
    _resume_to_the_end(tmp_path, run_dir)


def test_the_wall_time_budget_ends_the_run_on_time(agent_image, tmp_path):
    # Work in flight needs minutes (each model answer takes 120 s): the run must not wait for
    # it beyond drain_seconds after the wall-time budget.
    config = demo_run_config(tmp_path, model_delay=120)
    run_dir = tmp_path / "run"
    started = time.monotonic()
    run = start_run(tmp_path, ["--config", str(config), "--run-dir", str(run_dir),
                               "--set", "budget.max_wall_seconds=15",
                               "--set", "budget.drain_seconds=5"])
    try:
        code = run.wait(timeout=600)
    finally:
        run.kill()
    took = time.monotonic() - started
    output = run.output()
    assert code == 0, output[-3000:]
    assert "run stopped (wall-time budget spent)" in output
    assert "did not finish within budget.drain_seconds" in output
    # 15 s of budget + 5 s of drain + start-up on a loaded machine; waiting for the model
    # would take 120 s more.
    assert took < 100, f"the run took {took:.0f}s"
    state = archive_state(run_dir)
    assert state.problems == [] and (state.status, state.stop_reason) == ("stopped", "wall_time")
    assert state.finished == {}
    assert all(row["reason"] is None for row in evaluation_rows(run_dir))
    wait_until(lambda: containers_of(run.process.pid) == [], None, 120,
               "removal of the dropped work's sandboxes")
