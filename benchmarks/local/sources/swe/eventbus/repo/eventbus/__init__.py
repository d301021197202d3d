"""eventbus: in-process publish/subscribe."""

from eventbus.bus import EventBus, PublishError, Subscription
from eventbus.topics import topic_matches

__all__ = ["EventBus", "PublishError", "Subscription", "topic_matches"]
