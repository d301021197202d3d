"""A parent's failed evaluations as evidence for the model: failure cases with excerpts."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TypeVar

from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.operators.diagnose import FailureCase
from agentforge.trajectory_copy import NOTE_KEY

T = TypeVar("T")


def failure_cases(ctx: RunContext, node_id: int, seed: int | None = None
                  ) -> list[FailureCase]:
    """`improve.failures_shown` of the node's failed validation evaluations, with their
    evidence: drawn by `seed` (a step's `evidence_seed`), else the most recent."""
    chars = ctx.config.improve.excerpt_chars
    failed = [e for e in ctx.store.list_evaluations(ctx.run_id, finished=True, node_id=node_id,
                                                    split=ctx.config.benchmark.validation_split)
              if not e.resolved]
    cases = []
    for evaluation in shown_failures(failed, ctx.config.improve.failures_shown, seed):
        result = ctx.store.task_result(evaluation.id)
        cases.append(FailureCase(
            task_id=evaluation.task_id, reason=evaluation.reason or "unresolved",
            problem=ctx.task(evaluation.task_id).problem_statement[:chars],
            patch=(result.patch if result else "")[:chars],
            test_output=(result.test_output if result else "")[-chars:],
            trajectory=trajectory_excerpt(result.trajectory_path if result else None, chars)))
    return cases


def shown_failures(failed: list[T], shown: int, seed: int | None) -> list[T]:
    """`shown` of `failed` in their order: a sample drawn by `seed`, else the last ones."""
    if shown <= 0:
        return []
    if seed is None or len(failed) <= shown:
        return failed[-shown:]
    picked = sorted(random.Random(seed).sample(range(len(failed)), shown))
    return [failed[i] for i in picked]


def trajectory_excerpt(path: str | None, chars: int) -> str:
    """The tail of a trajectory's messages, as compact text."""
    if not path:
        return ""
    files = sorted(Path(path).rglob("trajectory.json"))
    if not files:
        return ""
    try:
        data = json.loads(files[-1].read_text())
    except (OSError, ValueError):
        return ""
    lines = [f"stop_reason: {data.get('stop_reason')}"]
    if isinstance(cut := data.get(NOTE_KEY), dict):  # the run kept only part of it
        lines.append(f"(trajectory cut at {cut.get('cap_bytes')} bytes: "
                     f"{cut.get('dropped_files')} file(s) left out)")
    for thread in (data.get("messages") or {}).values():
        for message in thread if isinstance(thread, list) else []:
            text = message.get("content") or ""
            calls = " ".join(f"{c.get('function', {}).get('name')}"
                             f"({c.get('function', {}).get('arguments', '')[:300]})"
                             for c in message.get("tool_calls") or [])
            lines.append(f"[{message.get('role')}] {str(text)[:600]} {calls}".rstrip())
    return "\n".join(lines)[-chars:]
