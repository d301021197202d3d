"""The contract check's task is drawn fresh per validation, and its scripted model answers
with the fix only to an agent that relayed every step; the assertions a child's tests make
are counted where they can fail. Pure functions, no sandbox."""

from __future__ import annotations

import json
import random
import textwrap

from agentforge.evolve.validation.contract_task import draw_contract_task
from agentforge.evolve.validation.suite import assertion_counts, shrunken_test_suite
from agentforge.llm.scripted import Script, message_text


def _answer(script: Script, messages: list[dict]) -> dict:
    request = {"messages": messages, "tools": [
        {"type": "function", "function": {"name": name}} for name in ("bash", "submit")]}
    _, rule = script.pick(request)
    return rule["respond"]


def _command(respond: dict) -> str | None:
    calls = respond.get("tool_calls") or []
    return calls[0]["arguments"].get("command") if calls else None


def test_two_validations_draw_different_tasks():
    first, second = draw_contract_task(), draw_contract_task()
    assert first.problem != second.problem
    assert first.expected != second.expected
    assert json.dumps(first.script) != json.dumps(second.script)


def test_nothing_the_agent_is_given_reveals_the_expected_output():
    for seed in range(50):
        task = draw_contract_task(random.Random(seed))
        [(path, expected)] = task.expected.items()
        note = expected.split("# ")[-1].strip()
        given = task.problem + "".join(task.repo.values())
        assert path in task.repo and note.startswith("checked ") and note not in given
        assert expected not in task.repo.values()


def test_the_fix_comes_only_after_every_file_was_shown_to_the_model():
    for seed in range(30):
        task = draw_contract_task(random.Random(seed))
        script = Script(task.script)
        messages = [{"role": "system", "content": "Fix it."},
                    {"role": "user", "content": task.problem}]
        commands = []
        while True:
            command = _command(_answer(script, messages))
            assert command is not None, "the model stopped before the fix"
            commands.append(command)
            if command.startswith("cat > "):
                break
            shown = task.repo[command.removeprefix("cat ")]
            messages += [{"role": "assistant", "content": "", "tool_calls": [
                {"id": "c", "function": {"name": "bash", "arguments": command}}]},
                         {"role": "tool", "content": f"exit code: 0\n{shown}"}]
        assert len(commands) == task.reads + 1
        # A stub that stops after the first answer only ever saw a read.
        assert commands[0].startswith("cat ") and not commands[0].startswith("cat > ")
        # The fix writes exactly the expected file.
        [(path, expected)] = task.expected.items()
        assert commands[-1].startswith(f"cat > {path} <<'EOF'\n{expected}EOF\n")


def test_the_marker_that_ends_the_run_is_never_in_a_message_of_the_model():
    for seed in range(30):
        task = draw_contract_task(random.Random(seed))
        submit = next(rule for rule in task.script["rules"] if rule["name"] == "submit")
        marker = submit["last_message_contains"]
        said = "".join(message_text({"content": json.dumps(rule["respond"])})
                       for rule in task.script["rules"])
        assert marker not in said


def _suite(tmp_path, name, source):
    folder = tmp_path / name / "tests"
    folder.mkdir(parents=True)
    (folder / "test_it.py").write_text(textwrap.dedent(source))
    return tmp_path / name


def test_assertions_that_cannot_fail_are_not_counted(tmp_path):
    agent = _suite(tmp_path, "a", """
        import pytest

        def test_real(thing):
            assert thing.run() == 3
            with pytest.raises(ValueError):
                thing.fail()
            thing.mock.assert_called_once()

        def test_vacuous(thing):
            assert True
            assert 1 + 1 == 2
            assert len("ab") == 2
            assert thing == thing
            assert thing.ok or True

        def test_dead(thing):
            return
            assert thing.run() == 3

        def test_never(thing):
            if False:
                assert thing.run() == 3

        @pytest.mark.skip
        def test_marked(thing):
            assert thing.run() == 3

        def test_skipped_inside(thing):
            pytest.skip("later")
            assert thing.run() == 3

        class TestGroup:
            def test_method(self, thing):
                self.assertEqual(thing.run(), 3)
    """)
    counts = {test.split("::", 1)[1]: n for test, n in assertion_counts(agent).items()}
    assert counts == {"test_real": 3, "test_vacuous": 0, "test_dead": 0, "test_never": 0,
                      "test_marked": 0, "test_skipped_inside": 0, "TestGroup::test_method": 1}


def test_a_test_emptied_at_the_same_count_is_flagged(tmp_path):
    parent = _suite(tmp_path, "parent", """
        def test_add(calc):
            assert calc.add(2, 3) == 5

        def test_sub(calc):
            assert calc.sub(5, 3) == 2
    """)
    same = _suite(tmp_path, "same", """
        def test_add(calc):
            assert calc.add(2, 3) == 5

        def test_sub(calc):
            assert calc.sub(5, 3) == 2
            assert calc.sub(3, 5) == -2
    """)
    emptied = _suite(tmp_path, "emptied", """
        def test_add(calc):
            assert calc.add(2, 3) == 5

        def test_sub(calc):
            assert calc.sub(5, 3) == calc.sub(5, 3)
    """)
    assert shrunken_test_suite(parent, same) is None
    warning = shrunken_test_suite(parent, emptied)
    assert "makes 1 assertions, its parent 2" in warning
    assert "fewer assertions in 1 kept tests: tests/test_it.py::test_sub (1 -> 0)" in warning


def test_a_changed_test_harness_is_flagged(tmp_path):
    parent = _suite(tmp_path, "parent", "def test_add(calc):\n    assert calc.add(2, 3) == 5\n")
    child = _suite(tmp_path, "child", "def test_add(calc):\n    assert calc.add(2, 3) == 5\n")
    assert shrunken_test_suite(parent, child) is None
    (child / "tests" / "conftest.py").write_text("import os\nos._exit(0)\n")
    (child / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-p x'\n")
    assert shrunken_test_suite(parent, child) == \
        "test harness changed: pyproject.toml, tests/conftest.py"
