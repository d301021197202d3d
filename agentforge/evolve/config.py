"""RunConfig: everything one evolution run reads, loaded from TOML plus `key=value` overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agentforge.errors import ConfigError, describe_error_entry
from agentforge.llm.config import LLMConfig

_STRICT = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class BenchmarkConfig(BaseModel):
    """Which tasks the run evaluates on."""

    model_config = _STRICT

    name: str = "local"
    """Benchmark in the registry: local, polyglot or swebench."""
    source: Path | None = None
    """Its data (a folder or file); None: the adapter's default (the bundled suite for local)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Adapter options, e.g. polyglot `attempts = 2` (pass@2) or `languages = ["python"]`."""
    subset: str | None = None
    """Named subset (e.g. `smoke`, `small`); None: every task."""
    held_out_subset: str | None = None
    """Subset the held-out tasks come from (None: `subset`), e.g. `full` when the subset is
    all validation tasks."""
    validation_split: str = "validation"
    """Split that selection sees."""
    held_out_split: str = "held_out"
    """Split the finalists are re-scored on."""
    max_validation_tasks: int | None = Field(default=None, ge=1)
    """Cap on validation tasks (the first N in the run's fixed task order); the split's other
    tasks are what `evaluation.growth` adds for tied top nodes."""
    max_held_out_tasks: int | None = Field(default=None, ge=1)
    """Cap on held-out tasks."""


class Stage(BaseModel):
    """One stage of staged evaluation: more validation tasks, if the score so far allows.

    A stage names either a count (`tasks`, cumulative, on the run's task order) or a list
    (`subset`, whose validation tasks it adds); DGM's SWE-bench stages are
    `[{subset = "dgm-small"}, {subset = "dgm-medium", min_score = 0.4},
    {subset = "dgm-big", min_score = 0.4, archive_threshold = "second_best"}]`.
    """

    model_config = _STRICT

    tasks: int | None = Field(default=None, ge=1)
    """Validation tasks evaluated by the end of this stage (cumulative); None: all of them
    (or, with `subset`, that list's)."""
    subset: str | None = None
    """Named list (see `agentforge bench list`) whose validation tasks this stage adds."""
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    """Score over the earlier stages needed to enter this stage (ignored for the first)."""
    archive_threshold: Literal["none", "second_best"] = "none"
    """`second_best`: the score needed is max(min_score, second-best score among the nodes
    that finished every stage; the only one's score if there is one), as DGM_outer.py's
    get_full_eval_threshold. `none`: min_score alone."""

    @model_validator(mode="after")
    def _count_or_list(self) -> Stage:
        if self.subset is not None and self.tasks is not None:
            raise ValueError("a stage takes `tasks` (a count) or `subset` (a list), not both")
        return self


class GrowthConfig(BaseModel):
    """More validation tasks for the top nodes when their score no longer tells them apart.

    When more nodes share the archive's top score than the finalists can hold, or the top
    score is a perfect one (the ceiling of the evaluated tasks), the tied nodes are evaluated
    on the next `tasks_per_stage` tasks of the validation split beyond `max_validation_tasks`
    (the run's order), stage after stage while the tie or the ceiling lasts. Those are
    ordinary evaluations: the run's budgets (dollars, tokens, wall time) stop them too.
    """

    model_config = _STRICT

    enabled: bool = True
    """Grow the tied nodes' evaluated set (off: ties are left to the finalist rule)."""
    tasks_per_stage: int = Field(default=4, ge=1)
    """Validation tasks each growth stage adds to the tied nodes."""
    max_tasks: int | None = Field(default=None, ge=1)
    """Tasks growth may add to a node in all (None: every task of the split beyond the cap)."""


