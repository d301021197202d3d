"""RunConfig from TOML plus overrides, and errors that name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentforge.errors import ConfigError
from agentforge.evolve.config import load_run_config, parse_overrides

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_overrides_are_toml_literals_in_dotted_keys():
    assert parse_overrides(["budget.max_iterations=5", "selection.name=hgm",
                            "improve.own_tests=['tests/test_contract.py']",
                            "budget.max_usd=2.5"]) == {
        "budget": {"max_iterations": 5, "max_usd": 2.5}, "selection": {"name": "hgm"},
        "improve": {"own_tests": ["tests/test_contract.py"]}}


def test_a_file_and_overrides_make_the_config(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('seed = 7\n[budget]\nmax_iterations = 3\n[evaluation]\n'
                    'stages = [{ tasks = 2 }, { tasks = 5, min_score = 0.5 }, {}]\n')
    config = load_run_config(path, ["budget.max_iterations=4", "selection.name=hgm"])
    assert (config.seed, config.budget.max_iterations, config.selection.name) == (7, 4, "hgm")
    assert [s.tasks for s in config.evaluation.stages] == [2, 5, None]
    assert (config.seed_agent / "agent.toml").is_file()  # archive/base, found from anywhere


@pytest.mark.parametrize(("text", "override", "named"), [
    ("[budget]\nmax_iterations = -1\n", [], "budget.max_iterations"),
    ("[evaluation]\nworkers = 'two'\n", [], "evaluation.workers"),
    ("", ["benchmark.subsett=smoke"], "benchmark.subsett"),
    ("[evaluation]\nstages = [{ tasks = 10 }, { tasks = 5 }]\n", [], "evaluation.stages"),
])
def test_a_bad_field_is_named_in_the_error(tmp_path, text, override, named):
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_run_config(path, override)


def test_each_bad_key_is_blamed_on_where_it_came_from(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[budget]\nmax_iterations = -1\n")
    with pytest.raises(ConfigError) as raised:
        load_run_config(path, ["budget.max_iteratons=3", "selection.name=greedy"])
    message = str(raised.value)
    from_set = message[message.index("--set is invalid:"):]
    assert from_set.startswith("--set is invalid: budget.max_iteratons: unknown key (budget "
                               "takes max_iterations, ")
    assert f"{path} is invalid: budget.max_iterations: " in message
    assert "max_iteratons" not in message[:message.index("--set")]  # not blamed on the file


def test_a_missing_file_and_a_malformed_override_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["budget.max_iterations"])


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_example_config_loads(name):
    config = load_run_config(EXAMPLES / name)
    assert config.benchmark.name in {"local", "polyglot", "swebench"}


@pytest.mark.parametrize(("override", "says"), [
    ("evaluation.executor=dask", "evaluation.executor"),
    ("store=mysql://db/run", "postgresql:// URL"),
    ("store=postgresql://me:secret@db/run", "PGPASSWORD"),
])
def test_cluster_settings_are_checked(override, says):
    with pytest.raises(ConfigError) as caught:
        load_run_config(None, [override])
    assert says in str(caught.value)


def test_a_cluster_run_config_loads():
    config = load_run_config(None, ["evaluation.executor=ray", "evaluation.ray_address=auto",
                                    "store=postgresql://agentforge@db:5432/run1",
                                    "evaluation.ray_memory_mb=2048"])
    assert (config.evaluation.executor, config.evaluation.ray_address) == ("ray", "auto")
    assert config.store == "postgresql://agentforge@db:5432/run1"
    assert config.evaluation.ray_max_retries == 2
