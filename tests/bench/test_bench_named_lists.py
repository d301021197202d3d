"""Named lists: DGM's SWE-bench and Polyglot lists as published, the published Verified mini,
sources named, coverage of the loaded data shown and warned about."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentforge.bench import get_benchmark
from agentforge.bench.named_lists import LISTS_DIR, coverage_warning, named_lists
from agentforge.bench.polyglot import LANGUAGES, TEST_TIMEOUT
from agentforge.bench.protocol import BenchError
from agentforge.cli import app

DGM_COMMIT = "d88fdd65047eaf896bfc31af0b0d3b9cbc421ab9"


def ids(benchmark: str, name: str) -> list[str]:
    return list(named_lists(benchmark)[name].ids)


@pytest.mark.parametrize(("benchmark", "name", "size"), [
    ("swebench", "dgm-small", 10), ("swebench", "dgm-medium", 50), ("swebench", "dgm-big", 140),
    ("swebench", "dgm-60", 60), ("swebench", "dgm-200", 200), ("swebench", "verified-mini", 50),
    ("polyglot", "dgm-small", 10), ("polyglot", "dgm-medium", 50), ("polyglot", "dgm-60", 59),
])
def test_the_lists_have_their_sources_sizes(benchmark, name, size):
    listed = ids(benchmark, name)
    assert len(listed) == len(set(listed)) == size


def test_dgm_swebench_lists_are_disjoint_and_the_unions_are_theirs():
    small, medium, big = (set(ids("swebench", n)) for n in ("dgm-small", "dgm-medium", "dgm-big"))
    assert not small & medium and not small & big and not medium & big
    assert ids("swebench", "dgm-60") == ids("swebench", "dgm-small") + ids("swebench", "dgm-medium")
    assert set(ids("swebench", "dgm-200")) == small | medium | big
    # A few ids as DGM lists them (its first stage starts with these two).
    assert ids("swebench", "dgm-small")[:2] == ["django__django-10973", "django__django-11066"]


def test_dgm_polyglot_lists_share_one_exercise_as_in_the_source():
    small, medium = set(ids("polyglot", "dgm-small")), set(ids("polyglot", "dgm-medium"))
    assert small & medium == {"python__dominoes"}
    assert set(ids("polyglot", "dgm-60")) == small | medium  # 10 + 50 - 1 = 59
    languages = {i.split("__")[0] for i in small | medium}
    assert languages == set(LANGUAGES)


def test_ids_have_the_benchmarks_shape():
    for listed in named_lists("swebench").values():
        assert all(re.fullmatch(r"[\w.-]+__[\w.-]+-\d+", i) for i in listed.ids), listed.name
    for listed in named_lists("polyglot").values():
        assert all(i.split("__")[0] in LANGUAGES for i in listed.ids), listed.name


def test_every_id_list_names_its_source_or_says_the_project_chose_it():
    files = sorted(LISTS_DIR.glob("*/*.toml"))
    assert files
    for path in files:
        data = tomllib.loads(path.read_text())
        if "ids" not in data:
            continue
        source = data["source"]
        if "chosen_by_project" in source:
            assert not path.stem.startswith("dgm-") and path.stem != "verified-mini", path
            continue
        assert re.fullmatch(r"https://github\.com/[\w-]+/[\w.-]+", source["repository"]), path
        assert source["path"].endswith(".json") and re.fullmatch(r"[0-9a-f]{40}",
                                                                   source["commit"]), path
        if path.stem.startswith("dgm-"):
            assert source["repository"].endswith("jennyzzt/dgm")
            assert source["commit"] == DGM_COMMIT


def test_a_malformed_list_file_is_refused_with_what_it_needs(tmp_path, monkeypatch):
    import agentforge.bench.named_lists as module

    (tmp_path / "swebench").mkdir()
    (tmp_path / "swebench" / "mine.toml").write_text('description = "x"\nids = ["a__b-1"]\n')
    monkeypatch.setattr(module, "LISTS_DIR", tmp_path)
    named_lists.cache_clear()
    try:
        with pytest.raises(BenchError, match="repository, path and commit"):
            named_lists("swebench")
        (tmp_path / "swebench" / "mine.toml").write_text('description = "x"\nunion = ["nope"]\n')
        named_lists.cache_clear()
        with pytest.raises(BenchError, match="combines nope"):
            named_lists("swebench")
    finally:
        named_lists.cache_clear()


def write_exercise(root: Path, language: str, exercise: str) -> None:
    """A minimal python exercise in the polyglot-benchmark layout."""
    folder = root / language / "exercises" / "practice" / exercise
    (folder / ".meta").mkdir(parents=True)
    stem = exercise.replace("-", "_")
    (folder / f"{stem}.py").write_text("def solve():\n    raise NotImplementedError\n")
    (folder / f"{stem}_test.py").write_text(f"from {stem} import solve\n\n\ndef test_it():\n"
                                            "    assert solve() == 1\n")
    (folder / ".meta" / "config.json").write_text(json.dumps(
        {"files": {"solution": [f"{stem}.py"], "test": [f"{stem}_test.py"]}}))


@pytest.fixture
def partial_checkout(tmp_path) -> Path:
    """Two of dgm-small's exercises (one also in dgm-medium) and one in no list."""
    root = tmp_path / "polyglot"
    for language, exercise in [("python", "dominoes"), ("go", "dominoes"), ("python", "other")]:
        write_exercise(root, language, exercise)
    return root


