"""The coding loop: a LangGraph StateGraph that alternates model turns and tool calls.

LangGraph is imported where a graph is built, not at the top of the module: its import
(langchain_core's runnables and tracers, langsmith) takes about a second, and the run's
first model call (the meta-reasoning ranking) need not wait for it.
"""

from __future__ import annotations

from typing import TypedDict

from coding_agent.context import Context, Outcome
from coding_agent.model import LimitReached
from coding_agent.settings import render


class LoopState(TypedDict):
    messages: list[dict]
    steps: int
    malformed: int
    """Malformed replies in a row: empty, no tool call, or only calls that could not run."""
    stop_reason: str | None
    summary: str | None


def build_coding_loop(ctx: Context, thread: str, max_steps: int):
    """Compile the loop graph: model -> tools -> model ... until submit or a limit."""
    from langgraph.graph import END, START, StateGraph

    toolbox = ctx.toolbox()
    schemas = toolbox.schemas()
    max_reminders = ctx.settings.limits.max_reminders

    def call_model(state: LoopState) -> dict:
        if state["steps"] >= max_steps:
            return {"stop_reason": "step_limit"}
        try:
            reply = ctx.model.chat(thread, state["messages"], tools=schemas)
        except LimitReached as limit:
            return {"stop_reason": limit.reason}
        messages = [*state["messages"], reply]
        update = {"messages": messages, "steps": state["steps"] + 1}
        if not reply.get("tool_calls"):
            update["malformed"] = state["malformed"] + 1
            if update["malformed"] > max_reminders:
                update["stop_reason"] = "malformed_replies"
            else:
                messages.append({"role": "user",
                                 "content": render(ctx.settings.prompts.no_tool_call)})
        ctx.trajectory.set_messages(thread, messages)
        return update

    def run_tools(state: LoopState) -> dict:
        messages = list(state["messages"])
        runnable = False
        for call in messages[-1]["tool_calls"]:
            name, arguments = call["function"]["name"], call["function"]["arguments"]
            result = toolbox.run(name, arguments)
            runnable = runnable or not result.malformed
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result.output})
            ctx.trajectory.add_tool_call(thread, name, arguments, ok=result.ok,
                                         output=result.output[:2000])
            if result.submitted:
                ctx.trajectory.set_messages(thread, messages)
                return {"messages": messages, "stop_reason": "submitted",
                        "summary": result.output}
        ctx.trajectory.set_messages(thread, messages)
        # The tools' error texts are the reminder; past the limit the model is not listening.
        malformed = 0 if runnable else state["malformed"] + 1
        update = {"messages": messages, "malformed": malformed}
        if malformed > max_reminders:
            update["stop_reason"] = "malformed_replies"
        return update

    def after_model(state: LoopState) -> str:
        if state["stop_reason"]:
            return END
        return "tools" if state["messages"][-1].get("tool_calls") else "model"

    graph = StateGraph(LoopState)
    graph.add_node("model", call_model)
    graph.add_node("tools", run_tools)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", after_model, ["tools", "model", END])
    graph.add_conditional_edges("tools", lambda s: END if s["stop_reason"] else "model",
                                ["model", END])
    return graph.compile()


def invoke_graph(graph, start: dict, recursion_limit: int) -> dict | None:
    """Run a compiled graph to its end; None if it hit `recursion_limit` steps first."""
    from langgraph.errors import GraphRecursionError

    try:
        return graph.invoke(start, {"recursion_limit": recursion_limit})
    except GraphRecursionError:
        return None


def run_coding_loop(ctx: Context, task: str, *, thread: str, instructions: str,
                    max_steps: int) -> Outcome:
    """Work on `task` in the repository with the tools until submit or a limit."""
    prompts = ctx.settings.prompts
    repo = str(ctx.repo)
    messages = [
        {"role": "system",
         "content": render(prompts.coder_system, repo=repo, instructions=instructions)},
        {"role": "user", "content": render(prompts.coder_task, repo=repo, problem=task)},
    ]
    ctx.trajectory.set_messages(thread, messages)
    start: LoopState = {"messages": messages, "steps": 0, "malformed": 0, "stop_reason": None,
                        "summary": None}
    # Two graph steps per model turn, plus slack: the step limit, not this, should end it.
    final = invoke_graph(build_coding_loop(ctx, thread, max_steps), start, 2 * max_steps + 5)
    if final is None:
        return Outcome("recursion_limit")
    return Outcome(final["stop_reason"] or "no_stop_reason", final.get("summary"))
