"""`agentforge evolve`'s live panel on a terminal, plain lines when piped (on a real archive)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from agentforge.commands.evolve_live import live_progress
from agentforge.evolve.rundir import RunDir
from agentforge.llm.ledger import Ledger
from agentforge.store import SqlStore
from agentforge.web.synthetic import write_synthetic_run


def _run(tmp_path):
    made = write_synthetic_run(tmp_path / "run", 12, files_for=0)
    store = SqlStore.open(made.path / "archive.sqlite")
    store.add_event(made.run_id, "child", "node 12 from 1: add a checklist", node_id=12)
    return SimpleNamespace(store=store, ledger=Ledger(store.engine), run_id=made.run_id,
                           rundir=RunDir(made.path))


def test_on_a_terminal_the_panel_shows_archive_best_spend_workers_and_events(tmp_path):
    run = _run(tmp_path)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    with live_progress(run, quiet=False, plain=lambda r: None, console=console) as show:
        show({"improving": [4], "evaluating": [{"node_id": 7, "task_id": "py-task-03"}],
              "queued": 2, "elapsed_s": 42})
    text = out.getvalue()
    assert "12 nodes" in text and "best" in text and "node " in text
    assert "7:py-task-03" in text and "+2 queued" in text and "improving [4]" in text
    assert "add a checklist" in text  # the latest event
    assert f"agentforge web {run.rundir.path}" in text
    run.store.close()


def test_piped_it_prints_the_plain_lines_and_quiet_prints_nothing(tmp_path):
    run = _run(tmp_path)
    piped = Console(file=io.StringIO(), force_terminal=False)
    lines = []

    def plain(r):
        return lambda snapshot: lines.append((r.run_id, snapshot["queued"]))

    with live_progress(run, quiet=False, plain=plain, console=piped) as show:
        show({"queued": 3})
    assert lines == [(run.run_id, 3)]
    with live_progress(run, quiet=True, plain=plain, console=piped) as show:
        assert show is None
    run.store.close()
