"""slugify(): turn a title into a lowercase ASCII URL slug."""

from __future__ import annotations

import re
import unicodedata

from slugkit.translit import transliterate

_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")


def to_ascii(text: str) -> str:
    """Transliterate, decompose accents (é -> e) and drop what is left outside ASCII."""
    decomposed = unicodedata.normalize("NFKD", transliterate(text))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def slugify(text: str, separator: str = "-", max_length: int | None = None) -> str:
    """Lowercase ASCII words joined by `separator`, cut at a word boundary if too long."""
    words = _NOT_ALLOWED.split(to_ascii(text).lower())
    slug = separator.join(word for word in words if word)
    if max_length is not None and len(slug) > max_length:
        cut = slug[:max_length]
        boundary = cut.rfind(separator)
        slug = cut[:boundary] if boundary > 0 else slug[:max_length]
    return slug.strip(separator)
