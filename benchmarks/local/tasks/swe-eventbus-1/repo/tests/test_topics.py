import pytest
from eventbus import topic_matches
from eventbus.topics import validate


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("orders.created", "orders.created", True),
        ("orders.created", "orders.deleted", False),
        ("orders.*", "orders.created", True),
        ("orders.*", "orders.created.eu", False),
        ("*.created", "users.created", True),
        ("orders.#", "orders.created.eu", True),
        ("#", "anything.at.all", True),
        ("orders.#.eu", "orders.created.eu", True),
        ("orders.#.eu", "orders.created.us", False),
    ],
)
def test_topic_matches(pattern, topic, expected):
    assert topic_matches(pattern, topic) is expected


@pytest.mark.parametrize("pattern", ["", "a..b", "ord*", "a.#b"])
def test_validate_rejects(pattern):
    with pytest.raises(ValueError):
        validate(pattern)
