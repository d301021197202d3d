"""Parent selection, by short name: dgm, hgm, greedy, random, no-archive, best-of-n.

Selectors read plain node data (id, parent_id, status, successes, failures) and an explicit
`random.Random`, so they run without a database and a run's choices replay from its saved
RNG state.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import BaseModel, ValidationError

from agentforge.errors import ConfigError, describe_validation_error
from agentforge.evolve.selection.base import (
    Action,
    EvaluateMore,
    Expand,
    NodeLike,
    NodeView,
    NoParentAvailable,
    Selector,
    WorkInFlight,
    clade_totals,
    rng_from_json,
    rng_state_to_json,
)

# name -> "module:Class", imported only when the name is used.
SELECTORS: dict[str, str] = {
    "dgm": "agentforge.evolve.selection.dgm:DgmSelector",
    "hgm": "agentforge.evolve.selection.hgm:HgmSelector",
    "greedy": "agentforge.evolve.selection.baselines:GreedySelector",
    "random": "agentforge.evolve.selection.baselines:RandomSelector",
    "no-archive": "agentforge.evolve.selection.baselines:LatestSelector",
    "best-of-n": "agentforge.evolve.selection.baselines:SeedSelector",
}


def selector_class(name: str) -> type:
    """The class registered under `name`; an unknown name lists the valid ones."""
    if name not in SELECTORS:
        raise ConfigError(
            f"unknown selector {name!r}: choose one of {', '.join(sorted(SELECTORS))}"
        )
    module_name, class_name = SELECTORS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_selector(name: str, config: dict[str, Any] | BaseModel | None = None) -> Selector:
    """Build the selector `name` with its config (a dict is validated field by field)."""
    cls = selector_class(name)
    if isinstance(config, BaseModel):
        return cls(config)
    try:
        return cls(cls.Config.model_validate(config or {}))
    except ValidationError as exc:
        problems = describe_validation_error(exc, whole="(config)")
        fields = ", ".join(cls.Config.model_fields) or "none"
        raise ConfigError(
            f"bad config for selector {name!r}: {problems} (accepted fields: {fields})"
        ) from exc


__all__ = [
    "SELECTORS",
    "Action",
    "EvaluateMore",
    "Expand",
    "NoParentAvailable",
    "NodeLike",
    "NodeView",
    "Selector",
    "WorkInFlight",
    "clade_totals",
    "make_selector",
    "rng_from_json",
    "rng_state_to_json",
    "selector_class",
]
