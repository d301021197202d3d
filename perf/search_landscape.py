"""The synthetic world of perf/search_efficiency.py: tasks, agents' hidden skills, one run.

Tasks: a fixed validation pool and a held-out pool, each task with a difficulty d;
P(an agent of skill s solves it) = sigmoid(s - d), the same tasks for every agent. An agent's
true score is its expected solve rate over the task distribution.

Agents: each node has a hidden skill and a hidden metaproductivity m (the mean skill gain of
its children). A self-modification of parent p fails at `fail_rate` (no node, cost paid);
otherwise the child has skill s_p + m_p + gain_sd * z and metaproductivity
m_p + meta_sd * (link * z + sqrt(1 - link^2) * z'): with link = 1 a child that gained more
itself also has more productive children (a node's own score predicts its clade's promise),
with link = 0 its own luck says nothing about its clade (the HGM paper's mismatch).

One run drives the real Scheduler (on a VirtualClock: an evaluation takes 1 time unit, a
self-modification `improve_cost` units) and the real SearchPolicy and selector; cost is
charged for every worker slot, busy or idle: (improve_workers + eval_workers) * time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist

from agentforge.evolve.config import Stage
from agentforge.evolve.loop.scheduler import (
    EvaluationJob,
    Failure,
    Scheduler,
    SchedulerConfig,
    SchedulerSteps,
)
from agentforge.evolve.loop.search import SearchPolicy
from agentforge.evolve.loop.simclock import SimulatedExecutor, VirtualClock
from agentforge.evolve.selection import EvaluateMore, Expand, make_selector
from agentforge.evolve.selection.finalists import cautious_score, finalist_ids
from agentforge.evolve.step import StepPlan

# DGM's staging (DGM_outer.py: 10 tasks, then the medium set if >= 40% resolved), capped by
# the pool: 10 tasks, then all 60.
DGM_STAGES = [Stage(tasks=10), Stage(tasks=None, min_score=0.4)]


@dataclass(frozen=True)
class World:
    """The parameters of a landscape and of the run on it."""

    link: float = 0.0
    fail_rate: float = 0.3
    root_skill: float = -1.0
    root_meta: float = -0.1
    gain_sd: float = 0.4
    meta_sd: float = 0.15
    difficulty_sd: float = 1.5
    validation_tasks: int = 60
    held_out_tasks: int = 60
    improve_cost: float = 5.0
    improve_workers: int = 2
    eval_workers: int = 6
    top_k: int = 3

    @property
    def workers(self) -> int:
        """Worker slots charged per time unit."""
        return self.improve_workers + self.eval_workers


def sigmoid(x: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


_GRID = [NormalDist().inv_cdf((i + 0.5) / 100) for i in range(100)]


def true_score(skill: float, world: World) -> float:
    """Expected solve rate over the task distribution (100 quantiles of the difficulties)."""
    return sum(sigmoid(skill - world.difficulty_sd * z) for z in _GRID) / len(_GRID)


@dataclass
class SimNode:
    """One agent as the archive holds it, plus its hidden truth."""

    id: int
    parent_id: int | None
    status: str
    skill: float
    meta: float
    truth: float
    finished: dict[str, bool] = field(default_factory=dict)
    successes: int = 0
    failures: int = 0


@dataclass
class Snapshot:
    """What a run had reached when its cost passed a checkpoint."""

    cost: float
    best_truth: float
    """True score of the best valid node created so far."""
    pick_truth: float
    """True score of the final pick by the common rule (top-k, held-out re-scoring)."""
    own_truth: float
    """True score of the selector's own best_node (the seed's unless asked for)."""
    nodes: int
    evaluations: int


class SimulatedRun:
    """One selector on one landscape under one budget, through the real scheduler."""

    def __init__(self, selector: str, seed: int, world: World, budget: float,
                 checkpoints: list[float], options: dict | None = None,
                 own_pick: bool = False) -> None:
        tasks = random.Random(seed)  # the same tasks and seed agent for every selector
        self.world = world
        self.difficulty = {f"v{i}": world.difficulty_sd * tasks.gauss(0, 1)
                           for i in range(world.validation_tasks)}
        self.held_out = [world.difficulty_sd * tasks.gauss(0, 1)
                         for _ in range(world.held_out_tasks)]
        self.rng = random.Random(f"{seed}-world-{selector}")
        self.final_rng_seed = seed
        self.selector = make_selector(selector, options or {})
        self.policy = SearchPolicy(self.selector, random.Random(f"{seed}-select"),
                                   list(self.difficulty), DGM_STAGES)
        self.budget, self.checkpoints = budget, sorted(checkpoints)
        self.own_pick = own_pick
        self.snapshots: list[Snapshot] = []
        self.best_curve: list[tuple[float, float]] = []
        self.nodes: list[SimNode] = []
        self.evaluations = 0
        self.clock = VirtualClock()
        self._add(None, world.root_skill, world.root_meta, "evaluating")
        steps = SchedulerSteps(propose=self.propose, run_improvement=self.improve,
                               on_improvement_done=self.improved,
                               run_evaluation=self.evaluate, on_evaluation_done=self.evaluated,
                               budget_exceeded=self.budget_exceeded)
        self.scheduler = Scheduler(
            steps, SimulatedExecutor(self.clock, lambda job: 1.0, world.eval_workers),
            SchedulerConfig(improve_workers=world.improve_workers,
                            eval_workers=world.eval_workers, poll_seconds=1.0, drain_seconds=0),
            improve_executor=SimulatedExecutor(self.clock, lambda plan: world.improve_cost),
            clock=self.clock)

    @property
    def cost(self) -> float:
        """Worker slots times elapsed time: idle slots are paid for too."""
        return self.world.workers * self.clock.now

    def run(self) -> list[Snapshot]:
        """Run to the budget; the snapshot at each checkpoint."""
        root = self.nodes[0]
        first = self.policy.next_tasks(root.id, True, root.finished).task_ids
        self.scheduler.run([EvaluationJob(root.id, t) for t in first])
        while len(self.snapshots) < len(self.checkpoints):  # the run ended before the budget
            self._snapshot(self.checkpoints[len(self.snapshots)])
        return self.snapshots

    # -- the world ----------------------------------------------------------------------------

    def _add(self, parent: SimNode | None, skill: float, meta: float, status: str) -> SimNode:
        node = SimNode(len(self.nodes), parent.id if parent else None, status, skill, meta,
                       true_score(skill, self.world))
        self.nodes.append(node)
        if status != "failed" and (not self.best_curve or node.truth > self.best_curve[-1][1]):
            self.best_curve.append((self.cost, node.truth))
        return node

    def improve(self, plan: StepPlan) -> tuple[bool, float, float]:
        """A self-modification: (succeeded, child skill, child metaproductivity)."""
        parent, world = self.nodes[plan.parent_id], self.world
        if self.rng.random() < world.fail_rate:
            return False, 0.0, 0.0
        z, z2 = self.rng.gauss(0, 1), self.rng.gauss(0, 1)
        skill = parent.skill + parent.meta + world.gain_sd * z
        mix = world.link * z + math.sqrt(max(1.0 - world.link**2, 0.0)) * z2
        return True, skill, parent.meta + world.meta_sd * mix

    def evaluate(self, job: EvaluationJob) -> bool:
        """One task: solved with probability sigmoid(skill - difficulty)."""
        node = self.nodes[job.node_id]
        return self.rng.random() < sigmoid(node.skill - self.difficulty[job.task_id])

    # -- the loop's hooks (as agentforge/evolve/loop/run.py, on simulated archive rows) -----------

    def propose(self, can_expand: bool, can_evaluate: bool):
        """The policy's decision turned into work."""
        action = self.policy.decide(self.nodes, can_expand, can_evaluate,
                                    self.scheduler.expansion_over())
        if isinstance(action, Expand):
            self.policy.expansions += 1
            return StepPlan.new(action.parent_id)
        if isinstance(action, EvaluateMore):
            node = self.nodes[action.node_id]
            task = self.policy.more_task(node.id, node.finished)
            return [EvaluationJob(node.id, task)] if task else None
        return None

    def improved(self, plan: StepPlan, outcome) -> list[EvaluationJob]:
        """A failed modification leaves a failed node; a valid child starts its evaluation."""
        self.policy.expansions -= 1
        parent = self.nodes[plan.parent_id]
        if isinstance(outcome, Failure):
            raise outcome.error
        ok, skill, meta = outcome
        child = self._add(parent, skill, meta, "evaluating" if ok else "failed")
        return self._next_jobs(child) if ok else []

    def evaluated(self, job: EvaluationJob, outcome) -> list[EvaluationJob]:
        """Record one result; plan on when the node's planned tasks are all back."""
        if isinstance(outcome, Failure):
            raise outcome.error
        self.policy.release(job.node_id, job.task_id)
        node = self.nodes[job.node_id]
        node.finished[job.task_id] = outcome
        node.successes += outcome
        node.failures += not outcome
        self.evaluations += 1
        if node.status != "evaluating" or self.policy.busy(node.id):
            return []
        return self._next_jobs(node)

    def _next_jobs(self, node: SimNode) -> list[EvaluationJob]:
        planned = self.policy.next_tasks(node.id, node.parent_id is None, node.finished)
        if planned.finished:
            node.status = "evaluated"
        return [EvaluationJob(node.id, t) for t in planned.task_ids]

    def budget_exceeded(self) -> str | None:
        """Take the snapshots whose cost has passed; stop at the budget."""
        while len(self.snapshots) < len(self.checkpoints) and (
                self.cost >= self.checkpoints[len(self.snapshots)]):
            self._snapshot(self.checkpoints[len(self.snapshots)])
        return f"cost {self.cost:.0f} of {self.budget:.0f}" if self.cost >= self.budget else None

    # -- the answers ------------------------------------------------------------------------

    def _snapshot(self, checkpoint: float) -> None:
        valid = [n for n in self.nodes if n.status != "failed"]
        scored = [n for n in valid if n.successes + n.failures]
        own = self.nodes[0]
        if self.own_pick and scored:  # the selector's own rule (hgm's is slow: Beta quantiles)
            own = self.nodes[self.selector.best_node(self.nodes)]
        self.snapshots.append(Snapshot(
            cost=checkpoint, best_truth=max(n.truth for n in valid),
            pick_truth=self.common_pick(scored, len(self.snapshots)).truth,
            own_truth=own.truth, nodes=len(valid), evaluations=self.evaluations))

    def common_pick(self, scored: list[SimNode], index: int) -> SimNode:
        """The rule every selector is judged by (selection/finalists.py): the top_k nodes
        by a cautious validation score each run every held-out task once (a fixed extra
        budget, the same for all selectors); the best held-out score wins."""
        if not scored:
            return self.nodes[0]
        finalists = [self.nodes[i] for i in finalist_ids(self.nodes, self.world.top_k)]
        rng = random.Random(f"{self.final_rng_seed}-final-{index}")
        held = {n.id: sum(rng.random() < sigmoid(n.skill - d) for d in self.held_out)
                for n in finalists}
        return max(finalists, key=lambda n: (held[n.id], cautious_score(n)))
