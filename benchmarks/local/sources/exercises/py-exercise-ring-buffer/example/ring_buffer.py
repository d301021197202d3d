from collections.abc import Iterator
from typing import Any


class RingBuffer:
    def __init__(self, capacity: int) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
            raise ValueError("capacity must be a positive integer")
        self.capacity = capacity
        self._slots: list[Any] = [None] * capacity
        self._head = 0
        self._size = 0

    def push(self, item: Any) -> Any:
        dropped = None
        if self._size == self.capacity:
            dropped = self.pop()
        self._slots[(self._head + self._size) % self.capacity] = item
        self._size += 1
        return dropped

    def pop(self) -> Any:
        item = self.peek()
        self._slots[self._head] = None
        self._head = (self._head + 1) % self.capacity
        self._size -= 1
        return item

    def peek(self) -> Any:
        if not self._size:
            raise IndexError("ring buffer is empty")
        return self._slots[self._head]

    def is_full(self) -> bool:
        return self._size == self.capacity

    def clear(self) -> None:
        self._slots = [None] * self.capacity
        self._head = self._size = 0

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        for offset in range(self._size):
            yield self._slots[(self._head + offset) % self.capacity]
