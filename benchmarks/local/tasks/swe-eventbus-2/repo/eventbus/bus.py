"""EventBus: subscriptions ordered by priority, errors collected per publish."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventbus.topics import topic_matches, validate

Handler = Callable[[str, Any], Any]


class PublishError(Exception):
    """One or more handlers raised; `errors` holds (subscription, exception) pairs."""

    def __init__(self, errors: list[tuple[Subscription, BaseException]]) -> None:
        self.errors = errors
        names = ", ".join(getattr(s.handler, "__name__", repr(s.handler)) for s, _ in errors)
        super().__init__(f"{len(errors)} handler(s) failed: {names}")


@dataclass
class Subscription:
    pattern: str
    handler: Handler
    priority: int = 0
    once: bool = False
    order: int = field(default=0, compare=False)
    active: bool = True


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._counter = itertools.count()

    def subscribe(
        self, pattern: str, handler: Handler, priority: int = 0, once: bool = False
    ) -> Subscription:
        """Register `handler(topic, payload)` for topics matching `pattern`."""
        validate(pattern)
        subscription = Subscription(pattern, handler, priority, once, next(self._counter))
        self._subscriptions.append(subscription)
        self._subscriptions.sort(key=lambda s: (-s.priority, s.order))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.active = False
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def subscribers(self, topic: str) -> list[Subscription]:
        """Active subscriptions for the topic, in the order they will run."""
        return [s for s in self._subscriptions if s.active and topic_matches(s.pattern, topic)]

    def publish(self, topic: str, payload: Any = None) -> list[Any]:
        """Call every matching handler; return their results in call order."""
        if "*" in topic or "#" in topic:
            raise ValueError(f"publish to a concrete topic, not a pattern: {topic!r}")
        results, errors = [], []
        for subscription in list(self.subscribers(topic)):
            if subscription.once:
                self.unsubscribe(subscription)
            try:
                results.append(subscription.handler(topic, payload))
            except Exception as exc:  # a failing handler must not starve the others
                errors.append((subscription, exc))
        if errors:
            raise PublishError(errors)
        return results
