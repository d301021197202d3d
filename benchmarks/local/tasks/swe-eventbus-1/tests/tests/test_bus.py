import pytest
from eventbus import EventBus, PublishError


def recorder(calls, name, result=None):
    def handler(topic, payload):
        calls.append((name, topic, payload))
        return result if result is not None else name

    handler.__name__ = name
    return handler


def test_publish_calls_matching_handlers():
    bus, calls = EventBus(), []
    bus.subscribe("orders.created", recorder(calls, "receipt"))
    bus.subscribe("users.created", recorder(calls, "welcome"))
    assert bus.publish("orders.created", {"id": 1}) == ["receipt"]
    assert calls == [("receipt", "orders.created", {"id": 1})]


def test_priority_then_subscription_order():
    bus, calls = EventBus(), []
    bus.subscribe("a", recorder(calls, "low"), priority=-1)
    bus.subscribe("a", recorder(calls, "first"))
    bus.subscribe("a", recorder(calls, "high"), priority=5)
    bus.subscribe("a", recorder(calls, "second"))
    assert bus.publish("a") == ["high", "first", "second", "low"]


def test_once_runs_once():
    bus, calls = EventBus(), []
    bus.subscribe("a", recorder(calls, "one"), once=True)
    bus.publish("a")
    bus.publish("a")
    assert [name for name, _, _ in calls] == ["one"]


def test_unsubscribe():
    bus, calls = EventBus(), []
    subscription = bus.subscribe("a", recorder(calls, "x"))
    bus.unsubscribe(subscription)
    assert bus.publish("a") == []


def test_errors_are_collected():
    bus, calls = EventBus(), []

    def broken(topic, payload):
        raise RuntimeError("boom")

    bus.subscribe("a", broken, priority=1)
    bus.subscribe("a", recorder(calls, "after"))
    with pytest.raises(PublishError) as error:
        bus.publish("a")
    assert [name for name, _, _ in calls] == ["after"]
    assert isinstance(error.value.errors[0][1], RuntimeError)
    assert "broken" in str(error.value)


def test_publish_to_pattern_rejected():
    with pytest.raises(ValueError):
        EventBus().publish("orders.*")


def test_subtree_subscription_includes_root():
    bus, calls = EventBus(), []
    bus.subscribe("orders.#", recorder(calls, "metrics"))
    bus.publish("orders")
    bus.publish("orders.created")
    assert [topic for _, topic, _ in calls] == ["orders", "orders.created"]
