"""Settings: the agent's one data file (config.toml) loaded into validated objects."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_FILE = Path(__file__).with_name("config.toml")
Strategy = Literal["direct", "meta-prompting", "meta-reasoning"]

_TEMPLATES = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


def render(template: str, **values: Any) -> str:
    """Render a prompt template; an unknown variable raises instead of vanishing."""
    return _TEMPLATES.from_string(template).render(**values).strip()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Strict):
    """How far one run may go."""

    max_steps: int = Field(gt=0)
    """Model turns of the main coding loop."""
    expert_max_steps: int = Field(gt=0)
    """Model turns of a tool-using expert's coding loop."""
    max_rounds: int = Field(gt=0)
    """Conductor turns in meta-prompting."""
    max_reminders: int = Field(ge=0)
    """Malformed replies in a row (empty, no or unusable tool call, unreadable conductor or
    ranker syntax) answered with a reminder; one more ends that conversation."""
    cost_limit: float = Field(ge=0)
    """Dollars for the whole run; 0 means no limit."""
    token_limit: int = Field(ge=0)
    """Total tokens for the whole run; 0 means no limit."""
    command_timeout: float = Field(gt=0)
    """Seconds one bash command may run."""
    max_output_chars: int = Field(ge=200)
    """Characters of tool output kept (head and tail)."""
    max_tokens: int = Field(gt=0)
    """Completion tokens per model call."""
    temperature: float = Field(ge=0)
    """Sampling temperature of every model call."""
    model_timeout: float = Field(gt=0)
    """Seconds one model request may wait for its answer."""
    model_retries: int = Field(ge=0)
    """Retries of a model request that timed out or failed on the server (5xx, 429)."""


class Pricing(_Strict):
    """Dollars per million tokens, for servers that report no cost."""

    input: float = Field(0.0, ge=0)
    output: float = Field(0.0, ge=0)


class ToolDocs(_Strict):
    """The description the model sees for each tool."""

    bash: str
    view: str
    str_replace: str
    create: str
    submit: str


class Prompts(_Strict):
    """Prompt templates (Jinja). Each one's variables are listed in config.toml's uses."""

    coder_system: str
    coder_task: str
    no_tool_call: str
    conductor_system: str
    conductor_task: str
    conductor_reminder: str
    last_round_warning: str
    expert_reply: str
    expert_system: str
    ranker_system: str
    ranker_task: str
    ranker_reminder: str

    @model_validator(mode="after")
    def _syntax_placeholders(self) -> Prompts:
        # The reply syntax comes from the parsers; a prompt without it would break parsing.
        for field, placeholder in [("conductor_system", "call_syntax"),
                                   ("conductor_reminder", "call_syntax"),
                                   ("ranker_system", "ranking_syntax"),
                                   ("ranker_reminder", "ranking_syntax")]:
            if "{{ " + placeholder + " }}" not in getattr(self, field):
                raise ValueError(f"prompts.{field} must contain {{{{ {placeholder} }}}}")
        return self


class Expert(_Strict):
    """One expert of the meta-prompting roster."""

    name: str
    description: str
    """What the conductor reads about this expert."""
    system: str
    """The expert's own instructions (its system prompt, or added to the coder's)."""
    uses_tools: bool = False
    """True: the expert works in the repository with the coding tools."""


class Approach(_Strict):
    """One approach meta-reasoning can choose."""

    name: str
    description: str
    """The objective description the ranker judges from."""
    runner: Literal["loop", "meta-prompting"]
    """What runs it: the coding loop or the meta-prompting conductor."""
    instructions: str = ""
    """Added to the coder's system prompt when runner is loop."""


class Settings(_Strict):
    """Everything config.toml holds."""

    strategy: Strategy
    model: str = "default"
    limits: Limits
    pricing: Pricing = Pricing()
    tools: ToolDocs
    prompts: Prompts
    experts: list[Expert] = Field(min_length=1)
    approaches: list[Approach] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for kind, items in [("experts", self.experts), ("approaches", self.approaches)]:
            names = [item.name.lower() for item in items]
            if len(names) != len(set(names)):
                raise ValueError(f"{kind} must have unique names, got {names}")
        return self

    def find_expert(self, name: str) -> Expert | None:
        """The roster entry called `name` (case-insensitive), if any."""
        return next((e for e in self.experts if e.name.lower() == name.strip().lower()), None)

    def find_approach(self, name: str) -> Approach:
        """The approach called `name`; raises with the valid names otherwise."""
        for approach in self.approaches:
            if approach.name == name:
                return approach
        raise KeyError(f"no approach {name!r}; known: {[a.name for a in self.approaches]}")


def merge(base: dict, override: dict) -> dict:
    """Deep-merge two TOML tables; lists and scalars of `override` replace those of `base`."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(override_file: Path | None = None, overrides: dict | None = None) -> Settings:
    """Read config.toml, then apply an override file and an override dict on top."""
    data = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    if override_file is not None:
        data = merge(data, tomllib.loads(Path(override_file).read_text(encoding="utf-8")))
    return Settings.model_validate(merge(data, overrides or {}))
