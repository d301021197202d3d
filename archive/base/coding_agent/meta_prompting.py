"""Meta-prompting (Suzgun & Kalai 2024): a conductor breaks the task down and consults experts.

Each expert is a fresh call of the same model that sees only its own system prompt and the
instruction the conductor wrote for it, never the conductor's conversation. Tool-using
experts run the coding loop in the repository with that instruction as their whole task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict

from coding_agent.context import Context, Outcome
from coding_agent.loop import invoke_graph, run_coding_loop
from coding_agent.model import LimitReached
from coding_agent.settings import Expert, render

# The reply syntax. The prompt's description of it is generated from these constants
# (call_syntax), so the prompt and the parser cannot drift apart.
CONSULT_START = "@@consult "
FINAL_START = "@@final_answer"
BLOCK_END = "@@end"

_BLOCK = r"(?P<body>.*?)(?:^[ \t]*" + re.escape(BLOCK_END) + r"[ \t]*$|\Z)"
_CONSULT = re.compile(r"^[ \t]*" + re.escape(CONSULT_START) + r"(?P<name>[^\n]+)\n" + _BLOCK,
                      re.MULTILINE | re.DOTALL)
_FINAL = re.compile(r"^[ \t]*" + re.escape(FINAL_START) + r"[ \t]*\n" + _BLOCK,
                    re.MULTILINE | re.DOTALL)


def call_syntax() -> str:
    """How the conductor must write a consultation and a final answer (for the prompt)."""
    return (
        "Reply format. To consult an expert, write these lines (one expert per turn):\n"
        f"{CONSULT_START}<expert name>\n<the complete instruction for the expert>\n{BLOCK_END}\n"
        "When the task is done, write:\n"
        f"{FINAL_START}\n<summary of the solution>\n{BLOCK_END}"
    )


@dataclass
class ConductorTurn:
    """What one conductor reply asks for."""

    final_answer: str | None = None
    expert: str | None = None
    instruction: str | None = None


def parse_turn(text: str) -> ConductorTurn:
    """Read a conductor reply: a final answer wins over a consultation; else neither."""
    final = _FINAL.search(text or "")
    if final:
        return ConductorTurn(final_answer=final.group("body").strip())
    consult = _CONSULT.search(text or "")
    if consult and consult.group("body").strip():
        return ConductorTurn(expert=consult.group("name").strip(),
                             instruction=consult.group("body").strip())
    return ConductorTurn()


class ConductorState(TypedDict):
    messages: list[dict]
    rounds: int
    reminders: int
    pending: dict | None
    stop_reason: str | None
    final_answer: str | None


def consult_expert(ctx: Context, name: str, instruction: str, number: int) -> str:
    """Ask a fresh expert; it sees only its own prompt and `instruction`."""
    settings = ctx.settings
    expert = settings.find_expert(name) or Expert(
        name=name, description="", system=render(settings.prompts.expert_system, name=name))
    thread = f"expert-{number}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
    if expert.uses_tools:
        outcome = run_coding_loop(ctx, instruction, thread=thread, instructions=expert.system,
                                  max_steps=settings.limits.expert_max_steps)
        return outcome.summary or f"(the expert stopped without a report: {outcome.stop_reason})"
    messages = [{"role": "system", "content": expert.system},
                {"role": "user", "content": instruction}]
    reply = ctx.model.chat(thread, messages)
    ctx.trajectory.set_messages(thread, [*messages, reply])
    return reply["content"]


def build_conductor(ctx: Context):
    """Compile the conductor graph: conduct -> consult -> conduct ... until an end."""
    from langgraph.graph import END, START, StateGraph  # slow import: see loop.py

    limits, prompts = ctx.settings.limits, ctx.settings.prompts

    def conduct(state: ConductorState) -> dict:
        if state["rounds"] >= limits.max_rounds:
            return {"stop_reason": "round_cap"}
        messages = list(state["messages"])
        if state["rounds"] == limits.max_rounds - 1:
            messages.append({"role": "user", "content": render(prompts.last_round_warning)})
        try:
            reply = ctx.model.chat("conductor", messages)
        except LimitReached as limit:
            return {"stop_reason": limit.reason}
        messages.append(reply)
        update: dict = {"messages": messages, "rounds": state["rounds"] + 1, "pending": None}
        turn = parse_turn(reply["content"])
        if turn.final_answer is not None:
            update.update(stop_reason="final_answer", final_answer=turn.final_answer)
        elif turn.expert:
            update.update(pending={"expert": turn.expert, "instruction": turn.instruction},
                          reminders=0)
        elif state["reminders"] >= limits.max_reminders:
            update.update(stop_reason="malformed_replies")
        else:
            messages.append({"role": "user", "content": render(
                prompts.conductor_reminder, call_syntax=call_syntax())})
            update["reminders"] = state["reminders"] + 1
        ctx.trajectory.set_messages("conductor", messages)
        return update

    def consult(state: ConductorState) -> dict:
        name, instruction = state["pending"]["expert"], state["pending"]["instruction"]
        try:
            answer = consult_expert(ctx, name, instruction, state["rounds"])
        except LimitReached as limit:
            return {"stop_reason": limit.reason, "pending": None}
        ctx.trajectory.add_decision("consultation", round=state["rounds"], expert=name,
                                    instruction=instruction, answer=answer[:2000])
        messages = [*state["messages"], {"role": "user", "content": render(
            prompts.expert_reply, name=name, answer=answer)}]
        ctx.trajectory.set_messages("conductor", messages)
        return {"messages": messages, "pending": None}

    graph = StateGraph(ConductorState)
    graph.add_node("conduct", conduct)
    graph.add_node("consult", consult)
    graph.add_edge(START, "conduct")
    graph.add_conditional_edges(
        "conduct",
        lambda s: END if s["stop_reason"] else ("consult" if s["pending"] else "conduct"),
        ["consult", "conduct", END])
    graph.add_conditional_edges("consult", lambda s: END if s["stop_reason"] else "conduct",
                                ["conduct", END])
    return graph.compile()


def run_conductor(ctx: Context, problem: str) -> Outcome:
    """Solve `problem` by meta-prompting; ends on a final answer, the round cap, or too many
    malformed turns in a row."""
    settings = ctx.settings
    repo = str(ctx.repo)
    system = render(settings.prompts.conductor_system, repo=repo, experts=settings.experts,
                    max_rounds=settings.limits.max_rounds, call_syntax=call_syntax())
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": render(settings.prompts.conductor_task,
                                                   repo=repo, problem=problem)}]
    ctx.trajectory.set_messages("conductor", messages)
    start: ConductorState = {"messages": messages, "rounds": 0, "reminders": 0, "pending": None,
                             "stop_reason": None, "final_answer": None}
    # At most two graph steps per round (conduct, consult) plus the closing check.
    final = invoke_graph(build_conductor(ctx), start, 2 * settings.limits.max_rounds + 5)
    if final is None:
        return Outcome("recursion_limit")
    return Outcome(final["stop_reason"] or "no_stop_reason", final.get("final_answer"))
