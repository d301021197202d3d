"""Trajectory: the run's record, rewritten atomically after every event.

The file is always written, shortened rather than dropped: a string longer than
MAX_STRING_CHARS (a 4 MB tool argument, a model's runaway reply) keeps its head and tail,
and if the whole file would still pass MAX_FILE_BYTES its strings are cut shorter, step by
step (to about a hundred characters at the least). What the run holds in memory (and sends
to the model) is not shortened.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from coding_agent.text import truncate

FORMAT_VERSION = 1
MAX_STRING_CHARS = 20_000
"""Characters of one string kept in the file (head and tail)."""
MAX_FILE_BYTES = 8 * 1024 * 1024
"""The file's size bound (the framework keeps at most 16 MiB of an agent's output)."""


class Trajectory:
    """trajectory.json in the output folder: always valid JSON, even if the run is killed."""

    def __init__(self, out_dir: Path, **header: Any) -> None:
        self.path = Path(out_dir) / "trajectory.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.data: dict[str, Any] = {
            "format": FORMAT_VERSION,
            **header,
            "started_at": time.time(),
            "finished_at": None,
            "exit_status": "running",
            "stop_reason": None,
            "summary": None,
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "calls": 0},
            "cost": 0.0,
            "messages": {},  # thread name -> OpenAI-format messages of that conversation
            "model_calls": [],
            "tool_calls": [],
            "decisions": [],  # approach ranking and choice, expert consultations
            "error": None,
        }
        self.save()

    def save(self) -> None:
        """Write to a temporary file and rename it over the old one (atomic on POSIX)."""
        limit = MAX_STRING_CHARS
        text = _encode(self.data, limit)
        while len(text) > MAX_FILE_BYTES and limit > 200:  # ASCII JSON: characters are bytes
            limit //= 4
            text = _encode(self.data, limit)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)

    def set_messages(self, thread: str, messages: list[dict]) -> None:
        """Record the current messages of one conversation."""
        self.data["messages"][thread] = list(messages)
        self.save()

    def add_model_call(self, thread: str, usage: dict, cost: float, **details: Any) -> None:
        """Record one model call and add its usage to the totals."""
        totals = self.data["usage"]
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            totals[key] += int(usage.get(key) or 0)
        totals["calls"] += 1
        self.data["cost"] += cost
        self.data["model_calls"].append({"thread": thread, "usage": usage, "cost": cost, **details})
        self.save()

    def add_tool_call(self, thread: str, name: str, arguments: str, **details: Any) -> None:
        """Record one tool call and what came of it."""
        self.data["tool_calls"].append(
            {"thread": thread, "name": name, "arguments": arguments, **details}
        )
        self.save()

    def add_decision(self, kind: str, **details: Any) -> None:
        """Record a decision: an approach ranking, a choice, an expert consultation."""
        self.data["decisions"].append({"kind": kind, "time": time.time(), **details})
        self.save()

    def finish(self, exit_status: str, stop_reason: str, summary: str | None = None,
               error: str | None = None) -> None:
        """Record how the run ended."""
        self.data.update(exit_status=exit_status, stop_reason=stop_reason, summary=summary,
                         error=error, finished_at=time.time())
        self.save()


def _encode(data: Any, limit: int) -> str:
    """The JSON text of `data` with every string longer than `limit` truncated."""
    return json.dumps(_shortened(data, limit), indent=1, default=str)


def _shortened(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return truncate(value, limit)
    if isinstance(value, dict):
        return {key: _shortened(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shortened(item, limit) for item in value]
    return value
