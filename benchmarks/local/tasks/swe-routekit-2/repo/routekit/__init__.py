"""routekit: match request paths to handlers."""

from routekit.errors import MethodNotAllowed, NotFound, RoutingError
from routekit.router import Route, Router

__all__ = ["MethodNotAllowed", "NotFound", "Route", "Router", "RoutingError"]
