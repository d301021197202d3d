"""The tools on a real repository: edits, views, commands, and errors returned as text."""

from __future__ import annotations

import json
import time

import pytest

from coding_agent.settings import load_settings
from coding_agent.text import truncate
from coding_agent.tools import TOOL_ARGS, Toolbox


@pytest.fixture
def tools(repo) -> Toolbox:
    limits = load_settings().limits.model_copy(update={"max_output_chars": 400})
    return Toolbox(repo, limits, load_settings().tools)


def call(tools: Toolbox, name: str, **arguments):
    return tools.run(name, json.dumps(arguments))


def test_str_replace_edits_one_exact_match(tools, repo):
    result = call(tools, "str_replace", path="calc.py", old_str="a - b", new_str="a + b")
    assert result.ok, result.output
    assert "return a + b" in (repo / "calc.py").read_text()


def test_str_replace_refuses_zero_matches_and_changes_nothing(tools, repo):
    before = (repo / "calc.py").read_text()
    result = call(tools, "str_replace", path="calc.py", old_str="a / b", new_str="x")
    assert not result.ok and "not found" in result.output
    assert (repo / "calc.py").read_text() == before


def test_str_replace_refuses_several_matches_and_names_the_lines(tools, repo):
    before = (repo / "calc.py").read_text()
    result = call(tools, "str_replace", path="calc.py", old_str="    return", new_str="  return")
    assert not result.ok and "occurs 2 times" in result.output and "[2, 6]" in result.output
    assert (repo / "calc.py").read_text() == before


def test_view_shows_a_line_range_with_numbers(tools):
    result = call(tools, "view", path="calc.py", start_line=5, end_line=6)
    assert result.output.splitlines() == ["     5\tdef mul(a, b):", "     6\t    return a * b"]
    assert not call(tools, "view", path="calc.py", start_line=99).ok


def test_view_lists_a_directory_and_reports_missing_files(tools):
    assert call(tools, "view", path=".").output.split() == ["calc.py", "test_calc.py"]
    missing = call(tools, "view", path="nope.py")
    assert not missing.ok and "does not exist" in missing.output


def test_create_writes_new_files_in_new_folders(tools, repo):
    assert call(tools, "create", path="pkg/new.py", content="X = 1\n").ok
    assert (repo / "pkg" / "new.py").read_text() == "X = 1\n"


def test_bash_runs_in_the_repo_and_reports_the_exit_code(tools):
    result = call(tools, "bash", command="ls calc.py && exit 3")
    assert not result.ok and result.output.startswith("exit code: 3") and "calc.py" in result.output


def test_bash_timeout_kills_the_command_tree(tools, repo):
    started = time.monotonic()
    result = call(tools, "bash", command="(sleep 30; touch late) & sleep 30", timeout=1)
    assert not result.ok and "timed out" in result.output
    assert time.monotonic() - started < 20
    time.sleep(0.5)
    assert not (repo / "late").exists()


def test_long_output_keeps_head_and_tail(tools):
    result = call(tools, "bash", command="echo FIRST; seq 1 5000; echo LAST")
    assert "FIRST" in result.output and "LAST" in result.output
    assert "characters omitted" in result.output and len(result.output) < 600
    assert truncate("short", 10) == "short"


@pytest.mark.parametrize(("name", "arguments", "expected"), [
    ("bash", "{not json", "not valid JSON"),
    ("view", '{"paths": "calc.py"}', "bad arguments for view"),
    ("str_replace", '{"path": "calc.py", "old_str": "a"}', "new_str"),
    ("bash", '{"command": 5}', "bad arguments for bash"),
    ("launch_rockets", "{}", "unknown tool"),
])
def test_bad_calls_come_back_as_errors(tools, name, arguments, expected):
    result = tools.run(name, arguments)
    assert not result.ok and result.output.startswith("Error") and expected in result.output


def test_schemas_describe_every_tool(tools):
    schemas = {s["function"]["name"]: s["function"] for s in tools.schemas()}
    assert set(schemas) == set(TOOL_ARGS)
    assert schemas["str_replace"]["parameters"]["required"] == ["path", "old_str", "new_str"]
    assert all(s["description"] for s in schemas.values())
