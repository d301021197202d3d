"""The agent's top level: pick an approach (by strategy or by meta-reasoning), run it.

The approaches themselves are LangGraph graphs (the coding loop, the meta-prompting
conductor), built when they run; this level is two steps in a row and stays plain Python, so
the ranker's model call, the run's first, does not wait for LangGraph's import.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from coding_agent.context import Context, Outcome
from coding_agent.meta_reasoning import choose_approach, run_approach
from coding_agent.model import LimitReached, Model, ModelError
from coding_agent.settings import Approach, Settings
from coding_agent.trajectory import Trajectory

# The fixed approaches of the two strategies that do not choose.
DIRECT = Approach(name="direct", runner="loop", description="one tool-using coding loop")
META_PROMPTING = Approach(name="meta-prompting", runner="meta-prompting",
                          description="a conductor consulting experts")


def solve_problem(ctx: Context, problem: str) -> Outcome:
    """Run the whole agent on one problem: choose an approach, then solve with it."""
    strategy = ctx.settings.strategy
    if strategy == "meta-reasoning":
        try:
            approach = choose_approach(ctx, problem)
        except LimitReached as limit:
            return Outcome(limit.reason)
    else:
        approach = DIRECT if strategy == "direct" else META_PROMPTING
    ctx.trajectory.data["approach"] = approach.name
    return run_approach(ctx, approach, problem)


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
        trajectory.finish("error", exc.stop_reason, error=str(exc))
        raise
    except BaseException:
        trajectory.finish("error", "crash", error=traceback.format_exc())
        raise
    trajectory.finish("ok", outcome.stop_reason, summary=outcome.summary)
    return outcome
