"""What the evolution loop starts next, as a pure function of the archive and the work in flight.

`SearchPolicy` turns the selector's decision into work: a child to make (Expand) or tasks to
run (a child's planned evaluation, or one more task chosen by the selector), and keeps the
books of what is running so that decisions see it. It reads plain node records (`NodeLike`)
and finished results, never the store, so the loop feeds it the archive and
perf/search_efficiency.py feeds it a simulated one: both run the same rules.

A child's planned evaluation is its stages (`plan_stage`, below): a pure function of its
finished evaluations and the archive's second-best score, so a resumed run plans exactly
what the killed one would have: nothing finished is repeated, everything unfinished is
planned again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from agentforge.errors import ConfigError
from agentforge.evolve.config import Stage
from agentforge.evolve.selection import (
    EvaluateMore,
    Expand,
    NodeLike,
    NodeView,
    NoParentAvailable,
    Selector,
    WorkInFlight,
)
from agentforge.evolve.selection.base import ExpandingSelector, status_of


@dataclass(frozen=True)
class PlannedTasks:
    """A node's next tasks, and whether its planned evaluation is over."""

    task_ids: list[str]
    finished: bool
    """Nothing more is planned and nothing is running: the node is `evaluated`."""


class SearchPolicy:
    """The selector plus the bookkeeping of evaluations and expansions in flight."""

    def __init__(self, selector: Selector, rng: random.Random, task_order: Sequence[str],
                 stages: Sequence[Stage], *, first_task_alone: bool = True,
                 wait_for_unscored: bool = True, pool: Sequence[str] = ()) -> None:
        self.selector = selector
        self.rng = rng
        self.task_order = list(task_order)
        self.stages = list(stages)
        self.first_task_alone = first_task_alone
        self.wait_for_unscored = wait_for_unscored
        self.grown_order = [*self.task_order, *pool]
        """The task order with the growth pool after it (loop/growth.py)."""
        self.horizons: dict[int, int] = {}
        """Nodes grown beyond the capped tasks: how many tasks of `grown_order` they get."""
        self.in_flight: dict[int, set[str]] = {}
        self.expansions = 0
        """Self-improvement steps started and not yet ended."""
        self._views: dict[int, tuple[tuple, NodeView]] = {}

    # -- bookkeeping ------------------------------------------------------------------------

    def claim(self, node_id: int, task_id: str) -> str:
        """Record an evaluation as started."""
        self.in_flight.setdefault(node_id, set()).add(task_id)
        return task_id

    def release(self, node_id: int, task_id: str) -> None:
        """Record an evaluation as ended (finished or failed)."""
        self.in_flight.get(node_id, set()).discard(task_id)

    def busy(self, node_id: int) -> set[str]:
        """The node's tasks in flight."""
        return self.in_flight.get(node_id, set())

    def horizon(self, node_id: int) -> int:
        """How many tasks of `grown_order` the node is to be evaluated on."""
        return self.horizons.get(node_id, len(self.task_order))

    def views(self, nodes: Sequence[NodeLike]) -> list[NodeView]:
        """The archive as the selector sees it, with evaluations in flight and tasks unstarted."""
        views = []
        for n in nodes:
            copy_of = getattr(n, "copy_of", None)
            key = (n.parent_id, n.successes, n.failures, status_of(n), len(self.busy(n.id)),
                   0 if copy_of else self.horizon(n.id), copy_of)
            cached = self._views.get(n.id)
            if cached is None or cached[0] != key:  # building views dominates long simulations
                done, running = n.successes + n.failures, key[4]
                view = NodeView(id=n.id, parent_id=n.parent_id, successes=n.successes,
                                failures=n.failures, status=key[3], in_flight=running,
                                tasks_left=max(key[5] - done - running, 0), copy_of=copy_of)
                cached = self._views[n.id] = (key, view)
            views.append(cached[1])
        return views

    # -- decisions --------------------------------------------------------------------------

    def wants_work(self, can_expand: bool, can_evaluate: bool) -> bool:
        """Whether the selector could use the free workers (an expanding-only selector needs
        a free improve worker): callers skip reading the archive when not."""
        expanding_only = isinstance(self.selector, ExpandingSelector)
        return can_expand or (can_evaluate and not expanding_only)

    def decide(self, nodes: Sequence[NodeLike], can_expand: bool, can_evaluate: bool,
               expansion_over: bool = False) -> Expand | EvaluateMore | None:
        """The selector's next action that a free worker can take now (None: nothing now);
        `expansion_over`: the iteration budget is spent."""
        if not self.wants_work(can_expand, can_evaluate):
            return None
        expanding_only = isinstance(self.selector, ExpandingSelector)
        views = self.views(nodes)
        if self.wait_for_unscored and any(
                v.status == "evaluating" and not (v.successes + v.failures) for v in views):
            can_expand = False  # let every choice see every child's first result
            if not can_evaluate or expanding_only:
                return None
        try:
            action = self.selector.next_action(
                views, self.rng, WorkInFlight(expansions=self.expansions, can_expand=can_expand,
                                              expansion_over=expansion_over))
        except NoParentAvailable:
            return None
        if isinstance(action, Expand):
            return action if can_expand else None
        return action if can_evaluate else None

    def more_task(self, node_id: int, finished: dict[str, bool]) -> str | None:
        """An EvaluateMore's task: the node's first task neither finished nor running (grown
        nodes: within their horizon)."""
        rest = self._unstarted(node_id, finished, self.grown_order[:self.horizon(node_id)])
        return self.claim(node_id, rest[0]) if rest else None

    def _unstarted(self, node_id: int, finished: dict[str, bool],
                   tasks: Sequence[str]) -> list[str]:
        busy = self.busy(node_id)
        return [t for t in tasks if t not in finished and t not in busy]

    @property
    def decides_each_task(self) -> bool:
        """The selector chooses a child's evaluations after its first ones (hgm): growth
        only widens what it may choose from, and is never queued."""
        return getattr(self.selector, "initial_evaluations", None) is not None

    def plan(self, node_id: int, is_seed: bool, finished: dict[str, bool],
             second_best: float | None = None) -> StagePlan:
        """The node's planned evaluation: a child gets the selector's initial evaluations if
        it has a count (hgm), else the configured stages (the seed always gets the stages);
        `second_best` feeds stages whose threshold is the archive's (DGM's full evaluation)."""
        if self.decides_each_task and not is_seed:
            return plan_initial(finished, self.task_order, self.selector.initial_evaluations)
        return plan_stage(finished, self.task_order, self.stages, second_best)

    def next_tasks(self, node_id: int, is_seed: bool, finished: dict[str, bool],
                   second_best: float | None = None) -> PlannedTasks:
        """Claim the node's next planned tasks (after its stages, the growth it is due unless
        the selector decides each task); a child's first task runs alone if configured."""
        plan = self.plan(node_id, is_seed, finished, second_best)
        busy = self.busy(node_id)
        if plan.done:
            grown = self.grown_order[len(self.task_order):self.horizon(node_id)]
            todo = [] if self.decides_each_task else self._unstarted(node_id, finished, grown)
            return PlannedTasks([self.claim(node_id, t) for t in todo],
                                finished=not busy and not todo)
        todo = [t for t in plan.task_ids if t not in busy]
        if self.first_task_alone and not is_seed and not finished:
            todo = [] if busy else todo[:1]  # a crash on the first task ends it cheaply
        return PlannedTasks([self.claim(node_id, t) for t in todo], finished=False)


# -- a node's stages: which validation tasks it runs next ------------------------------


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
