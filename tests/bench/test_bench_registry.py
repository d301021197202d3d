"""Registry, subsets, splits: no Docker needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.bench import BenchError, get_benchmark
from agentforge.bench.split import hash_split

FIXTURES = Path(__file__).parent / "fixtures"


def test_unknown_benchmark_lists_the_valid_ones():
    with pytest.raises(BenchError) as err:
        get_benchmark("humaneval")
    assert "local, polyglot, swebench" in str(err.value)


def test_adapters_import_lazily():
    # Naming `local` must not import the swebench package (an optional extra).
    code = (
        "import sys; from agentforge.bench import get_benchmark; "
        f"get_benchmark('local', source={str(FIXTURES / 'local')!r}).tasks(); "
        "print(sorted(m for m in sys.modules if m.startswith(('swebench', 'agentforge.bench.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "agentforge.bench.local" in done.stdout
    assert "swebench" not in done.stdout.replace("agentforge.bench", "")
    assert "'agentforge.bench.polyglot'" not in done.stdout  # the adapter (its runners may load)


def test_local_subsets_and_splits(local_bench):
    assert [t.instance_id for t in local_bench.tasks("smoke")] == [
        "py-exercise-clamp", "swe-tinykv-1"]
    assert {t.instance_id for t in local_bench.tasks(split="held_out")} == {"swe-tinykv-1"}
    assert [t.instance_id for t in local_bench.tasks("smoke", "validation")] == [
        "py-exercise-clamp"]
    swe = local_bench.task("swe-tinykv-1")
    assert swe.check.kind.value == "test_lists"
    assert swe.check.fail_to_pass == ["tests/test_parse.py::test_value_with_equals"]
    assert local_bench.task("go-exercise-digitsum").image == "toolchains"


def test_unknown_subset_split_and_task_say_what_exists(local_bench):
    with pytest.raises(BenchError, match="valid subsets: smoke, full"):
        local_bench.tasks("tiny")
    with pytest.raises(BenchError, match="valid splits: validation, held_out"):
        local_bench.tasks(split="test")
    with pytest.raises(BenchError, match="no task 'nope'"):
        local_bench.task("nope")


def test_hash_split_is_disjoint_complete_and_stable():
    ids = [f"task-{i}" for i in range(300)]
    split = hash_split(ids)
    assert set(split["validation"]) | set(split["held_out"]) == set(ids)
    assert not set(split["validation"]) & set(split["held_out"])
    assert 60 < len(split["held_out"]) < 140
    # Adding tasks never moves an existing one.
    grown = hash_split([*ids, "new-1", "new-2"])
    assert set(split["held_out"]) <= set(grown["held_out"])


def test_polyglot_reads_the_layout():
    bench = get_benchmark("polyglot", source=FIXTURES / "polyglot")
    ids = [t.instance_id for t in bench.tasks()]
    assert len(ids) == 6 and "python__word-flip" in ids and "java__greeter" in ids
    task = bench.task("java__greeter")
    visible = sorted(p.relative_to(task.repo_dir).as_posix()
                     for p in task.repo_dir.rglob("*") if p.is_file())
    # The agent sees the solution and the build file; never tests, examples or .meta.
    assert visible == ["build.gradle", "src/main/java/Greeter.java"]
    assert "src/test/java/GreeterTest.java" in task.hidden_tests
    assert "Greet a person by name" in task.problem_statement
    assert bench.subsets()["rust"] == ["rust__square-sum"]
    with pytest.raises(BenchError, match="pass@1 or pass@2"):
        get_benchmark("polyglot", source=FIXTURES / "polyglot", attempts=3)


def test_polyglot_without_checkout_says_how_to_get_one(tmp_path):
    with pytest.raises(BenchError, match="bench fetch polyglot"):
        get_benchmark("polyglot", source=tmp_path / "missing")


def test_bench_list_shows_subsets_and_splits_without_loading_remote_rows():
    import json

    from typer.testing import CliRunner

    from agentforge.cli import app

    done = CliRunner().invoke(app, ["bench", "list", "--json"])
    assert done.exit_code == 0, done.output
    listing = json.loads(done.output)
    assert {"smoke", "small", "full"} <= set(listing["local"]["subsets"])
    assert set(listing["local"]["splits"]) == {"validation", "held_out"}
    assert listing["swebench"]["subsets"]["verified-mini"] == 50
    assert "polyglot" in listing  # listed even where no checkout is fetched
    one = CliRunner().invoke(app, ["bench", "list", "-b", "polyglot", "--source",
                                   str(FIXTURES / "polyglot")])
    assert "dgm-60 (0)" in one.output and "validation (4), held_out (2), all (6)" in one.output
    assert "0/59 loaded" in one.output  # the fixture holds none of DGM's exercises
