"""Errors of the archive store: each says what to do next."""

from agentforge.errors import AgentforgeError


class StoreError(AgentforgeError):
    """The run database or the agent repository cannot be used as asked."""


class SchemaTooNew(StoreError):
    """The database was written by a newer agentforge than this one."""


class PatchDoesNotApply(StoreError):
    """A child's patch does not apply to its parent's code."""


class MergeConflict(StoreError):
    """Two agents' changes since their common ancestor touch the same lines."""

    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files
