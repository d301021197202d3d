"""Opening a run: its directory, archive, agent repository, benchmark, ledger and gateway."""

from __future__ import annotations

import json
import random
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.bench import get_benchmark
from agentforge.bench.named_lists import coverage_warning
from agentforge.bench.protocol import BenchDataMissing, BenchError, Benchmark
from agentforge.bench.task import Task
from agentforge.errors import ConfigError
from agentforge.evolve.config import ImproveConfig, RunConfig, Stage
from agentforge.evolve.loop.search import order_for_stages, stage_warnings
from agentforge.evolve.rundir import RunDir, new_run_id
from agentforge.evolve.rundir.agents import clean_copy, export_commit
from agentforge.evolve.rundir.seed import PreparedSeed, prepare_seed
from agentforge.evolve.selection import make_selector
from agentforge.evolve.workplaces.local import LocalWorkplace
from agentforge.evolve.workplaces.protocol import Workplace
from agentforge.evolve.workplaces.work import AgentCode, BenchmarkSpec
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.spec import role_endpoint
from agentforge.store import SqlStore, Store
from agentforge.store.records import NodeStatus
from agentforge.store.repo import AgentRepo

_WORKPLACE_LOCK = threading.Lock()


@dataclass
class RunContext:
    """Everything a running evolution uses; opened by `open_run`."""

    rundir: RunDir
    config: RunConfig
    run_id: str
    store: Store
    """The archive, through its seam (store/protocol.py)."""
    repo: AgentRepo
    ledger: Ledger
    gateway: Gateway
    benchmark: Benchmark
    validation: list[Task]
    """Validation tasks in the run's fixed order (every node is evaluated in this order)."""
    held_out: list[Task]
    validation_pool: list[Task] = field(default_factory=list)
    """The split's tasks beyond `max_validation_tasks`, in the run's order: what validation
    growth adds for tied top nodes (loop/growth.py)."""
    stages: list[Stage] = field(default_factory=list)
    """The evaluation stages as task counts on `validation`'s order (lists resolved)."""
    warnings: list[str] = field(default_factory=list)
    """What the user should know before spending money: named lists the loaded data does not
    fully hold, stages whose list is cut by the split."""
    opened_workplace: Workplace | None = None
    """Where sandbox work runs (this machine, or a Ray cluster), once `workplace()` made it."""

    @property
    def benchmark_spec(self) -> BenchmarkSpec:
        """How a worker opens the run's benchmark."""
        bench = self.config.benchmark
        return BenchmarkSpec(bench.name, bench.source, dict(bench.options))

    def workplace(self) -> Workplace:
        """The run's Workplace, made on first use (joining a Ray cluster takes seconds)."""
        with _WORKPLACE_LOCK:  # worker threads may ask first at the same moment
            if self.opened_workplace is None:
                self.opened_workplace = make_workplace(self)
            return self.opened_workplace

    def agent_dir(self, node_id: int) -> Path:
        """The node's agent as a folder on the host (never run here: only copied into
        sandboxes)."""
        return export_commit(self.repo, self.store.get_node(node_id).commit, self.rundir.agents)

    def agent_code(self, node_id: int) -> AgentCode:
        """The node's agent as work carries it: its commit and the exported folder."""
        return AgentCode(self.store.get_node(node_id).commit, self.agent_dir(node_id))

    def spent(self) -> str | None:
        """Why the run's dollars or tokens can pay for no more work (None: they can)."""
        budget = self.config.budget
        if budget.max_usd is None and budget.max_tokens is None:
            return None
        spend = self.ledger.spend(run_id=self.run_id)
        if budget.max_usd is not None and spend.cost_usd >= budget.max_usd:
            return f"dollars: ${spend.cost_usd:.4f} of ${budget.max_usd:.4f} spent"
        if budget.max_tokens is not None and spend.tokens >= budget.max_tokens:
            return f"tokens: {spend.tokens} of {budget.max_tokens} used"
        # The gateway refuses calls whose worst case no longer fits: then the run is done too.
        return self.gateway.run_budget_exhausted(self.run_id)

    def task(self, task_id: str) -> Task:
        """A task of either split by id."""
        for task in (*self.validation, *self.validation_pool, *self.held_out):
            if task.instance_id == task_id:
                return task
        return self.benchmark.task(task_id)


def ordered_tasks(benchmark: Benchmark, config: RunConfig, split: str, cap: int | None,
                  salt: str, subset: str | None = None) -> list[Task]:
    """The split's tasks of the subset in a seeded order, capped."""
    tasks = sorted(benchmark.tasks(subset=subset or config.benchmark.subset, split=split),
                   key=lambda t: t.instance_id)
    random.Random(f"{config.seed}/{salt}").shuffle(tasks)
    return tasks[:cap] if cap else tasks


