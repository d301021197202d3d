"""Meta-reasoning prompting (Gao et al. 2024): the model ranks approaches, the agent runs the best.

The approaches and their objective descriptions live in config.toml. The ranking, what the
model said, and the choice all go into the trajectory.
"""

from __future__ import annotations

import re

from coding_agent.context import Context, Outcome
from coding_agent.loop import run_coding_loop
from coding_agent.meta_prompting import BLOCK_END, run_conductor
from coding_agent.settings import Approach, render

# The reply syntax; the prompt's description of it is generated from these constants.
RANKING_START = "@@ranking"
_RANKING = re.compile(r"^[ \t]*" + re.escape(RANKING_START) + r"[ \t]*\n(?P<body>.*?)"
                      r"(?:^[ \t]*" + re.escape(BLOCK_END) + r"[ \t]*$|\Z)",
                      re.MULTILINE | re.DOTALL)


def ranking_syntax() -> str:
    """How the ranker must write its ranking (for the prompt)."""
    return ("Reply format: after your reasoning, write these lines, one approach name per line, "
            f"best first, using the names exactly as given:\n{RANKING_START}\n<best approach>\n"
            f"<second best>\n...\n{BLOCK_END}")


def parse_ranking(text: str, names: list[str]) -> list[str]:
    """The known approach names in the ranking block, in order; [] if there is none."""
    block = _RANKING.search(text or "")
    if not block:
        return []
    by_lower = {name.lower(): name for name in names}
    ranked: list[str] = []
    for item in re.split(r"[\n,>]+", block.group("body")):
        # Tolerate list decorations such as "1. ", "- " and quotes around a name.
        cleaned = re.sub(r"^\s*(?:\d+[.)]|[-*])?\s*", "", item).strip(" \t`'\"*").lower()
        if cleaned in by_lower and by_lower[cleaned] not in ranked:
            ranked.append(by_lower[cleaned])
    return ranked


def rank_approaches(ctx: Context, problem: str) -> list[str]:
    """Ask the model to rank every approach for `problem`; best first.

    Names the model left out follow in config order; if no ranking can be read after the
    reminders, the config order stands (and the trajectory says so).
    """
    settings = ctx.settings
    names = [approach.name for approach in settings.approaches]
    prompts = settings.prompts
    messages = [
        {"role": "system", "content": render(prompts.ranker_system, approaches=settings.approaches,
                                             ranking_syntax=ranking_syntax())},
        {"role": "user", "content": render(prompts.ranker_task, problem=problem)},
    ]
    ranked: list[str] = []
    for attempt in range(settings.limits.max_reminders + 1):
        reply = ctx.model.chat("ranker", messages)
        messages.append(reply)
        ranked = parse_ranking(reply["content"], names)
        if ranked:
            break
        if attempt < settings.limits.max_reminders:
            messages.append({"role": "user", "content": render(
                prompts.ranker_reminder, ranking_syntax=ranking_syntax())})
    ctx.trajectory.set_messages("ranker", messages)
    ranking = ranked + [name for name in names if name not in ranked]
    ctx.trajectory.add_decision("approach_ranking", ranking=ranking, ranked_by_model=ranked,
                                fallback_to_config_order=not ranked)
    return ranking


def run_approach(ctx: Context, approach: Approach, problem: str) -> Outcome:
    """Run one approach on `problem`."""
    if approach.runner == "meta-prompting":
        return run_conductor(ctx, problem)
    return run_coding_loop(ctx, problem, thread="coder", instructions=approach.instructions,
                           max_steps=ctx.settings.limits.max_steps)


def choose_approach(ctx: Context, problem: str) -> Approach:
    """Rank the approaches for `problem` and return (and record) the one ranked first."""
    chosen = ctx.settings.find_approach(rank_approaches(ctx, problem)[0])
    ctx.trajectory.add_decision("approach_choice", chosen=chosen.name, runner=chosen.runner)
    return chosen
