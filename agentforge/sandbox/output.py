"""CappedOutput: keeps the head and tail of a stream of bytes within a fixed size."""

from __future__ import annotations

from collections import deque


class CappedOutput:
    """Accumulates bytes, keeping at most `limit` of them: the first half and the last half."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        if len(data) >= self.tail_limit:
            self.tail.clear()
            self.tail.append(bytes(data[-self.tail_limit :]))
            self.tail_size = self.tail_limit
            return
        self.tail.append(bytes(data))
        self.tail_size += len(data)
        while self.tail_size - len(self.tail[0]) >= self.tail_limit:
            self.tail_size -= len(self.tail.popleft())

    @property
    def omitted(self) -> int:
        """Bytes received but not kept."""
        return self.total - len(self.head) - min(self.tail_size, self.tail_limit)

    def text(self) -> str:
        tail = b"".join(self.tail)
        if self.tail_size > self.tail_limit:
            tail = tail[-self.tail_limit :]
        if self.omitted == 0:
            return (bytes(self.head) + tail).decode("utf-8", errors="replace")
        marker = f"\n[... {self.omitted} bytes of output omitted ...]\n"
        return (
            bytes(self.head).decode("utf-8", errors="replace")
            + marker
            + tail.decode("utf-8", errors="replace")
        )