class EvaluationConfig(BaseModel):
    """Staged evaluation of every valid node on validation tasks."""

    model_config = _STRICT

    stages: list[Stage] = Field(
        default_factory=lambda: [Stage(tasks=10), Stage(tasks=50, min_score=0.4),
                                 Stage(tasks=None, min_score=0.4)], min_length=1)
    """Stages in order, e.g. 10 tasks, then 50 if the score is >= 0.4, then all (DGM's own
    lists and thresholds: see `Stage`)."""
    workers: int = Field(default=2, ge=1)
    """Evaluations running at the same time (a self-improvement worker with no step to make,
    while the selector waits for a score or once the iteration budget is spent, runs
    evaluations too)."""
    executor: Literal["local", "ray"] = "local"
    """Where sandbox work runs: `local` (this machine's Docker engine) or `ray` (Ray tasks on
    a cluster: each node's own engine and gateway; see README "Running on a cluster")."""
    ray_address: str | None = None
    """The cluster of executor "ray": `auto` (the one `ray start` made here), `ray://host:port`
    (Ray Client), or None for a private single-node cluster started by the run (never one
    that `ray start` or RAY_ADDRESS points to)."""
    ray_cpus_per_job: float = Field(default=1.0, gt=0)
    """CPUs Ray reserves for each job (an evaluation, implementation or validation)."""
    ray_memory_mb: int | None = Field(default=None, gt=0)
    """Memory Ray reserves for each job (None: no reservation; the sandbox has its own cap)."""
    ray_max_retries: int = Field(default=2, ge=0)
    """Times Ray runs a job again after its worker process or node died; then the job is
    recorded as failed with the reason."""
    agent_timeout: float = Field(default=1800.0, gt=0)
    """Wall-clock seconds an agent may take on one task."""
    first_task_alone: bool = True
    """Run a new child's first task alone: a crash there makes the node invalid at once."""
    growth: GrowthConfig = Field(default_factory=GrowthConfig)
    """Validation that does not saturate: more tasks for tied top nodes (see GrowthConfig)."""
    max_trajectory_mb: float = Field(default=16.0, gt=0)
    """MiB of an agent's output folder kept per task in the run directory; a bigger one is
    cut, and its kept trajectory.json says what was left out (agentforge_truncated)."""


class ImproveConfig(BaseModel):
    """The self-improvement step: diagnose, implement, validate."""

    model_config = _STRICT

    workers: int = Field(default=1, ge=1)
    """Self-improvement steps running at the same time."""
    diagnose_attempts: int = Field(default=3, ge=1)
    """Tries to get a valid structured proposal before the attempt is recorded as failed."""
    failures_shown: int = Field(default=3, ge=0)
    """Failed evaluations of the parent the diagnosis sees: a sample each step draws (a
    parent expanded again is shown other failures), in their order."""
    excerpt_chars: int = Field(default=6000, ge=200)
    """Characters kept of each trajectory and test output shown to the diagnosis."""
    agent_timeout: float = Field(default=1800.0, gt=0)
    """Wall-clock seconds the parent may take to implement the change on its own source."""
    validate_timeout: float = Field(default=900.0, gt=0)
    """Seconds the child's own tests may take."""
    own_tests: list[str] = Field(default_factory=list)
    """Extra pytest arguments for the child's own tests (e.g. a test file); empty: all."""
    operators: dict[str, float] = Field(default_factory=lambda: {"self_edit": 1.0})
    """How children are made, with weights: self_edit, prompt_mutation, crossover."""
    operator_policy: Literal["mix", "bandit"] = "mix"
    """mix: draw by the weights; bandit: the operator with the best gain per unit of cost."""

    @field_validator("operators")
    @classmethod
    def _known_operators(cls, value: dict[str, float]) -> dict[str, float]:
        known = ("self_edit", "prompt_mutation", "crossover")
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown operator(s) {', '.join(unknown)}: use {', '.join(known)}")
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("operator weights must be >= 0 with at least one > 0, e.g. "
                             "{ self_edit = 0.6, prompt_mutation = 0.3, crossover = 0.1 }")
        return value


class SelectionConfig(BaseModel):
    """Parent selection."""

    model_config = _STRICT

    name: str = "dgm"
    """dgm, hgm, greedy, random, no-archive or best-of-n."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The selector's constants (e.g. steepness, midpoint for dgm; alpha for hgm); see
    agentforge/evolve/selection."""
    wait_for_unscored: bool = True
    """Choose no parent while a valid node still waits for its first finished evaluation, so
    that every choice sees every child (one task's delay; off: never wait)."""


