"""Topic patterns: dot-separated levels, `*` for one level, `#` for zero or more."""

from __future__ import annotations

from functools import lru_cache


def validate(pattern: str) -> None:
    """Reject empty levels and wildcards mixed with text (`ord*`)."""
    for level in pattern.split("."):
        if not level:
            raise ValueError(f"empty level in topic pattern {pattern!r}")
        if level not in ("*", "#") and ("*" in level or "#" in level):
            raise ValueError(f"wildcards must fill a whole level in {pattern!r}")


@lru_cache(maxsize=1024)
def topic_matches(pattern: str, topic: str) -> bool:
    """Whether a concrete topic such as 'orders.created' matches the pattern."""
    return _match(tuple(pattern.split(".")), tuple(topic.split(".")))


def _match(pattern: tuple[str, ...], topic: tuple[str, ...]) -> bool:
    if not pattern:
        return not topic
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        # Swallow one level, then either stop or keep swallowing.
        return bool(topic) and (_match(rest, topic[1:]) or _match(pattern, topic[1:]))
    if not topic:
        return False
    return (head == "*" or head == topic[0]) and _match(rest, topic[1:])
