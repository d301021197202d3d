"""unique_slug(): avoid collisions with slugs that already exist."""

from __future__ import annotations

from collections.abc import Collection


def unique_slug(base: str, existing: Collection[str], separator: str = "-") -> str:
    """`base` if it is free, else `base-2`, `base-3`, ... (the first free one)."""
    if base not in existing:
        return base
    counter = 2
    while f"{base}{separator}{counter}" in existing:
        counter += 1
    return f"{base}{separator}{counter}"