@contextmanager
def open_run(run_dir: Path, config: RunConfig | None = None,
             overrides: list[str] = ()) -> Iterator[RunContext]:
    """Start a new run (config given) or reopen one (config None, overrides applied)."""
    rundir = RunDir(Path(run_dir))
    seed = None
    if config is not None:
        if rundir.exists():
            raise ConfigError(f"{run_dir} already holds a run: continue it with "
                              f"agentforge evolve --resume {run_dir}, or pick a new --run-dir")
        plan = check_run_can_start(config)  # a refused start writes nothing
        seed = prepare_seed(config.seed_agent, config.improve)
        refuse_shared_store(config.store)
        if config.evaluation.executor == "ray":  # a cluster that cannot take the run: say so
            from agentforge.evolve.workplaces.ray_driver import (
                preflight,  # before anything is written
            )

            preflight(config, config.store or str(rundir.database))
        rundir.path.mkdir(parents=True, exist_ok=True)
        rundir.save_config(config)
    else:
        refuse_imported_run(rundir)
        config = rundir.load_config(list(overrides))
        try:  # a bad --set is refused before it is saved
            plan = check_run_can_start(config)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (the run's config: {rundir.config_file}; correct it "
                              f"with agentforge evolve --resume {run_dir} --set KEY=VALUE)"
                              ) from exc
        if overrides:
            rundir.save_config(config)
    store = rundir.open_store()
    try:
        repo = rundir.open_repo()
        runs = store.list_runs()
        run_id = runs[0].id if runs else store.create_run(
            new_run_id(rundir.path), run_dir=str(rundir.path.resolve()),
            config=config.model_dump(mode="json")).id
        ensure_seed(store, repo, run_id, config.seed_agent, rundir, seed=seed,
                    improve=config.improve)
        ledger = Ledger(store.engine, prices=config.llm.prices)
        warnings = list(plan.warnings)
        if not runs:
            for warning in warnings:
                store.add_event(run_id, "warning", warning)
        else:
            warnings += _dropped_on_resume(store, run_id, config.benchmark.validation_split,
                                           plan.validation + plan.validation_pool)
        with Gateway(role_endpoint("agent", config.llm), ledger, retry=config.llm.retry) as gw:
            budget = config.budget
            if budget.max_usd or budget.max_tokens:
                gw.set_run_budget(run_id, Budget(tokens=budget.max_tokens, usd=budget.max_usd))
            ctx = RunContext(rundir, config, run_id, store, repo, ledger, gw, plan.benchmark,
                             plan.validation, plan.held_out, plan.validation_pool, plan.stages,
                             warnings)
            try:
                yield ctx
            finally:
                if ctx.opened_workplace is not None:
                    ctx.opened_workplace.close()
    finally:
        store.close()


@dataclass
class RunPlan:
    """What a run evaluates on, worked out before anything is written."""

    benchmark: Benchmark
    validation: list[Task]
    held_out: list[Task]
    validation_pool: list[Task]
    """The validation split's tasks beyond max_validation_tasks (what growth draws from)."""
    stages: list[Stage]
    warnings: list[str]


def check_run_can_start(config: RunConfig) -> RunPlan:
    """Everything a run needs that a config can get wrong, checked before its directory is
    written: the selector, a model (and its API key) for each role, the benchmark's data and
    validation tasks, the stages' lists. One ConfigError lists every problem and its fix."""
    problems: list[str] = []
    try:
        make_selector(config.selection.name, config.selection.options)
    except ConfigError as exc:
        problems.append(f"selection: {exc}")
    for role in ("diagnose", "agent"):
        try:
            role_endpoint(role, config.llm)
        except ConfigError as exc:
            problems.append(f"llm.{role}: {exc}")
    try:
        plan = _plan_tasks(config)
    except BenchDataMissing as exc:
        problems.append(f"benchmark: {exc}; give this run its data with `source = \"DIR\"` "
                        "under [benchmark] in the config, or --set benchmark.source=DIR")
    except (ConfigError, BenchError) as exc:
        problems.append(f"benchmark: {exc}")
    if problems:
        raise ConfigError("the run cannot start:\n  " + "\n  ".join(problems))
    return plan


def _plan_tasks(config: RunConfig) -> RunPlan:
    bench = config.benchmark
    benchmark = get_benchmark(bench.name, source=bench.source, **bench.options)
    whole_split = ordered_tasks(benchmark, config, bench.validation_split, None, "validation")
    validation = whole_split[:bench.max_validation_tasks or len(whole_split)]
    held_out = ordered_tasks(benchmark, config, bench.held_out_split,
                             bench.max_held_out_tasks, "held_out", bench.held_out_subset)
    if not validation:
        subset = f"subset {bench.subset!r}" if bench.subset else "the benchmark"
        raise ConfigError(f"{subset} of {bench.name} has no tasks in the split "
                          f"{bench.validation_split!r} (benchmark.validation_split): pick "
                          f"another subset or split (agentforge bench list -b {bench.name})")
    pool = whole_split[len(validation):]
    validation, stages, warnings = _staged(benchmark, config, validation, held_out)
    return RunPlan(benchmark, validation, held_out, pool, stages, warnings)


