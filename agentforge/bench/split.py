"""Validation / held-out splits: stable for a given id set, independent of the order of tasks."""

from __future__ import annotations

import hashlib

HELD_OUT_FRACTION = 1 / 3


def hash_split(
    ids: list[str], held_out_fraction: float = HELD_OUT_FRACTION
) -> dict[str, list[str]]:
    """Split ids by a hash of each id, so adding a task never moves the others."""
    held_out, validation = [], []
    for instance_id in ids:
        bucket = int(hashlib.sha256(instance_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (held_out if bucket < held_out_fraction else validation).append(instance_id)
    return {"validation": validation, "held_out": held_out}