def test_polyglot_subsets_keep_the_lists_ids_that_the_checkout_has(partial_checkout):
    bench = get_benchmark("polyglot", source=partial_checkout)
    subsets = bench.subsets()
    assert subsets["dgm-small"] == ["go__dominoes", "python__dominoes"]  # DGM's order
    assert subsets["dgm-medium"] == ["python__dominoes"]
    assert subsets["dgm-60"] == ["go__dominoes", "python__dominoes"]
    assert subsets["not-dgm-60"] == ["python__other"]
    assert sorted(bench.splits()["all"]) == sorted(subsets["full"])
    warning = coverage_warning("polyglot", "dgm-small", subsets["full"])
    assert "lists 10 ids" in warning and "only 2" in warning and "8 missing" in warning
    assert coverage_warning("polyglot", "dgm-60", subsets["full"]).count("57 missing") == 1
    assert coverage_warning("polyglot", "not-dgm-60", subsets["full"]) is None
    assert coverage_warning("polyglot", "full", subsets["full"]) is None


def test_bench_list_shows_size_source_and_how_many_ids_are_loaded(partial_checkout):
    done = CliRunner().invoke(app, ["bench", "list", "-b", "polyglot", "--source",
                                    str(partial_checkout), "--json"])
    assert done.exit_code == 0, done.output
    lists = json.loads(done.output)["polyglot"]["lists"]
    assert lists["dgm-small"]["size"] == 10 and lists["dgm-small"]["loaded"] == 2
    assert lists["dgm-medium"]["loaded"] == 1 and lists["dgm-60"]["size"] == 59
    assert "jennyzzt/dgm polyglot/subsets/small.json @ d88fdd65047e" in lists["dgm-small"]["source"]
    text = CliRunner().invoke(app, ["bench", "list"]).output  # no rows, no checkout
    assert re.search(r"verified-mini\s+50\s+not loaded\s+https://github.com/mariushobbhahn/"
                     r"SWEBench-verified-mini data/subsets/size_optimized_sample_ids.json", text)
    assert re.search(r"dgm-big\s+140\s+not loaded\s+https://github.com/jennyzzt/dgm", text)


def test_polyglot_tests_get_180_seconds_unless_configured(partial_checkout):
    assert TEST_TIMEOUT == 180
    task = get_benchmark("polyglot", source=partial_checkout).task("python__dominoes")
    assert task.check.timeout == 180
    slower = get_benchmark("polyglot", source=partial_checkout, test_timeout=300)
    assert slower.task("python__dominoes").check.timeout == 300
    with pytest.raises(BenchError, match="test_timeout must be positive"):
        get_benchmark("polyglot", source=partial_checkout, test_timeout=0)


def test_the_test_timeout_option_is_refused_where_it_means_nothing(tmp_path):
    done = CliRunner().invoke(app, ["bench", "run", "-b", "local", "--agent", str(tmp_path),
                                    "--out", str(tmp_path / "out"), "--test-timeout", "5"])
    assert done.exit_code != 0
    assert "--test-timeout is a polyglot option" in str(done.exception)


def test_the_published_verified_mini_is_django_and_sphinx_and_not_the_projects_old_list():
    mini = set(ids("swebench", "verified-mini"))
    assert {i.split("__")[0] for i in mini} == {"django", "sphinx-doc"}
    assert len(mini & set(ids("swebench", "dgm-medium"))) == 48
    assert len(mini & set(ids("swebench", "agentforge-picked-50"))) == 17
