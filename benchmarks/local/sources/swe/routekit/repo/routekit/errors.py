"""Routing errors; a web framework turns them into 404 and 405 responses."""

from __future__ import annotations


class RoutingError(Exception):
    """Base class of routekit's errors."""


class NotFound(RoutingError):
    """No route matches the path (HTTP 404)."""

    status = 404


class MethodNotAllowed(RoutingError):
    """Routes match the path, but none for this method (HTTP 405)."""

    status = 405

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        self.allowed = allowed
        super().__init__(f"{method} not allowed for {path}; allowed: {', '.join(allowed)}")
