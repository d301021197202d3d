"""unique_slug(): avoid collisions with slugs that already exist."""

from __future__ import annotations

import re
from collections.abc import Collection


def unique_slug(base: str, existing: Collection[str], separator: str = "-") -> str:
    """`base` if it is free, else `base-2`, `base-3`, ... (the first free one)."""
    if base not in existing:
        return base
    # Continue an existing numeric suffix (post-2 -> post-3) instead of stacking them.
    match = re.match(rf"^(.*){re.escape(separator)}(\d+)$", base)
    stem, counter = (match.group(1), int(match.group(2)) + 1) if match else (base, 2)
    while f"{stem}{separator}{counter}" in existing:
        counter += 1
    return f"{stem}{separator}{counter}"
