import pytest
from ring_buffer import RingBuffer


@pytest.mark.parametrize("capacity", [0, -3, 2.5, "4"])
def test_bad_capacity(capacity):
    with pytest.raises(ValueError):
        RingBuffer(capacity)


def test_push_and_iterate():
    buffer = RingBuffer(3)
    assert buffer.push(1) is None
    buffer.push(2)
    assert list(buffer) == [1, 2]
    assert len(buffer) == 2
    assert not buffer.is_full()


def test_overwrite_returns_oldest():
    buffer = RingBuffer(2)
    buffer.push("a")
    buffer.push("b")
    assert buffer.is_full()
    assert buffer.push("c") == "a"
    assert list(buffer) == ["b", "c"]


def test_pop_and_peek_order():
    buffer = RingBuffer(3)
    for item in range(5):
        buffer.push(item)
    assert buffer.peek() == 2
    assert buffer.pop() == 2
    assert buffer.pop() == 3
    buffer.push(9)
    assert list(buffer) == [4, 9]


def test_empty_errors():
    buffer = RingBuffer(1)
    with pytest.raises(IndexError):
        buffer.pop()
    with pytest.raises(IndexError):
        buffer.peek()


def test_none_is_a_valid_item():
    buffer = RingBuffer(2)
    buffer.push(None)
    assert len(buffer) == 1
    assert buffer.pop() is None
    assert len(buffer) == 0


def test_clear():
    buffer = RingBuffer(2)
    buffer.push(1)
    buffer.push(2)
    buffer.clear()
    assert len(buffer) == 0
    assert list(buffer) == []
    buffer.push(3)
    assert list(buffer) == [3]


def test_long_wraparound():
    buffer = RingBuffer(4)
    for item in range(1000):
        buffer.push(item)
    assert list(buffer) == [996, 997, 998, 999]