def make_workplace(ctx: RunContext) -> Workplace:
    """The configured Workplace: the local engine, or the Ray cluster of the config."""
    if ctx.config.evaluation.executor == "ray":
        from agentforge.evolve.workplaces.ray_driver import RayWorkplace

        return RayWorkplace(ctx.config, ctx.run_id, ctx.rundir.store_url)
    return LocalWorkplace(ctx.gateway)


def _staged(benchmark: Benchmark, config: RunConfig, validation: list[Task],
            held_out: list[Task]) -> tuple[list[Task], list[Stage], list[str]]:
    """Validation tasks ordered stage by stage, the stages as counts, and the warnings."""
    subsets = benchmark.subsets()
    ids = [t.instance_id for t in validation]
    order, stages = order_for_stages(config.evaluation.stages, ids, subsets)
    by_id = {t.instance_id: t for t in validation}
    bench = config.benchmark
    warnings = [w for name in dict.fromkeys([bench.subset, bench.held_out_subset,
                                             *(s.subset for s in config.evaluation.stages)])
                if (w := coverage_warning(bench.name, name, subsets["full"]))]
    warnings += stage_warnings(config.evaluation.stages, ids, subsets)
    shared = len(set(ids) & {t.instance_id for t in held_out})
    if shared:
        warnings.append(f"{shared} held-out tasks are also validation tasks: their held-out "
                        f"scores are not held out; pick a held_out_subset or split outside "
                        f"the validation tasks (e.g. not-dgm-60 / not-dgm-200)")
    return [by_id[i] for i in order], stages, warnings


def _dropped_on_resume(store: SqlStore, run_id: str, split: str,
                       validation: list[Task]) -> list[str]:
    """A resumed run whose validation tasks lost some it already evaluated (a list or subset
    changed under it): its scores would mix two task sets."""
    current = {t.instance_id for t in validation}
    gone = {e.task_id for e in store.list_evaluations(run_id, finished=True, split=split)
            if e.task_id not in current}
    if not gone:
        return []
    return [f"{len(gone)} tasks this run already evaluated are no longer among its validation "
            f"tasks (e.g. {sorted(gone)[0]}): the subset or its list changed since the run "
            f"started, so scores mix two task sets; resume with the run's original subset "
            f"(e.g. --set benchmark.subset=agentforge-picked-50 for the old verified-mini)"]


def ensure_seed(store: SqlStore, repo: AgentRepo, run_id: str, seed_agent: Path,
                rundir: RunDir, *, seed: PreparedSeed | None = None,
                improve: ImproveConfig | None = None) -> None:
    """Commit the seed agent and add its node (recording its origin), unless already done."""
    if store.list_nodes(run_id):
        return
    seed = seed or prepare_seed(seed_agent, improve)
    staging = rundir.path / ".seed"
    if staging.exists():
        shutil.rmtree(staging)
    clean_copy(seed.folder, staging)
    commit = repo.commit_folder(staging, message=f"seed: {seed.name}")
    node = store.add_node(run_id, parent_id=None, commit=commit, status=NodeStatus.evaluating)
    # A seed from an imported run keeps its foreign id (DGM's run id, HGM's commit id).
    store.set_node_origin(node.id, external_id=seed.origin.get("external_id"),
                          origin=seed.origin)
    store.add_event(run_id, "seed", f"seed agent {seed.name} at {commit[:12]} from "
                    f"{seed.origin.get('ref') or seed.origin.get('path')}", data=seed.origin)


def refuse_imported_run(rundir: RunDir) -> None:
    """An imported DGM/HGM run is read-only for evolution: say why and what works instead."""
    if not rundir.database.is_file() and rundir.store_url == str(rundir.database):
        return
    store = rundir.open_store()
    try:
        runs = store.list_runs()
        origin = json.loads(runs[0].origin_json) if runs and runs[0].origin_json else None
    finally:
        store.close()
    if origin:
        system = str(origin.get("system", "another system")).upper()
        raise ConfigError(
            f"{rundir.path} is an imported {system} run ({origin.get('source')}): it is "
            f"read-only, because its scores come from {system}'s own harness. Use agentforge "
            "status / agent export on it; to evolve its agents further, start a new run "
            f"seeded from one: agentforge evolve --config FILE.toml --run-dir NEW_DIR --seed "
            f"{rundir.path}@best (or @NODE)")


def refuse_shared_store(url: str | None) -> None:
    """A new run needs a database of its own: two runs in one would mix their archives."""
    if url is None:
        return
    store = SqlStore.open(url)
    try:
        runs = store.list_runs()
    finally:
        store.close()
    if runs:
        raise ConfigError(f"the store {url} already holds run {runs[0].id} "
                          f"({runs[0].run_dir}): give each run its own database "
                          "(CREATE DATABASE ...), or resume that run with "
                          f"agentforge evolve --resume {runs[0].run_dir}")
