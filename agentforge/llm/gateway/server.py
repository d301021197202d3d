"""The gateway's listeners, held against a hostile sandbox.

Each grant gets a unix socket of its own (the only one its sandbox can see), so connections
are counted per sandbox from the moment they are accepted: one sandbox opening thousands of
slow connections exhausts its own allowance, not another's. Every connection must send its
request within a deadline, and the open-file limit is raised at start so that the limits
below, not the kernel, are what refuses.
"""

from __future__ import annotations

import contextlib
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
_WANTED_OPEN_FILES = 65536
_SHARED = "shared"


@dataclass(frozen=True)
class ServerLimits:
    """How much one sandbox, and all of them together, may hold of the gateway."""

    max_connections: int = MAX_CONNECTIONS
    per_grant: int = MAX_CONNECTIONS_PER_GRANT
    idle_timeout: float = IDLE_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    max_body_bytes: int = MAX_BODY_BYTES


def raise_open_file_limit(wanted: int = _WANTED_OPEN_FILES) -> int:
    """Raise this process's soft open-file limit towards `wanted` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class ConnectionLimits:
    """Counts open connections per listener key and in total; refuses above the bounds."""

    def __init__(self, limits: ServerLimits) -> None:
        self.total = limits.max_connections
        self.per_grant = limits.per_grant
        self._open: dict[str, int] = {}
        self._all = 0
        self._lock = threading.Lock()

    def acquire(self, key: str) -> str | None:
        """Count a new connection, or return why it is refused."""
        with self._lock:
            mine = self._open.get(key, 0)
            if key != _SHARED and mine >= self.per_grant:
                return (f"this sandbox already has {mine} connections open to the gateway "
                        f"(at most {self.per_grant}); make fewer model calls at once")
            if self._all >= self.total:
                return (f"the gateway has {self._all} connections open (at most {self.total}); "
                        "retry shortly")
            self._open[key] = mine + 1
            self._all += 1
        return None

    def release(self, key: str) -> None:
        """Forget a closed connection."""
        with self._lock:
            self._open[key] = self._open.get(key, 1) - 1
            self._all -= 1

    def open(self, key: str | None = None) -> int:
        """Connections open now (for one key, or in total)."""
        with self._lock:
            return self._all if key is None else self._open.get(key, 0)


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

    connections: ConnectionLimits  # shared by all listeners of one gateway
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
