"""The host's end of a sandbox's warden (warden.py), over the container's own stdin and stdout.

The container's first process is the warden; the host attaches to the container before
starting it and sends the warden's text on its stdin (the image's Python runs a short
loader). From then on, requests go down that stdin as JSON lines and the warden's frames
come back on its stdout. That channel is private to the host and the warden: no process in
the container can read the warden's stdin or write to its stdout (they would need to trace
pid 1), and no bind mount or token is involved, so it works with a remote engine too.

One reader thread per sandbox demultiplexes the frames to the calls waiting on them, so
commands run concurrently as before.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import struct
import threading
import time
from pathlib import Path

from agentforge.sandbox.execution import ExecResult
from agentforge.sandbox.output import CappedOutput

PROCESSES_SOURCE = (Path(__file__).parent / "warden_processes.py").read_bytes()
# The warden's text: warden_processes.py registered as a module, then warden.py (one text, so
# the container needs no file of ours and the warden never lies on disk).
WARDEN_SOURCE = (
    b"import sys, types\n"
    b"_module = types.ModuleType('warden_processes')\n"
    b"exec(bytes.fromhex('" + PROCESSES_SOURCE.hex().encode() + b"'), _module.__dict__)\n"
    b"sys.modules['warden_processes'] = _module\n"
    + (Path(__file__).parent / "warden.py").read_bytes())
NO_WARDEN = b"no-warden"
# The container's command: the image's Python 3.5+ runs the loader, else the sandbox has no
# warden (the host then makes it again without one).
BOOT_SHELL = r"""
for p in python3 python; do
  command -v "$p" >/dev/null 2>&1 || continue
  case "$("$p" -V 2>&1)" in
    "Python 3."[5-9]*|"Python 3."[1-9][0-9]*) exec "$p" -I -S -c "$0" ;;
  esac
