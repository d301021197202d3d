import pytest
from lru_cache import ExpiringLRU


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


def test_bad_arguments(clock):
    with pytest.raises(ValueError):
        ExpiringLRU(0, 10, clock)
    with pytest.raises(ValueError):
        ExpiringLRU(2, 0, clock)


def test_put_get(clock):
    cache = ExpiringLRU(2, 10, clock)
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert cache.get("missing") is None
    assert cache.get("missing", "dflt") == "dflt"


def test_evicts_least_recently_used(clock):
    cache = ExpiringLRU(2, 10, clock)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert cache.get("b") is None
    assert cache.keys() == ["a", "c"]


def test_replace_refreshes_order_and_age(clock):
    cache = ExpiringLRU(2, 10, clock)
    cache.put("a", 1)
    cache.put("b", 2)
    clock.now += 8
    cache.put("a", 11)
    clock.now += 5
    assert cache.get("a") == 11
    assert cache.get("b") is None


def test_expiry_boundary(clock):
    cache = ExpiringLRU(3, 10, clock)
    cache.put("a", 1)
    clock.now += 9.999
    assert cache.get("a") == 1
    clock.now += 0.001
    assert cache.get("a") is None


def test_len_and_keys_skip_expired(clock):
    cache = ExpiringLRU(3, 10, clock)
    cache.put("old", 1)
    clock.now += 6
    cache.put("new", 2)
    assert len(cache) == 2
    clock.now += 5
    assert len(cache) == 1
    assert cache.keys() == ["new"]


def test_keys_does_not_touch_order(clock):
    cache = ExpiringLRU(2, 10, clock)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.keys()
    len(cache)
    cache.put("c", 3)
    assert cache.keys() == ["b", "c"]


def test_falsy_values(clock):
    cache = ExpiringLRU(2, 10, clock)
    cache.put("zero", 0)
    cache.put("none", None)
    assert cache.get("zero", "dflt") == 0
    assert cache.get("none", "dflt") is None
