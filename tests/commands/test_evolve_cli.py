"""`agentforge evolve` and `agentforge status` from the command line (no Docker needed here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run

CLI = [sys.executable, "-m", "agentforge"]


def agentforge(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env)


def one_task_suite(root: Path) -> Path:
    """A local-benchmark folder with one validation task and one held-out task."""
    for task_id in ("py-one", "py-two"):
        folder = root / "tasks" / task_id
        (folder / "repo").mkdir(parents=True)
        (folder / "tests").mkdir()
        (folder / "repo" / "m.py").write_text("X = 0\n")
        (folder / "tests" / "test_m.py").write_text("from m import X\n\n\ndef test():\n"
                                                    "    assert X == 1\n")
        (folder / "problem.md").write_text(f"# {task_id}\n\nSet X to 1 in m.py.\n")
        (folder / "task.toml").write_text(
            f'id = "{task_id}"\nkind = "exercise"\nhidden_tests = ["test_m.py"]\n'
            'test_command = "python -m pytest -q test_m.py"\n')
    (root / "subsets.toml").write_text(
        '[subsets]\nsmoke = ["py-one", "py-two"]\n\n'
        '[splits]\nvalidation = ["py-one"]\nheld_out = ["py-two"]\n')
    return root


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    suite = one_task_suite(tmp_path / "suite")
    script = tmp_path / "model.json"
    script.write_text(json.dumps({"rules": [{"regex": ".", "respond": {"content": "hi"}}]}))
    path = tmp_path / "run.toml"
    path.write_text(f'[llm.diagnose]\nspec = "scripted:{script}"\n[llm.agent]\n'
                    f'spec = "scripted:{script}"\n[benchmark]\nsource = "{suite}"\n'
                    'subset = "smoke"\n')
    return path


def test_evolve_without_a_config_or_resume_says_what_to_give():
    done = agentforge("evolve")
    assert done.returncode == 2 and "--config FILE.toml and --run-dir DIR" in done.stderr


def test_a_bad_field_is_named_before_anything_starts(config_file, tmp_path):
    done = agentforge("evolve", "--config", str(config_file), "--run-dir",
                      str(tmp_path / "run"), "--set", "budget.max_iterations=-2")
    assert done.returncode == 2 and "budget.max_iterations" in done.stderr
    assert not (tmp_path / "run").exists()


def test_resume_needs_a_run_directory(tmp_path):
    done = agentforge("evolve", "--resume", str(tmp_path))
    assert done.returncode == 2 and "not a run directory" in done.stderr


def test_status_json_of_a_new_run_and_a_second_start_refused(config_file, tmp_path):
    run_dir = tmp_path / "run"
    with open_run(run_dir, load_run_config(config_file)) as run:
        assert [t.instance_id for t in run.validation] == ["py-one"]
        assert [t.instance_id for t in run.held_out] == ["py-two"]
    done = agentforge("status", str(run_dir), "--json", "--evaluations")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert [(n["id"], n["parent_id"], n["status"], n["score"], n["evaluated_tasks"])
            for n in status["nodes"]] == [(1, None, "evaluating", None, 0)]
    assert status["best_id"] is None and status["evaluations"] == []
    assert status["spend"] == {"tokens": 0, "usd": 0.0, "calls": 0}
    text = agentforge("status", str(run_dir))
    assert text.returncode == 0 and "node   1" in text.stdout
    again = agentforge("evolve", "--config", str(config_file), "--run-dir", str(run_dir))
    assert again.returncode == 2 and "--resume" in again.stderr


@pytest.mark.parametrize(("override", "named"), [
    ("selection.name=bogus", "unknown selector 'bogus'"),
    ("llm.agent.spec=openai:gpt-4o-mini", "set OPENAI_API_KEY"),
    ("benchmark.source=/nonexistent/suite", "--set benchmark.source=DIR"),
])
def test_a_refused_start_leaves_no_run_directory(config_file, tmp_path, override, named):
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    args = ("evolve", "--config", str(config_file), "--run-dir", str(run_dir), "--set", override)
    done = agentforge(*args, env=env)
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert "--source DIR" not in done.stderr  # an option of `bench`, not of `evolve`
    assert not run_dir.exists()
    again = agentforge(*args, env=env)  # the same command says the same, not "already holds"
    assert again.returncode == 2 and named in again.stderr and "already holds" not in again.stderr


def test_a_bad_set_on_resume_is_refused_before_it_is_saved(config_file, tmp_path):
    run_dir = tmp_path / "run"
    with open_run(run_dir, load_run_config(config_file)):
        pass
    saved = (run_dir / "config.json").read_text()
    done = agentforge("evolve", "--resume", str(run_dir), "--set", "selection.name=bogus")
    assert done.returncode == 2 and "unknown selector 'bogus'" in done.stderr
    assert f"--resume {run_dir} --set KEY=VALUE" in done.stderr
    assert (run_dir / "config.json").read_text() == saved
