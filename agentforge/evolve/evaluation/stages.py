"""Staged evaluation: which validation tasks a node runs next, and running one of them.

Planning is a pure function of what the archive holds (the node's finished evaluations),
so a resumed run plans exactly what the killed one would have: nothing finished is
repeated, and everything unfinished is planned again.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentforge.errors import ConfigError
from agentforge.evolve.config import Stage


@dataclass(frozen=True)
class StagePlan:
    """The next tasks of a node (empty and done=True when its evaluation is over)."""

    task_ids: list[str]
    done: bool
    stage: int
    """Index of the stage these tasks belong to (the last reached when done)."""


def plan_stage(finished: dict[str, bool], task_order: list[str], stages: list[Stage],
               second_best: float | None = None) -> StagePlan:
    """Next tasks by the stages: fill the current stage; enter the next if the score allows.

    `stages` count tasks on `task_order` (lists resolved by `order_for_stages`);
    `second_best` is the archive's value for stages with `archive_threshold = "second_best"`
    (`archive_second_best`), passed in so that planning stays a pure function.
    """
    n_done = sum(1 for t in task_order if t in finished)
    successes = sum(1 for t in task_order if finished.get(t))
    for index, stage in enumerate(stages):
        target = len(task_order) if stage.tasks is None else min(stage.tasks, len(task_order))
        if index > 0 and n_done and successes / n_done < required_score(stage, second_best):
            return StagePlan([], True, index - 1)
        missing = [t for t in task_order[:target] if t not in finished]
        if missing:
            return StagePlan(missing, False, index)
    return StagePlan([], True, len(stages) - 1)


def required_score(stage: Stage, second_best: float | None) -> float:
    """The score needed to enter a stage: min_score, raised to the archive's second best."""
    if stage.archive_threshold == "second_best" and second_best is not None:
        return max(stage.min_score, second_best)
    return stage.min_score


def archive_second_best(tallies: list[tuple[int, int]], stages: list[Stage],
                        n_tasks: int) -> float | None:
    """Second-best score among nodes that finished every stage (only one: its score; none:
    None), from (successes, finished evaluations) per node: DGM's get_full_eval_threshold
    before its 0.4 floor, which is the stage's min_score here."""
    last = stages[-1].tasks if stages and stages[-1].tasks is not None else n_tasks
    full = min(last, n_tasks)
    scores = sorted((s / n for s, n in tallies if n and n >= full), reverse=True)
    return scores[1] if len(scores) > 1 else (scores[0] if scores else None)


def order_for_stages(stages: list[Stage], task_order: list[str],
                     subsets: dict[str, list[str]]) -> tuple[list[str], list[Stage]]:
    """Resolve stages that name a list: their tasks go after the earlier stages' (the run's
    order kept within a stage) and the stage gets its cumulative count; the rest follow."""
    placed: dict[str, None] = {}
    resolved: list[Stage] = []
    for stage in stages:
        if stage.subset is None:
            resolved.append(stage)
            continue
        if stage.subset not in subsets:
            raise ConfigError(f"evaluation.stages names subset {stage.subset!r}, which the "
                              f"benchmark lacks; valid subsets: {', '.join(subsets)}")
        members = set(subsets[stage.subset])
        placed.update((t, None) for t in task_order if t in members)
        resolved.append(stage.model_copy(update={"subset": None, "tasks": len(placed)}))
    return [*placed, *(t for t in task_order if t not in placed)], resolved


def stage_warnings(stages: list[Stage], task_order: list[str],
                   subsets: dict[str, list[str]]) -> list[str]:
    """Stages whose list is not wholly among the run's validation tasks (split or cap)."""
    chosen = set(task_order)
    warnings = []
    for stage in stages:
        if stage.subset is None or stage.subset not in subsets:
            continue
        loaded = subsets[stage.subset]
        kept = sum(1 for t in loaded if t in chosen)
        if kept < len(loaded):
            warnings.append(
                f"stage {stage.subset!r} evaluates {kept} of the list's {len(loaded)} loaded "
                f"tasks: the others are not validation tasks of this run (split or cap); set "
                f"benchmark.validation_split = \"all\" to evaluate the list whole, as DGM does")
    return warnings


def plan_initial(finished: dict[str, bool], task_order: list[str], count: int) -> StagePlan:
    """The first `count` tasks of a child whose later evaluations the selector decides (hgm)."""
    missing = [t for t in task_order[:count] if t not in finished]
    return StagePlan(missing, not missing, 0)