done
echo no-warden; exec sleep infinity
"""
# Reads one line from stdin, the warden's text in hex, and runs it: the warden never lies on
# disk. (The host writes nothing more before the warden greets it, so the buffered read
# takes nothing that the warden itself must read.)
BOOT_PYTHON = "import sys;exec(bytes.fromhex(sys.stdin.buffer.readline().decode()))"
BOOT_COMMAND = ["/bin/sh", "-c", BOOT_SHELL, BOOT_PYTHON]
CAPABILITIES = ["KILL", "SETUID", "SETGID", "SETPCAP"]
"""What the warden needs (to end any process; to start commands as their user with a tag
and take these out of their bounding set); no command it starts holds any of them."""
_FRAME = struct.Struct(">BIL")
_STDOUT, _STDERR, _DONE, _HELLO = 1, 2, 3, 4
REPLY_SLACK = 15.0
"""Seconds past a command's deadline the host waits for the warden's reply (its kill rounds
and the output's drain take up to ~6 s) before it calls the warden lost."""

log = logging.getLogger(__name__)


class _Waiter:
    def __init__(self, output_limit: int) -> None:
        self.combined = CappedOutput(output_limit)
        self.stdout = CappedOutput(output_limit)
        self.result: dict | None = None
        self.done = threading.Event()


class WardenLink:
    """One sandbox's warden: attach before the container starts, `boot`, then requests."""

    def __init__(self, api, container_id: str, name: str) -> None:
        self.api = api
        self.container_id = container_id
        self.name = name
        self.hello: dict | None = None
        self.oom_seen = 0
        self._sock = None
        self._raw: socket.socket | None = None
        self._ids = itertools.count(1)
        self._waiters: dict[int, _Waiter] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._greeted = threading.Event()
        self._alive = False
        self._reader: threading.Thread | None = None

    def attach(self) -> None:
        """Connect to the container's stdin and stdout (before it starts: nothing is lost)."""
        self._sock = self.api.attach_socket(
            self.container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        self._raw = getattr(self._sock, "_sock", self._sock)
        self._raw.settimeout(None)
        self._alive = True
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"warden-{self.name[-12:]}")
        self._reader.start()

    def boot(self, timeout: float = 120.0, *, wait: bool = True) -> bool:
        """Send the warden's text and wait for its greeting; False if the image has none.

        Without `wait` (an image known to run a warden), return at once: the first request
        waits for the greeting instead, so the warden starts while files are copied in.
        """
        self._write(WARDEN_SOURCE.hex().encode() + b"\n")
        return not wait or self._greeting(timeout)

    def _greeting(self, timeout: float) -> bool:
        """True once the warden has greeted; False if the image has none."""
        if not self._greeted.wait(timeout):
            raise TimeoutError(f"the warden of sandbox {self.name} did not start in {timeout:.0f}s")
        if self.hello is None or "python" not in self.hello:
            return False
        self.oom_seen = max(self.oom_seen, int(self.hello.get("oom") or 0))
        return True

    @property
    def alive(self) -> bool:
        return self._alive

    def close(self) -> None:
        self._alive = False
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._raw.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._sock.close()
        self._release_waiters()

    # -- requests --------------------------------------------------------------------------

    def run(self, argv: list[str], *, user: str, workdir: str, env: dict[str, str],
            timeout: float, output_limit: int, before: str | None = None,
            after: str | None = None) -> ExecResult | None:
        """Run a command; None if the warden did not answer in time (or is gone)."""
        started = time.monotonic()
        waiter = self._request({"op": "run", "argv": _hex(argv), "user": user, "cwd": workdir,
                                "env": env, "timeout": timeout, "before": before,
                                "after": after}, output_limit)
        result = self._result(waiter, timeout + REPLY_SLACK)
        if result is None:
            return None
        exit_code, timed_out = int(result.get("exit", 0)), bool(result.get("timed_out"))
        # 137 is SIGKILL; the cgroup's OOM counter tells the kernel's OOM killer from a kill.
        oom = int(result.get("oom") or 0)
        fired, self.oom_seen = oom > self.oom_seen, max(oom, self.oom_seen)
        if result.get("error"):
            waiter.combined.write(f"agentforge warden: {result['error']}\n".encode())
        return ExecResult(
            exit_code=exit_code, output=waiter.combined.text(),
            duration=time.monotonic() - started, timed_out=timed_out,
            oom_killed=exit_code == 137 and not timed_out and fired,
            output_bytes=waiter.combined.total, output_truncated=waiter.combined.omitted > 0,
            stdout=waiter.stdout.text())

    def spawn(self, argv: list[str], *, user: str, env: dict[str, str],
              port: int | None = None, timeout: float = 60.0) -> dict | None:
        """Start a detached helper (no deadline); with `port`, answer once it listens there."""
        waiter = self._request({"op": "spawn", "argv": _hex(argv), "user": user, "cwd": "/",
                                "env": env, "port": port, "timeout": timeout}, 4096)
        return self._result(waiter, timeout + REPLY_SLACK)

    def kill_all(self, timeout: float = 60.0) -> bool | None:
        """Kill every process in the sandbox but the warden; None if it did not answer."""
        result = self._result(self._request({"op": "kill_all"}, 4096), timeout)
        return None if result is None else bool(result.get("ok"))

    def _request(self, request: dict, output_limit: int) -> _Waiter:
        ident = next(self._ids)
        waiter = _Waiter(output_limit)
        # Nothing but the warden's text may be in its stdin before it reads it (the loader's
        # buffered read would take more): requests wait for the greeting.
        try:
            greeted = self._greeting(REPLY_SLACK * 8)
        except TimeoutError:
            greeted = False
        if not greeted:
            waiter.done.set()  # no warden after all: the caller treats it as lost
            return waiter
        with self._lock:
            self._waiters[ident] = waiter
        self._write(json.dumps({**request, "id": ident}).encode() + b"\n")
        return waiter

    def _result(self, waiter: _Waiter, wait: float) -> dict | None:
        """The warden's answer, or None if it did not come in time (or the link broke)."""
        if not waiter.done.wait(wait):
            return None
        return waiter.result

    def _write(self, data: bytes) -> None:
        if not self._alive:
            return  # the waiter times out: the caller treats the warden as lost
        try:
            with self._send_lock:
                self._raw.sendall(data)
        except OSError as exc:
            log.warning("cannot reach the warden of sandbox %s: %s", self.name, exc)
            self._alive = False

    # -- the reader thread -----------------------------------------------------------------

    def _read(self) -> None:
        docker_header, stream, left = b"", 1, 0
        frames = bytearray()
        try:
            while True:
                chunk = self._raw.recv(262144)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    if left == 0:
                        need = 8 - len(docker_header)
                        docker_header += bytes(view[:need])
                        view = view[need:]
                        if len(docker_header) == 8:
                            stream, left = struct.unpack(">BxxxL", docker_header)
                            docker_header = b""
                        continue
                    piece = bytes(view[:left])
                    view, left = view[left:], left - len(piece)
                    if stream == 2:
                        log.warning("warden of sandbox %s: %s", self.name,
                                    piece.decode("utf-8", "replace").strip()[-2000:])
                    else:
                        frames += piece
                        self._dispatch(frames)
        except OSError:
            pass
        finally:
            self._alive = False
            self._greeted.set()
            self._release_waiters()

    def _dispatch(self, frames: bytearray) -> None:
        if self.hello is None and frames[:1] != bytes([_HELLO]):
            # The boot shell speaks first: the image has no Python 3.5+ for a warden.
            self.hello = {"none": frames[:200].decode("utf-8", "replace")}
            self._greeted.set()
            return
        while len(frames) >= _FRAME.size:
            kind, ident, size = _FRAME.unpack_from(frames)
            if len(frames) < _FRAME.size + size:
                return
            payload = bytes(frames[_FRAME.size:_FRAME.size + size])
            del frames[:_FRAME.size + size]
            if kind == _HELLO:
                self.hello = json.loads(payload)
                self._greeted.set()
                continue
            with self._lock:
                waiter = self._waiters.get(ident)
            if waiter is None:
                continue
            if kind == _DONE:
                waiter.result = json.loads(payload)
                with self._lock:
                    self._waiters.pop(ident, None)
                waiter.done.set()
            else:
                waiter.combined.write(payload)
                if kind == _STDOUT:
                    waiter.stdout.write(payload)

    def _release_waiters(self) -> None:
        with self._lock:
            waiters, self._waiters = list(self._waiters.values()), {}
        for waiter in waiters:
            waiter.done.set()


def _hex(argv: list[str]) -> list[str]:
    return [arg.encode("utf-8", "surrogateescape").hex() for arg in argv]

