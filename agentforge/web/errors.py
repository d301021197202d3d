"""Errors of the web view that become HTTP answers (never a traceback)."""

from __future__ import annotations


class NotFound(LookupError):
    """The run, node or file asked for does not exist (or may not be shown): HTTP 404."""
