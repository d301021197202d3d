"""The agent's top-level graph: pick an approach (by strategy or by meta-reasoning), run it."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from coding_agent.context import Context, Outcome
from coding_agent.meta_reasoning import choose_approach, run_approach
from coding_agent.model import LimitReached, Model, ModelError
from coding_agent.settings import Approach, Settings
from coding_agent.trajectory import Trajectory

# The fixed approaches of the two strategies that do not choose.
DIRECT = Approach(name="direct", runner="loop", description="one tool-using coding loop")
META_PROMPTING = Approach(name="meta-prompting", runner="meta-prompting",
                          description="a conductor consulting experts")


class AgentState(TypedDict):
    problem: str
    approach: Approach | None
    outcome: Outcome | None


def build_agent(ctx: Context):
    """Compile the top-level graph: choose -> solve."""
    strategy = ctx.settings.strategy

    def choose(state: AgentState) -> dict:
        if strategy == "meta-reasoning":
            try:
                approach = choose_approach(ctx, state["problem"])
            except LimitReached as limit:
                return {"outcome": Outcome(limit.reason)}
        else:
            approach = DIRECT if strategy == "direct" else META_PROMPTING
        ctx.trajectory.data["approach"] = approach.name
        return {"approach": approach}

    def solve(state: AgentState) -> dict:
        return {"outcome": run_approach(ctx, state["approach"], state["problem"])}

    graph = StateGraph(AgentState)
    graph.add_node("choose", choose)
    graph.add_node("solve", solve)
    graph.add_edge(START, "choose")
    graph.add_conditional_edges("choose", lambda s: END if s["outcome"] else "solve",
                                ["solve", END])
    graph.add_edge("solve", END)
    return graph.compile()


def solve_problem(ctx: Context, problem: str) -> Outcome:
    """Run the whole agent on one problem."""
    start: AgentState = {"problem": problem, "approach": None, "outcome": None}
    return build_agent(ctx).invoke(start, {"recursion_limit": 5})["outcome"]


def run_agent(repo: Path, problem: str, out: Path, settings: Settings, *, base_url: str,
              api_key: str = "none", model: str | None = None) -> Outcome:
    """Run the agent on `problem` in `repo`, recording into out/trajectory.json."""
    model_name = model or settings.model
    trajectory = Trajectory(out, agent="coding_agent", model=model_name,
                            strategy=settings.strategy, repo=str(repo),
                            limits=settings.limits.model_dump(), approach=None)
    ctx = Context(settings=settings, repo=Path(repo).resolve(), trajectory=trajectory,
                  model=Model(base_url=base_url, api_key=api_key, name=model_name,
                              limits=settings.limits, pricing=settings.pricing,
                              trajectory=trajectory))
    try:
        outcome = solve_problem(ctx, problem)
    except ModelError as exc:
        trajectory.finish("error", "model_error", error=str(exc))
        raise
    except BaseException:
        trajectory.finish("error", "crash", error=traceback.format_exc())
        raise
    trajectory.finish("ok", outcome.stop_reason, summary=outcome.summary)
    return outcome
