"""One process per run directory: a live holder refuses a second `agentforge evolve`, a lock
left by `kill -9` is taken over with a line saying so, and a reused PID keeps nothing locked.
(test_run_signals.py checks the same refusal against a real running `agentforge evolve`.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.evolve.rundir.lock import RunLocked, hold_run_lock, owner_alive

HOLDER = """
import sys, time
from agentforge.evolve.rundir.lock import hold_run_lock
with hold_run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path: Path):
    """Another process holding tmp_path/run's lock (killed with SIGKILL at the end)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    yield process, run_dir
    if process.poll() is None:
        process.kill()
        process.wait()


def test_a_second_evolve_on_a_held_run_is_refused_and_changes_nothing(holder):
    process, run_dir = holder
    (run_dir / "config.json").write_text('{"untouched": true}')
    for args in (["--resume", str(run_dir), "--set", "budget.max_iterations=9"],
                 ["finalize", str(run_dir)]):
        done = subprocess.run([sys.executable, "-m", "agentforge", "evolve", *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert f"is in use by agentforge pid {process.pid}" in done.stderr
        assert f"kill -INT {process.pid}" in done.stderr
    assert (run_dir / "config.json").read_text() == '{"untouched": true}'


def test_a_lock_left_by_kill_9_is_taken_over_with_a_line_saying_so(holder):
    process, run_dir = holder
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    left = json.loads((run_dir / "run.lock").read_text())
    assert left["pid"] == process.pid  # the file still names the dead holder
    said: list[str] = []
    with hold_run_lock(run_dir, say=said.append) as mine:
        assert mine["pid"] == os.getpid()
        assert json.loads((run_dir / "run.lock").read_text())["pid"] == os.getpid()
    assert said == [f"taking over the lock of {run_dir} left by pid {process.pid} on "
                    f"{left['host']} (since {left['since']}): that process is gone"]
    # Released cleanly: the next holder has nothing to take over.
    said.clear()
    with hold_run_lock(run_dir, say=said.append):
        pass
    assert said == []


def test_the_same_process_cannot_hold_a_run_twice(tmp_path):
    with hold_run_lock(tmp_path), pytest.raises(RunLocked, match=f"pid {os.getpid()}"), \
            hold_run_lock(tmp_path):
        pass


def test_a_reused_pid_is_not_the_owner(holder):
    """Where flock is missing the file decides: it names a pid and that pid's start time."""
    process, run_dir = holder
    owner = json.loads((run_dir / "run.lock").read_text())
    assert owner_alive(owner)
    # The same pid started at another time is another process (the PID was reused).
    assert not owner_alive({**owner, "process_started": str(int(owner["process_started"]) + 1)})
    process.kill()
    process.wait()
    assert not owner_alive(owner)
    # A process of another machine (a shared filesystem) cannot be judged: it counts as alive.
    assert owner_alive({**owner, "host": "elsewhere"})
