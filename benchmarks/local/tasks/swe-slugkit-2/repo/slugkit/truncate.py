"""truncate(): shorten text for previews without cutting words in half."""

from __future__ import annotations


def truncate(text: str, width: int, ellipsis: str = "…") -> str:
    """At most `width` characters, ellipsis included; cut at the last space if possible."""
    if width < len(ellipsis):
        raise ValueError(f"width {width} is smaller than the ellipsis {ellipsis!r}")
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    room = width - len(ellipsis)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space > 0 else text[:room]
    return head.rstrip(" ,;:.-") + ellipsis
