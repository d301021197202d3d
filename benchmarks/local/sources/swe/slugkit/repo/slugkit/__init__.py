"""slugkit: slugs and text truncation."""

from slugkit.slugify import slugify
from slugkit.truncate import truncate
from slugkit.unique import unique_slug

__all__ = ["slugify", "truncate", "unique_slug"]
