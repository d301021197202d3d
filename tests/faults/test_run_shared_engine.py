"""Two runs on one Docker engine at once: each starts (reaping what killed processes left)
while the other's sandboxes come and go, and both end with their whole archive."""

from __future__ import annotations

import pytest
from run_fixtures import (
    archive_state,
    containers_of,
    demo_run_config,
    expected_complete_archive,
    start_run,
    wait_until,
)

# Its own deadlines (two runs of up to 1,500 s at once), not pytest's 600 s, bound it on
# a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]


def test_two_runs_on_one_engine_at_once_both_finish_whole(agent_image, tmp_path):
    runs = []
    try:
        runs.append(start(tmp_path, "first"))
        # The second starts (and reaps) while the first's sandboxes come and go.
        wait_until(lambda: containers_of(runs[0].process.pid), runs[0], 600,
                   "a sandbox of the first run")
        runs.append(start(tmp_path, "second"))
        for run in runs:
            assert run.wait(timeout=1500) == 0, run.output()[-3000:]
    finally:
        for run in runs:
            run.kill()
    for run in runs:
        state = archive_state(run.run_dir)
        assert (state.status, state.problems, state.integrity) == ("finished", [], "ok"), state
        assert state.finished == expected_complete_archive() and not state.unfinished, state
        assert "Traceback" not in run.output(), run.output()[-3000:]


def start(tmp_path, name: str):
    """`agentforge evolve` on the demo config, in a folder of its own."""
    root = tmp_path / name
    root.mkdir()
    config = demo_run_config(root, model_delay=0.5)
    return start_run(root, ["--config", str(config), "--run-dir", str(root / "run")], name)
