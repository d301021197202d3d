"""Validation that does not saturate: which top nodes get tasks beyond the run's cap.

Every valid node is evaluated on the same first tasks of the run's order (the stages, up to
`max_validation_tasks`); the rest of the split, in the same order, is the growth pool.
Levels are prefixes of that extended order: the base (the capped tasks), then one more
`tasks_per_stage` block of the pool per stage. At each level, the nodes that finished all
its tasks are compared on them; when more of them share the top tally (at least one task
resolved) than the finalists can hold, or the top is every task resolved (the ceiling), the
tied nodes are due the next level. A pure function of finished evaluations, so a resumed
run plans the same growth and repeats nothing it finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentforge.evolve.config import GrowthConfig


@dataclass(frozen=True)
class GrowthStage:
    """Tied nodes due more tasks: they tie on the first `from_size` tasks, get `size`."""

    from_size: int
    size: int
    nodes: tuple[int, ...]
    successes: int
    """The tied nodes' tally on the first `from_size` tasks."""
    tie: bool
    """More nodes tie than the finalists can hold (else: the ceiling alone)."""

    def reason(self, top_k: int) -> str:
        """Why these nodes grow, for the event log."""
        tally = f"{self.successes}/{self.from_size}"
        ids = ", ".join(map(str, self.nodes))
        why = (f"{len(self.nodes)} nodes tie at {tally}, more than the {top_k} finalists"
               if self.tie else f"nodes {ids} resolved every one of their {self.from_size} "
                                "tasks (the ceiling)")
        return f"validation grows to {self.size} tasks for nodes {ids}: {why}"


def growth_levels(base: int, pool: int, config: GrowthConfig) -> list[int]:
    """The evaluated-set sizes: the base, then one more stage of the pool each."""
    extra = pool if config.max_tasks is None else min(pool, config.max_tasks)
    if not config.enabled or extra <= 0:
        return [base]
    return [base, *range(base + config.tasks_per_stage, base + extra, config.tasks_per_stage),
            base + extra]


def growth_stages(finished: Mapping[int, Mapping[str, bool]], order: Sequence[str],
                  levels: Sequence[int], top_k: int) -> list[GrowthStage]:
    """The stages due now, level by level; `finished` maps each valid node to its finished
    tasks (resolved or not), `order` is the run's order with the pool after the cap."""
    stages = []
    for size, bigger in zip(levels, levels[1:], strict=False):
        tasks = order[:size]
        at_level = {node: sum(1 for t in tasks if done[t]) for node, done in finished.items()
                    if all(t in done for t in tasks)}
        if not at_level:
            break
        top = max(at_level.values())
        tied = tuple(sorted(node for node, wins in at_level.items() if wins == top))
        if top == 0 or (len(tied) <= top_k and top < size):
            break  # nothing resolved is no top to tell apart
        stages.append(GrowthStage(size, bigger, tied, top, tie=len(tied) > top_k))
    return stages


def horizons(stages: Sequence[GrowthStage]) -> dict[int, int]:
    """Each grown node's evaluated-set size (nodes not named keep the base)."""
    sizes: dict[int, int] = {}
    for stage in stages:
        for node in stage.nodes:
            sizes[node] = max(sizes.get(node, 0), stage.size)
    return sizes
