"""Meta-reasoning: the model ranks the approaches and the agent runs the one ranked first."""

from __future__ import annotations

from conftest import system_text, tool_call

from coding_agent.meta_prompting import CONSULT_START, FINAL_START
from coding_agent.meta_reasoning import RANKING_START, parse_ranking, ranking_syntax
from coding_agent.settings import load_settings

RANKER = {"system_contains": RANKING_START}
NAMES = [a.name for a in load_settings().approaches]


def ranking(*names: str) -> dict:
    return {"content": "Reasoning...\n" + "\n".join([RANKING_START, *names, "@@end"])}


def decisions(run, kind: str) -> list[dict]:
    return [d for d in run.trajectory["decisions"] if d["kind"] == kind]


def test_the_approach_ranked_first_is_the_one_that_runs(run_with):
    rules = [
        {**RANKER, "respond": ranking("test-driven", "reproduce-first", "direct-edit")},
        {"name": "coder", "tools_offered": "bash", "respond": tool_call("submit", summary="ok")},
    ]
    run = run_with(rules, strategy="meta-reasoning")
    assert run.outcome.stop_reason == "submitted"
    coder = run.requests[1]
    assert load_settings().find_approach("test-driven").instructions in system_text(coder)
    assert load_settings().find_approach("reproduce-first").instructions not in system_text(coder)
    [ranked] = decisions(run, "approach_ranking")
    assert ranked["ranking"][:3] == ["test-driven", "reproduce-first", "direct-edit"]
    assert sorted(ranked["ranking"]) == sorted(NAMES) and not ranked["fallback_to_config_order"]
    assert decisions(run, "approach_choice")[0]["chosen"] == "test-driven"
    assert run.trajectory["approach"] == "test-driven"


def test_ranking_meta_prompting_first_runs_the_conductor(run_with):
    rules = [
        {**RANKER, "respond": ranking("meta-prompting", "direct-edit")},
        {"system_contains": CONSULT_START.strip(),
         "respond": {"content": f"{FINAL_START}\nnothing to do\n@@end"}},
    ]
    run = run_with(rules, strategy="meta-reasoning")
    assert run.outcome.stop_reason == "final_answer"
    assert CONSULT_START.strip() in system_text(run.requests[1])
    assert decisions(run, "approach_choice")[0]["runner"] == "meta-prompting"


def test_an_unreadable_ranking_gets_a_reminder_then_falls_back_to_config_order(run_with):
    rules = [
        {**RANKER, "respond": {"content": "They all look fine to me."}},
        {"name": "coder", "tools_offered": "bash", "respond": tool_call("submit")},
    ]
    run = run_with(rules, strategy="meta-reasoning", limits={"max_reminders": 1})
    assert len(run.requests) == 3  # ranking, one reminder, then the coder
    assert ranking_syntax() in run.requests[1]["messages"][-1]["content"]
    [ranked] = decisions(run, "approach_ranking")
    assert ranked["fallback_to_config_order"] and ranked["ranking"] == NAMES
    assert run.trajectory["approach"] == NAMES[0]


def test_parse_ranking_tolerates_list_decorations_and_ignores_unknown_names():
    text = f"{RANKING_START}\n1. `Direct-Edit`\n- test-driven\nteleport\n2) direct-edit\n@@end"
    assert parse_ranking(text, NAMES) == ["direct-edit", "test-driven"]
    assert parse_ranking("direct-edit > test-driven", NAMES) == []  # no block, no ranking
    assert parse_ranking(f"{RANKING_START}\ntest-driven, plan-then-edit", NAMES) == [
        "test-driven", "plan-then-edit"]
