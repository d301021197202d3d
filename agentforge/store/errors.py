"""Errors of the archive store: each says what to do next."""

from agentforge.errors import AgentforgeError


class StoreError(AgentforgeError):
    """The run database or the agent repository cannot be used as asked."""


class SchemaTooNew(StoreError):
    """The database was written by a newer agentforge than this one."""


class PatchDoesNotApply(StoreError):
    """A child's patch does not apply to its parent's code."""