class BudgetConfig(BaseModel):
    """When the run stops starting new work."""

    model_config = _STRICT

    max_iterations: int | None = Field(default=10, ge=0)
    """Self-improvement attempts in total (failed and invalid ones count)."""
    max_usd: float | None = Field(default=None, gt=0)
    """Dollars of model calls (from the ledger, all roles)."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Tokens of model calls (prompt + completion, from the ledger)."""
    max_wall_seconds: float | None = Field(default=None, gt=0)
    """Wall-clock seconds of work (summed over resumes)."""
    drain_seconds: float | None = Field(default=None, ge=0)
    """After a stop, how long work in flight may finish; the rest is abandoned and re-queued
    by a resume. None: wait for it."""


class FinalizeConfig(BaseModel):
    """Held-out re-scoring at the end of the run."""

    model_config = _STRICT

    enabled: bool = True
    """Re-score the finalists when the run ends (else only `agentforge evolve finalize DIR`)."""
    top_k: int = Field(default=3, ge=1)
    """How many of the best agents by validation score are re-scored (distinct agents: of
    nodes with the same tree only the best-ranked one)."""
    ties: Literal["lineages", "earliest"] = "lineages"
    """Between finalists with the same validation tallies: `lineages` takes the one farthest
    in the tree from the finalists chosen before it (real alternatives to re-score),
    `earliest` the earlier node."""
    top_up: bool = True
    """Before choosing, give more validation tasks (in the run's order, within what
    `evaluation.growth` may use) to agents whose score on few tasks could still rank them
    among the finalists (mean plus one standard deviation above the last finalist's cautious
    score), until each is in or out; the run's dollar and token budgets stop it."""


