"""Differential re-grading of the finalists, end to end: real Docker, the scripted model over
real HTTP, a real run. Every held-out evaluation of a finalist is graded a second time by
the plain path (bench/plain_grading.py); a node whose graders disagree is shown as such and
is never the run's best.

The disagreement is constructed honestly, by the task rather than by weakening a grader:
one held-out task hides, beside its test file, a check file not named like a test file
(`check_shout.py`), which the task's own command runs and the framework's runner, by its
configuration, does not; the reference fix fails that check. So the first grader resolves
the child's fix and the plain grading does not. The seed never fixes that task (both say
unresolved), so the seed's graders agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.bench import get_benchmark
from agentforge.bench.plain_grading import plain_grade
from agentforge.cli import app
from agentforge.evolve.rundir.agent_ref import resolve_agent

sys.path.append(str(Path(__file__).parent.parent / "evolve"))
from loop_fixtures import demo_config, write_tiny_suite  # noqa: E402

CHECK = ("from shout import shout\n\n\ndef test_empty_text_stays_empty():\n"
         "    assert shout('') == ''\n")


def _suite_with_a_hidden_check(root: Path) -> Path:
    suite = write_tiny_suite(root, ["py-tiny-add"], ["py-tiny-greet", "py-tiny-shout"])
    task = suite / "tasks" / "py-tiny-shout"
    (task / "tests" / "check_shout.py").write_text(CHECK)
    toml = (task / "task.toml").read_text()
    toml = toml.replace('hidden_tests = ["test_shout.py"]',
                        'hidden_tests = ["test_shout.py", "check_shout.py"]')
    toml = toml.replace("test_shout.py\"\n", "test_shout.py check_shout.py\"\n")
    (task / "task.toml").write_text(toml)
    return suite


@pytest.mark.docker
@pytest.mark.slow
def test_the_plain_grading_agrees_with_the_grader_on_plain_tasks(agent_image, tmp_path):
    suite = _suite_with_a_hidden_check(tmp_path / "suite")
    bench = get_benchmark("local", source=suite)
    greet, shout = bench.task("py-tiny-greet"), bench.task("py-tiny-shout")
    assert plain_grade(greet, greet.reference_patch).resolved is True
    assert bench.grade(greet, _prediction(greet)).resolved
    assert plain_grade(greet, "").resolved is False
    # The hidden check: the grader does not run it, the task's command does.
    assert bench.grade(shout, _prediction(shout)).resolved
    verdict = plain_grade(shout, shout.reference_patch)
    assert verdict.resolved is False and "test_empty_text_stays_empty" in verdict.reason


def _prediction(task):
    from agentforge.bench.task import Prediction

    return Prediction(instance_id=task.instance_id, model_patch=task.reference_patch)


@pytest.mark.docker
@pytest.mark.slow
def test_a_finalist_whose_graders_disagree_is_shown_and_never_best(agent_image, tmp_path):
    suite = _suite_with_a_hidden_check(tmp_path / "suite")
    config = demo_config(tmp_path, suite, seed_solves=("py-tiny-add", "py-tiny-greet"))
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "evolve", "--config", str(config), "--run-dir",
         str(run_dir)], capture_output=True, text=True, timeout=1800,
        env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((run_dir / "report.json").read_text())
    rows = {row["id"]: row for row in report["finalists"]}
    assert set(rows) == {1, 2}
    # The child fixed both held-out tasks by the grader: without the second grading it
    # would be the best.
    assert (rows[2]["held_out_score"], rows[1]["held_out_score"]) == (1.0, 0.5)
    [disputed] = rows[2]["grading_disagreements"]
    assert disputed.startswith("py-tiny-shout: resolved by the grader, unresolved by the "
                               "plain re-grading") and "test_empty_text_stays_empty" in disputed
    assert rows[1]["grading_disagreements"] == []
    assert report["best_id"] == 1
    assert f"graders disagree (never best): {disputed}" in done.stdout
    assert resolve_agent(f"{run_dir}@best").node_id == 1

    shown = CliRunner().invoke(app, ["status", str(run_dir), "--json"])
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)
    nodes = {node["id"]: node for node in status["nodes"]}
    assert nodes[2]["grading_disagreements"] == [disputed]
    assert nodes[1]["grading_disagreements"] == []
    assert status["best_id"] != 2
    text = CliRunner().invoke(app, ["status", str(run_dir)]).output
    assert "[graders disagree" in text

    from agentforge.web.archive import RunArchive

    archive = RunArchive(run_dir)
    try:
        body = archive.nodes()
        listed = {row[0]: dict(zip(body["fields"], row, strict=True)) for row in body["rows"]}
        assert (listed[2]["disagreements"], listed[1]["disagreements"]) == (1, 0)
        assert archive.node_detail(2)["grading_disagreements"] == [disputed]
        assert archive.summary()["best_id"] != 2
    finally:
        archive.close()

    # The seed's second grading of one task could not run (as when Docker broke at that
    # moment): the next finalize grades that one again, and nothing else.
    from sqlalchemy import text

    from agentforge.store import SqlStore

    store = SqlStore.open(run_dir / "archive.sqlite")
    run_id = store.list_runs()[0].id
    regraded = [e for e in store.list_events(run_id) if e.kind == "regraded"]
    lost = next(e for e in regraded if e.node_id == 1)
    data = {**json.loads(lost.data_json), "second": None,
            "reason": "the second grading could not run: DockerException: gone"}
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE event SET data_json = :data WHERE id = :id"),
                           {"data": json.dumps(data), "id": lost.id})
    store.close()
    again = CliRunner().invoke(app, ["evolve", "finalize", str(run_dir)])
    assert again.exit_code == 0, again.output
    store = SqlStore.open(run_dir / "archive.sqlite")
    new = [e for e in store.list_events(run_id) if e.kind == "regraded"][len(regraded):]
    store.close()
    assert [json.loads(e.data_json)["evaluation_id"] for e in new] == [data["evaluation_id"]]
    assert json.loads(new[0].data_json)["second"] == data["first"]  # the seed's graders agree
