"""The exception tree: every error a user can meet says what went wrong and what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class AgentforgeError(Exception):
    """Base class: the message is meant for a person and ends with what to do next."""


class ConfigError(AgentforgeError):
    """A configuration value is missing or invalid."""


class EngineUnavailable(AgentforgeError):
    """The Docker engine cannot be reached."""


class ImageMissing(AgentforgeError):
    """A sandbox image has not been built (or pulled) yet."""


class SandboxError(AgentforgeError):
    """A sandbox could not be created, fed or read."""


def describe_validation_error(exc: ValidationError, *, whole: str = "(top level)",
                              with_input: bool = False) -> str:
    """A pydantic error as one line, each problem as `field.path: message` (and, optionally,
    what was given), so every config and reply error names the field at fault."""
    return "; ".join(describe_error_entry(error, whole=whole, with_input=with_input)
                     for error in exc.errors())


def describe_error_entry(error: dict, *, whole: str = "(top level)",
                         with_input: bool = False) -> str:
    """One entry of `ValidationError.errors()` as `field.path: message (got ...)`."""
    line = f"{'.'.join(str(p) for p in error['loc']) or whole}: {error['msg']}"
    if with_input and error["type"] != "missing" and not isinstance(error.get("input"), dict):
        line += f" (got {error['input']!r})"
    return line
