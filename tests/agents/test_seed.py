"""`agentforge evolve --seed RUN_DIR@NODE|DIR`: a new run rooted at any valid agent, its origin
recorded and shown; an agent that breaks the contract or its own tests is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.agents.export import MANIFEST, export_agent
from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.report.status import run_status
from agentforge.evolve.rundir.seed import SeedRefused, prepare_seed
from agentforge.examples.offline_demo import MARKER

sys.path.append(str(Path(__file__).parent.parent / "integrity"))
from children import LOOP, MAIN  # noqa: E402


def agentforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A run config on a one-task local suite with a scripted model."""
    task = tmp_path / "suite" / "tasks" / "py-one"
    (task / "repo").mkdir(parents=True)
    (task / "tests").mkdir()
    (task / "repo" / "m.py").write_text("X = 0\n")
    (task / "tests" / "test_m.py").write_text("from m import X\n\n\ndef test():\n"
                                              "    assert X == 1\n")
    (task / "problem.md").write_text("# py-one\n\nSet X to 1 in m.py.\n")
    (task / "task.toml").write_text('id = "py-one"\nkind = "exercise"\n'
                                    'hidden_tests = ["test_m.py"]\n'
                                    'test_command = "python -m pytest -q test_m.py"\n')
    (tmp_path / "suite" / "subsets.toml").write_text(
        '[subsets]\nsmoke = ["py-one"]\n\n[splits]\nvalidation = ["py-one"]\nheld_out = []\n')
    script = tmp_path / "model.json"
    script.write_text(json.dumps({"rules": [{"regex": ".", "respond": {"content": "hi"}}]}))
    path = tmp_path / "run.toml"
    path.write_text(f'[llm.diagnose]\nspec = "scripted:{script}"\n[llm.agent]\n'
                    f'spec = "scripted:{script}"\n[benchmark]\nsource = "{tmp_path / "suite"}"\n'
                    'subset = "smoke"\n')
    return path


def test_a_run_seeded_from_another_runs_node_starts_from_its_code(finished_run, config_file,
                                                                  tmp_path):
    config = load_run_config(config_file, [f'seed_agent="{finished_run}@best"'])
    assert str(config.seed_agent) == f"{finished_run}@best"
    new_run = tmp_path / "continued"
    with open_run(new_run, config) as run:
        root = run.store.list_nodes(run.run_id)[0]
        tree = run.repo.repo.git.show(f"{root.commit}:coding_agent/config.toml")
    assert MARKER in tree  # node 2's checklist, not the plain seed
    status = run_status(new_run)
    origin = status["nodes"][0]["origin"]
    assert origin["kind"] == "run-node" and origin["node_id"] == 2
    assert origin["run_id"] == "fixture-run" and origin["validated"] == "by its run (evaluated)"
    assert status["nodes"][0]["external_id"] is None and status["imported_from"] is None
    manifest = json.loads((export_agent(f"{new_run}@1", tmp_path / "x") / MANIFEST).read_text())
    assert manifest["seed"]["ref"] == f"{finished_run}@best"
    assert "node 2 of run" in (tmp_path / "x" / "LINEAGE.md").read_text()


def test_an_invalid_node_is_refused_with_its_reason_and_nothing_is_written(finished_run,
                                                                            config_file,
                                                                            tmp_path):
    done = agentforge("evolve", "--config", str(config_file), "--run-dir",
                      str(tmp_path / "new"), "--seed", f"{finished_run}@3")
    assert done.returncode == 2
    assert "node 3 is invalid in its run (own tests fail: 1 failed)" in done.stderr
    assert not (tmp_path / "new").exists()


def test_seed_with_resume_is_refused(finished_run, tmp_path):
    done = agentforge("evolve", "--resume", str(finished_run), "--seed", str(finished_run))
    assert done.returncode == 2 and "--seed starts a new run" in done.stderr


def test_a_folder_that_breaks_the_contract_is_refused(tmp_path):
    (tmp_path / "agent.toml").write_text('name = "x"\nentry = "missing_pkg"\n')
    with pytest.raises(SeedRefused, match="breaks the agent contract.*no such package"):
        prepare_seed(tmp_path)


@pytest.mark.slow
def test_a_folder_whose_own_tests_fail_is_refused(agent_image, tmp_path):
    agent = tmp_path / "broken"
    (agent / "tiny").mkdir(parents=True)
    (agent / "tiny" / "__init__.py").write_text("")
    (agent / "agent.toml").write_text('name = "tiny"\nentry = "tiny"\n')
    (agent / "tests").mkdir()
    (agent / "tests" / "test_it.py").write_text("def test_it():\n    assert 1 == 2\n")
    with pytest.raises(SeedRefused, match="fails its own checks: own tests fail"):
        prepare_seed(agent)
    (agent / "tests" / "test_it.py").write_text("def test_it():\n    assert 1 == 1\n")
    # Passing its own tests is not enough: the framework's contract check runs it too.
    with pytest.raises(SeedRefused, match="contract check failed"):
        prepare_seed(agent)
    (agent / "tiny" / "loop.py").write_text(TINY_LOOP)
    (agent / "tiny" / "__main__.py").write_text(TINY_MAIN)
    assert prepare_seed(agent).origin["validated"] == "own tests passed at seeding"


# Just enough of an agent for the contract check: it relays between the model and bash.
TINY_LOOP, TINY_MAIN = LOOP, MAIN.replace("relay_agent", "tiny")


@pytest.mark.slow
def test_evolve_seed_continues_from_the_other_runs_best(agent_image, finished_run, tmp_path):
    """End to end: the new run's root is node 2 of the other run, so it solves the tasks
    whose scripted fix needs node 2's checklist (archive/base would solve none)."""
    from agentforge.bench import get_benchmark
    from agentforge.examples.offline_demo import demo_script

    tasks = get_benchmark("local").tasks(subset="smoke")
    script = tmp_path / "model.json"
    script.write_text(json.dumps(demo_script(tasks)))
    config = tmp_path / "run.toml"
    config.write_text(f'[llm.diagnose]\nspec = "scripted:{script}"\n[llm.agent]\n'
                      f'spec = "scripted:{script}"\n[benchmark]\nsubset = "smoke"\n'
                      'max_validation_tasks = 2\n[evaluation]\nagent_timeout = 300\n'
                      'stages = [{ tasks = 2 }]\n[budget]\nmax_iterations = 0\n')
    run_dir = tmp_path / "continued"
    done = agentforge("evolve", "--config", str(config), "--run-dir", str(run_dir),
                      "--seed", f"{finished_run}@best", "--no-finalize", "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    status = run_status(run_dir)
    [root] = status["nodes"]
    assert root["origin"]["ref"] == f"{finished_run}@best" and root["origin"]["node_id"] == 2
    # Its validation is perfect, so growth adds the smoke subset's other tasks: it solves
    # every one it was given.
    assert root["evaluated_tasks"] >= 2
    assert root["resolved_tasks"] == root["evaluated_tasks"]
