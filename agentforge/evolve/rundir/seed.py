"""The seed of a new run from any agent: a folder or `RUN_DIR@NODE` of another run.

    seed = prepare_seed(config.seed_agent, config.improve)   # refuses a bad seed, says why
    seed.folder, seed.origin                                  # what to commit, what to record

A seed must follow agentforge's agent contract (agent.toml naming an importable entry) and
pass its own tests. A node its run already validated (evaluating/evaluated) is trusted; an
invalid or failed node is refused with its recorded reason; the bundled archive/base is
tested by agentforge's own CI; any other folder runs its own tests in a sandbox first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentforge.errors import ConfigError
from agentforge.evolve.rundir.agent_ref import AgentRefError, resolve_runnable_agent
from agentforge.progress import long_step
from agentforge.store.records import NOT_RUNNABLE, VALIDATED

if TYPE_CHECKING:
    from agentforge.evolve.config import ImproveConfig

class SeedRefused(ConfigError):
    """The seed agent breaks the contract or its own tests (the message says how)."""


@dataclass
class PreparedSeed:
    """A seed that passed the checks: the folder to commit and where it came from."""

    folder: Path
    name: str
    origin: dict
    """Recorded on the run's root node (status --json `origin`, the export's `seed`)."""


def prepare_seed(seed_agent: str | Path, improve: ImproveConfig | None = None) -> PreparedSeed:
    """Resolve and check a seed; `improve` (ImproveConfig) sets how its own tests run."""
    from agentforge.agent_contract import AgentError

    try:
        resolved, spec = resolve_runnable_agent(seed_agent)
    except AgentRefError as exc:
        raise SeedRefused(f"seed {seed_agent} refused: {exc}") from exc
    except AgentError as exc:
        raise SeedRefused(f"seed {seed_agent} refused, it breaks the agent contract: {exc}; "
                          "point seed_agent (--seed) at archive/base, another agent folder, "
                          "or RUN_DIR@NODE") from exc
    origin = resolved.origin()
    if resolved.node_id is not None and resolved.status not in VALIDATED:
        if resolved.status in {status.value for status in NOT_RUNNABLE}:
            raise SeedRefused(f"seed {seed_agent} refused: node {resolved.node_id} is "
                              f"{resolved.status} in its run ({resolved.reason}); pick a "
                              "valid node (agentforge status shows them)")
        _run_own_tests(resolved.path, seed_agent, improve)
        origin["validated"] = "own tests passed at seeding"
    elif resolved.node_id is not None:
        origin["validated"] = f"by its run ({resolved.status})"
    elif not _is_bundled_seed(resolved.path):
        _run_own_tests(resolved.path, seed_agent, improve)
        origin["validated"] = "own tests passed at seeding"
    return PreparedSeed(folder=resolved.path, name=spec.name, origin=origin)


def _is_bundled_seed(folder: Path) -> bool:
    from agentforge.paths import archive_dir

    return folder.resolve() == (archive_dir() / "base").resolve()


def _run_own_tests(folder: Path, seed_agent, improve: ImproveConfig | None) -> None:
    from agentforge.evolve.config import ImproveConfig
    from agentforge.evolve.validation.agent import validate_agent

    improve = improve or ImproveConfig()
    with long_step(f"seed {seed_agent}: checking it in a sandbox (contract and its own tests) "
                   "before the run starts"):
        why = validate_agent(folder, pytest_args=list(improve.own_tests),
                             timeout=improve.validate_timeout,
                             labels={"agentforge.role": "seed-check"})
    if why is not None:
        raise SeedRefused(f"seed {seed_agent} refused, it fails its own checks: {why}; fix "
                          "the agent (agentforge agent test shows the whole output) or pick "
                          "another seed")