class RunConfig(BaseModel):
    """One evolution run (`agentforge evolve --config FILE.toml`)."""

    model_config = _STRICT

    seed_agent: Path = Path("archive/base")
    """Folder of the seed agent (agent.toml + package), or RUN_DIR@NODE (a node id or best)
    of another run; relative paths: the config's folder, then the current directory, then
    agentforge's archive/."""
    seed: int = 0
    """Seed of the run's random state (task order, parent selection)."""
    llm: LLMConfig = Field(default_factory=LLMConfig)
    """Models of the `diagnose` and `agent` roles."""
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    improve: ImproveConfig = Field(default_factory=ImproveConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    finalize: FinalizeConfig = Field(default_factory=FinalizeConfig)
    store: str | None = None
    """Where the archive lives: None for the run directory's SQLite file, or a
    `postgresql://user@host:port/database` URL (one database per run; needed when a Ray
    cluster has several nodes). Put the password in PGPASSWORD or ~/.pgpass, not the URL:
    the run's config.json keeps the URL."""

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("postgresql://", "postgresql+psycopg://")):
            raise ValueError(f"store must be a postgresql:// URL (or unset for the run "
                             f"directory's SQLite file), got {value!r}")
        if urlsplit(value).password:
            raise ValueError("store URL holds a password, which config.json would keep: "
                             "remove it and set PGPASSWORD or ~/.pgpass instead")
        return value

    @model_validator(mode="after")
    def _stages_grow(self) -> RunConfig:
        stages = self.evaluation.stages
        if any(s.tasks is None and s.subset is None for s in stages[:-1]):
            raise ValueError("evaluation.stages: only the last stage may have tasks = all (unset)")
        kinds = [s.subset is not None for s in stages]
        if kinds != sorted(kinds, reverse=True):
            raise ValueError("evaluation.stages: stages that name a subset come before those "
                             "that count tasks (counts go on after the lists' tasks)")
        known = [s.tasks for s in stages if s.tasks is not None]
        if known != sorted(set(known)):
            raise ValueError("evaluation.stages: each stage's tasks must be more than the last's")
        return self

    @model_validator(mode="after")
    def _splits_differ(self) -> RunConfig:
        # The archive keys evaluations by split name: one name for both would count
        # held-out results as validation scores.
        bench = self.benchmark
        if bench.validation_split == bench.held_out_split:
            raise ValueError(f"benchmark: validation_split and held_out_split are both "
                             f"{bench.validation_split!r}; give them different splits")
        return self


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """`a.b=value` strings -> a nested dict; values are TOML literals, else plain strings."""
    nested: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not KEY=VALUE, e.g. budget.max_iterations=5")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override of {part}")
        node[parts[-1]] = value
    return nested


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `extra` over `base` (tables merge, other values replace)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def build_config(data: dict[str, Any], source: str = "the run configuration",
                 overrides: dict[str, Any] | None = None) -> RunConfig:
    """Validate a config dict; the error names each bad field, what it accepts, and where the
    value came from (`source`, or --set for the keys in `overrides`)."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        by_origin: dict[str, list[str]] = {}
        for error in exc.errors():
            origin = "--set" if _set_by(error["loc"], overrides or {}) else source
            by_origin.setdefault(origin, []).append(_describe(error))
        problems = " ".join(f"{origin} is invalid: {'; '.join(lines)}."
                            for origin, lines in by_origin.items())
        raise ConfigError(f"{problems} Fix these fields (see agentforge/evolve/config.py "
                          "for every field).") from exc


def _set_by(loc: tuple, overrides: dict[str, Any]) -> bool:
    """Whether the value at `loc` (or a table holding it) came from an override."""
    node: Any = overrides
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, dict):
            return True
    return bool(loc)


def _describe(error: dict) -> str:
    """One problem; an unknown key lists the keys its table takes."""
    if error["type"] == "extra_forbidden":
        path = ".".join(str(p) for p in error["loc"])
        table = _model_at(error["loc"][:-1])
        if table is not None:
            where = ".".join(str(p) for p in error["loc"][:-1]) or "the top level"
            return f"{path}: unknown key ({where} takes {', '.join(table.model_fields)})"
    return describe_error_entry(error, with_input=True)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] = RunConfig
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None or not (isinstance(field.annotation, type)
                                 and issubclass(field.annotation, BaseModel)):
            return None
        model = field.annotation
    return model


def load_run_config(path: Path | None, overrides: list[str] = ()) -> RunConfig:
    """Read a TOML config (None: defaults), apply overrides, resolve the seed folder."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; see examples/*.toml")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    extra = parse_overrides(list(overrides))
    config = build_config(merge(data, extra), str(path) if path else "the run configuration",
                          extra)
    return resolve_paths(config, path.parent if path is not None else Path.cwd())


def _find_seed_ref(seed: Path, find) -> Path | None:
    """RUN_DIR@NODE with its run directory made absolute; None for a plain folder."""
    from agentforge.evolve.rundir.refs import parse_agent_ref

    ref = parse_agent_ref(seed)
    if ref.node is None:
        return None
    return Path(f"{find(ref.path, [])}@{ref.node}")


def resolve_paths(config: RunConfig, base: Path) -> RunConfig:
    """Make the seed folder, benchmark source and scripted model paths absolute."""
    from agentforge.paths import archive_dir

    def find(p: Path, extra: list[Path]) -> Path:
        if p.is_absolute():
            return p
        for candidate in [base / p, Path.cwd() / p, *extra]:
            if candidate.exists():
                return candidate.resolve()
        return (base / p).resolve()

    seed = _find_seed_ref(config.seed_agent, find) or find(
        config.seed_agent, [archive_dir().parent / config.seed_agent,
                            archive_dir() / config.seed_agent.name])
    update: dict[str, Any] = {"seed_agent": seed}
    bench = config.benchmark
    if bench.source is not None:
        update["benchmark"] = bench.model_copy(update={"source": find(bench.source, [])})
    llm = config.llm
    roles = {}
    for role in ("diagnose", "agent"):
        chosen = getattr(llm, role)
        if chosen.spec.startswith("scripted:"):
            script = find(Path(chosen.spec.removeprefix("scripted:")), [])
            roles[role] = chosen.model_copy(update={"spec": f"scripted:{script}"})
    if roles:
        update["llm"] = llm.model_copy(update=roles)
    return config.model_copy(update=update)
