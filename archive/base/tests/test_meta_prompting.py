"""The meta-prompting conductor against the scripted model over real HTTP."""

from __future__ import annotations

from conftest import all_text, git, system_text, tool_call

from coding_agent.meta_prompting import (
    BLOCK_END,
    CONSULT_START,
    FINAL_START,
    call_syntax,
    parse_turn,
)
from coding_agent.settings import load_settings, render

CONDUCTOR = {"system_contains": CONSULT_START.strip()}  # only the conductor's prompt has it
PROBLEM = "SECRET-PROBLEM-7: add() subtracts instead of adding"


def consult(expert: str, instruction: str) -> dict:
    return {"content": f"Next step.\n{CONSULT_START}{expert}\n{instruction}\n{BLOCK_END}\n"}


def conductor_requests(requests: list[dict]) -> list[dict]:
    return [r for r in requests if CONSULT_START.strip() in system_text(r)]


def test_experts_see_only_their_own_instruction(run_with, repo):
    rules = [
        {**CONDUCTOR, "name": "ask reviewer", "not_contains": "REVIEW-OK",
         "respond": consult("Reviewer", "INSTR-REVIEW: is `return a - b` right for add()?")},
        {**CONDUCTOR, "name": "ask engineer", "last_message_contains": "REVIEW-OK",
         "respond": consult("Engineer", "INSTR-ENGINEER: make add() in calc.py add.")},
        {**CONDUCTOR, "name": "finish", "last_message_contains": "ENGINEER-DONE",
         "respond": {"content": f"{FINAL_START}\nadd() fixed\n{BLOCK_END}"}},
        {"name": "reviewer", "last_message_contains": "INSTR-REVIEW",
         "respond": {"content": "REVIEW-OK: it should be a + b"}},
        {"name": "engineer edits", "tools_offered": "bash",
         "last_message_contains": "INSTR-ENGINEER",
         "respond": tool_call("str_replace", path="calc.py", old_str="a - b", new_str="a + b")},
        {"name": "engineer reports", "tools_offered": "bash",
         "last_message_contains": "Edited calc.py",
         "respond": tool_call("submit", summary="ENGINEER-DONE: add() returns a + b")},
    ]
    run = run_with(rules, problem=PROBLEM, strategy="meta-prompting")
    assert (run.outcome.stop_reason, run.outcome.summary) == ("final_answer", "add() fixed")
    assert "+    return a + b" in git(repo, "diff")

    conductor = conductor_requests(run.requests)
    experts = [r for r in run.requests if r not in conductor]
    assert len(conductor) == 3 and len(experts) == 3
    for request in experts:  # nothing of the conductor's conversation reaches an expert
        assert "SECRET-PROBLEM-7" not in all_text(request)
        assert CONSULT_START.strip() not in all_text(request)
    reviewer = load_settings().find_expert("Reviewer")
    assert experts[0]["messages"] == [
        {"role": "system", "content": reviewer.system},
        {"role": "user", "content": "INSTR-REVIEW: is `return a - b` right for add()?"},
    ]
    engineer_user = [m for m in experts[1]["messages"] if m["role"] == "user"]
    assert len(engineer_user) == 1 and "INSTR-ENGINEER" in engineer_user[0]["content"]
    assert load_settings().find_expert("Engineer").system in system_text(experts[1])
    consulted = [d["expert"] for d in run.trajectory["decisions"] if d["kind"] == "consultation"]
    assert consulted == ["Reviewer", "Engineer"]


def test_an_expert_not_on_the_roster_gets_a_generic_prompt(run_with):
    rules = [
        {**CONDUCTOR, "not_contains": "42", "respond": consult("Number Theorist", "What is 6*7?")},
        {**CONDUCTOR, "respond": {"content": f"{FINAL_START}\n42\n{BLOCK_END}"}},
        {"name": "theorist", "respond": {"content": "42"}},
    ]
    run = run_with(rules, strategy="meta-prompting")
    expert = [r for r in run.requests if r not in conductor_requests(run.requests)][0]
    settings = load_settings()
    assert expert["messages"][0]["content"] == render(settings.prompts.expert_system,
                                                      name="Number Theorist")
    assert run.outcome.summary == "42"


def test_the_round_cap_ends_the_run_with_a_warning_first(run_with):
    rules = [
        {**CONDUCTOR, "respond": consult("Reviewer", "Look again.")},
        {"name": "reviewer", "respond": {"content": "Still looks odd."}},
    ]
    run = run_with(rules, strategy="meta-prompting", limits={"max_rounds": 3})
    assert run.outcome.stop_reason == "round_cap"
    assert run.trajectory["stop_reason"] == "round_cap"
    conductor = conductor_requests(run.requests)
    assert len(conductor) == 3
    warning = render(load_settings().prompts.last_round_warning)
    assert conductor[-1]["messages"][-1] == {"role": "user", "content": warning}
    assert all(warning not in all_text(r) for r in conductor[:-1])


def test_malformed_conductor_output_gets_reminders_then_a_clean_stop(run_with):
    rules = [{**CONDUCTOR, "respond": {"content": "Hmm, let me think about this."}}]
    run = run_with(rules, strategy="meta-prompting",
                   limits={"max_rounds": 8, "max_reminders": 2})
    assert run.outcome.stop_reason == "malformed_replies"
    assert (run.trajectory["exit_status"], run.trajectory["stop_reason"]) == (
        "ok", "malformed_replies")
    assert len(run.requests) == 3
    for request in run.requests[1:]:
        reminder = request["messages"][-1]
        assert reminder["role"] == "user" and call_syntax() in reminder["content"]


def test_parse_turn_reads_consultations_and_final_answers():
    turn = parse_turn(f"Plan.\n{CONSULT_START}Engineer\nrun the tests\nand report\n{BLOCK_END}")
    assert (turn.expert, turn.instruction) == ("Engineer", "run the tests\nand report")
    assert parse_turn(f"{FINAL_START}\ndone\n").final_answer == "done"  # end marker optional
    both = parse_turn(f"{CONSULT_START}X\ndo\n{BLOCK_END}\n{FINAL_START}\nok\n{BLOCK_END}")
    assert both.final_answer == "ok" and both.expert is None
    assert parse_turn("I'll consult the engineer.") == parse_turn("")
    assert parse_turn(f"{CONSULT_START}Engineer\n{BLOCK_END}").expert is None  # empty body


def test_the_prompt_shows_the_syntax_the_parser_reads():
    syntax = call_syntax()
    for marker in (CONSULT_START, FINAL_START, BLOCK_END):
        assert marker in syntax
    settings = load_settings()
    system = render(settings.prompts.conductor_system, repo="/r", experts=settings.experts,
                    max_rounds=3, call_syntax=syntax)
    assert syntax in system
