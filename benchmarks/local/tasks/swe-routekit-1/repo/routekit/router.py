"""Router: routes in registration order; 404 when no path matches, 405 for a wrong method."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from routekit.errors import NotFound
from routekit.pattern import Pattern, compile_pattern

Handler = Callable[..., Any]


@dataclass
class Route:
    method: str
    pattern: Pattern
    handler: Handler
    name: str | None = None


class Router:
    """Routes are tried in the order they were added; the first match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._names: dict[str, Route] = {}

    def add(self, method: str, template: str, handler: Handler, name: str | None = None) -> Route:
        route = Route(method.upper(), compile_pattern(template), handler, name)
        if name is not None:
            if name in self._names:
                raise ValueError(f"route name {name!r} is already used")
            self._names[name] = route
        self.routes.append(route)
        return route

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, Any]]:
        """The handler and parameters for a request; NotFound or MethodNotAllowed otherwise."""
        method = method.upper()
        for route in self.routes:
            params = route.pattern.match(path)
            if params is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET"):
                return route.handler, params
        raise NotFound(path)

    def url_for(self, name: str, /, **params: Any) -> str:
        """Build the path of the named route."""
        try:
            route = self._names[name]
        except KeyError:
            raise KeyError(f"no route named {name!r}") from None
        return route.pattern.build(params)
