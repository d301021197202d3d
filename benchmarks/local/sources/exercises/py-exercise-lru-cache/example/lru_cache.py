import time
from collections import OrderedDict
from typing import Any


class ExpiringLRU:
    def __init__(self, capacity: int, ttl: float, clock=time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.capacity, self.ttl, self._clock = capacity, ttl, clock
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def _fresh(self, stored_at: float) -> bool:
        return self._clock() < stored_at + self.ttl

    def put(self, key: Any, value: Any) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (self._clock(), value)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def get(self, key: Any, default: Any = None) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return default
        if not self._fresh(entry[0]):
            del self._entries[key]
            return default
        self._entries.move_to_end(key)
        return entry[1]

    def keys(self) -> list[Any]:
        return [key for key, (stored_at, _) in self._entries.items() if self._fresh(stored_at)]

    def __len__(self) -> int:
        return len(self.keys())
