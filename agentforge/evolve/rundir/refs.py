"""The text of an agent reference: `RUN_DIR@NODE` (a node id or `best`) or a plain folder.

Parsing only, nothing opened: the run configuration reads a seed's reference with it, and
agent_ref.py resolves one to a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agentforge.errors import AgentforgeError

_NODE = re.compile(r"^(best|\d+)$")


class AgentRefError(AgentforgeError):
    """An agent reference names no agent (bad run directory, unknown node, no code)."""


@dataclass(frozen=True)
class AgentRef:
    """A parsed reference: a run directory and a node, or a plain folder (node None)."""

    path: Path
    node: str | None = None
    """A node id as text, `best`, or None for a plain directory."""

    def __str__(self) -> str:
        return f"{self.path}@{self.node}" if self.node else str(self.path)


def parse_agent_ref(text: str | Path) -> AgentRef:
    """Split `RUN_DIR@NODE` (NODE: an id or `best`); anything else is a plain directory."""
    raw = str(text)
    # A folder whose own name contains '@' is still a folder.
    if "@" not in raw or Path(raw).is_dir():
        return AgentRef(Path(raw))
    head, _, node = raw.rpartition("@")
    if not _NODE.match(node):
        raise AgentRefError(f"{raw!r}: after '@' give a node id (a number) or 'best', "
                            f"e.g. {head}@best")
    return AgentRef(Path(head), node)
