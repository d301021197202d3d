"""The gateway's listeners, held against a hostile sandbox.

Each grant gets a unix socket of its own (the only one its sandbox can see), so connections
are counted per sandbox from the moment they are accepted: one sandbox opening thousands of
slow connections exhausts its own allowance, not another's. The memory that requests in flight
take (their bodies, parsed and copied; see http.body_weight) is counted the same way,
per sandbox and in total, before a body is read: a flood of huge bodies is refused, and the
gateway's memory stays flat. Every connection must send its request within a deadline, and the
open-file limit is raised at start so that the limits below, not the kernel, are what refuses.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from agentforge.sandbox.socket_mount import UnixHTTPServer

MAX_CONNECTIONS = 1024
"""Connections open at once over all listeners; more are refused with a 503."""
MAX_CONNECTIONS_PER_GRANT = 64
"""Connections open at once on one grant's socket (one sandbox)."""
IDLE_TIMEOUT = 120.0
"""Seconds a connection may wait for its next request (and any single read or write)."""
REQUEST_TIMEOUT = 30.0
"""Seconds from a request's first line to the end of its body."""
MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest request body accepted (413 beyond): ~8M tokens of text, room for images."""
GRANT_BYTES_IN_FLIGHT = 4 * MAX_BODY_BYTES
"""Memory the requests of one sandbox may take at once: room for one largest body of text
(http.body_weight)."""
MAX_BYTES_IN_FLIGHT = 6 * MAX_BODY_BYTES
"""Memory the requests of all sandboxes together may take at once; one sandbox alone cannot
hold it all."""
_WANTED_OPEN_FILES = 65536
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_SHARED = "shared"


@dataclass(frozen=True)
class ServerLimits:
    """How much one sandbox, and all of them together, may hold of the gateway."""

    max_connections: int = MAX_CONNECTIONS
    per_grant: int = MAX_CONNECTIONS_PER_GRANT
    idle_timeout: float = IDLE_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    max_body_bytes: int = MAX_BODY_BYTES
    grant_bytes_in_flight: int = GRANT_BYTES_IN_FLIGHT
    max_bytes_in_flight: int = MAX_BYTES_IN_FLIGHT


def raise_open_file_limit(wanted: int = _WANTED_OPEN_FILES) -> int:
    """Raise this process's soft open-file limit towards `wanted` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def return_large_buffers() -> None:
    """Have malloc give buffers over 1 MiB their own mappings, handed back to the system when
    freed. glibc's default raises that threshold (up to 32 MiB) each time a big buffer is freed,
    and then keeps later bodies in per-thread arenas it never shrinks: after a flood of 31 MB
    bodies the gateway stayed at 7x its idle memory. No-op where there is no `mallopt`."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 1 << 20)


class Allowance:
    """Counts what each listener key holds (connections, or bytes of requests in flight) and
    what all hold together; refuses above the bounds. A grant's key is bounded on its own,
    the shared (host-side TCP) key only by the total."""

    def __init__(self, total: int, per_grant: int, what: str) -> None:
        self.total = total
        self.per_grant = per_grant
        self.what = what
        self._held: dict[str, int] = {}
        self._all = 0
        self._changed = threading.Condition()

    def acquire(self, key: str, amount: int = 1, wait: float = 0.0) -> str | None:
        """Count `amount` more for `key` (waiting up to `wait` seconds for room), or return why
        it is refused."""
        deadline = time.monotonic() + wait
        with self._changed:
            while (refused := self._refusal(key, amount)) is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return refused
                self._changed.wait(left)
            self._held[key] = self._held.get(key, 0) + amount
            self._all += amount
        return None

    def _refusal(self, key: str, amount: int) -> str | None:
        mine = self._held.get(key, 0)
        if key != _SHARED and mine + amount > self.per_grant:
            return (f"this sandbox already has {mine:,} {self.what} (at most "
                    f"{self.per_grant:,}); make fewer model calls at once")
        if self._all + amount > self.total:
            return (f"the gateway has {self._all:,} {self.what} (at most {self.total:,}); "
                    "retry shortly")
        return None

    def release(self, key: str, amount: int = 1) -> None:
        """Give back what `acquire` counted."""
        with self._changed:
            self._held[key] = self._held.get(key, amount) - amount
            self._all -= amount
            self._changed.notify_all()

    def held(self, key: str | None = None) -> int:
        """What is held now (by one key, or in total)."""
        with self._changed:
            return self._all if key is None else self._held.get(key, 0)


class Deadlines:
    """Shuts down connections that do not deliver their request in time (one watcher)."""

    def __init__(self) -> None:
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="gateway-deadlines")

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()

    def watch(self, connection: socket.socket, seconds: float) -> None:
        """Shut `connection` down unless cleared within `seconds`."""
        with self._lock:
            self._due[connection] = time.monotonic() + seconds

    def clear(self, connection: socket.socket) -> None:
        """The request arrived whole: stop watching it."""
        with self._lock:
            self._due.pop(connection, None)

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [conn for conn, due in self._due.items() if due <= now]
                for conn in late:
                    del self._due[conn]
            for conn in late:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)  # the handler's read returns; it closes


def _refuse(request: socket.socket, reason: str) -> None:
    """Answer a connection we will not serve with a 503 and close it, without blocking."""
    body = ('{"error": {"message": "agentforge gateway: ' + reason.replace('"', "'")
            + '", "type": "too_many_connections", "code": "too_many_connections"}}').encode()
    head = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    with contextlib.suppress(OSError):
        request.setblocking(False)
        request.send(head + body)
    with contextlib.suppress(OSError):
        request.close()


class _Bounded:
    """Mixin: count each connection against its listener's key before a thread is spent."""

    connections: Allowance  # shared by all listeners of one gateway
    grant_token: str | None = None  # set on a grant's own listener

    @property
    def limit_key(self) -> str:
        return self.grant_token or _SHARED

    def process_request(self, request, client_address) -> None:
        refused = self.connections.acquire(self.limit_key)
        if refused is not None:
            _refuse(request, refused)
            return
        try:
            super().process_request(request, client_address)  # type: ignore[misc]
        except Exception:
            self.connections.release(self.limit_key)
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)  # type: ignore[misc]
        finally:
            self.connections.release(self.limit_key)

    def handle_error(self, request, client_address) -> None:
        # A caller hanging up (timeout, killed sandbox, deadline) is normal: no traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[misc]


class GatewayUnixServer(_Bounded, UnixHTTPServer):
    """The sandbox's unix-socket HTTP server (sandbox/socket_mount.py), with the bounds."""


class GatewayTCPServer(_Bounded, ThreadingHTTPServer):
    """A threaded HTTP server on loopback TCP, with the bounds."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
