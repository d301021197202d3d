"""SocketMount on the host: the directory a sandbox sees, and forwarder.py relaying to it.

forwarder.py runs here as the sandbox runs it (standalone, `python -I`), on the host's
loopback; the exec-channel and gateway tests drive the same pieces inside real containers.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from agentforge.sandbox import SandboxConfig
from agentforge.sandbox.socket_mount import FORWARDER_NAME, SocketMount


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def address_string(self) -> str:
        return "sandbox"

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps({"path": self.path, "got": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def mount(tmp_path):
    return SocketMount(tmp_path / "service", "/run/test-service", "svc.sock", 8799)


def _forwarder(mount: SocketMount, tmp_path):
    port_file = tmp_path / "port"
    process = subprocess.Popen([sys.executable, "-I", str(mount.host_dir / FORWARDER_NAME),
                                "--socket", str(mount.socket_path), "--port", "0",
                                "--port-file", str(port_file)])
    deadline = time.monotonic() + 60
    while not port_file.exists():
        assert time.monotonic() < deadline, "the forwarder never wrote its port"
        assert process.poll() is None, "the forwarder exited"
        time.sleep(0.05)
    return process, int(port_file.read_text())


def _post(port: int, path: str, data: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_forwarder_relays_loopback_to_the_mounted_socket(mount, tmp_path):
    server = mount.listen(_Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    process, port = _forwarder(mount, tmp_path)
    try:
        # The sandbox user (uid 1000) reaches the socket and reads the forwarder, even when
        # the host runs as root.
        assert stat.S_IMODE(mount.socket_path.stat().st_mode) == 0o666
        assert stat.S_IMODE((mount.host_dir / FORWARDER_NAME).stat().st_mode) == 0o644
        assert stat.S_IMODE(mount.host_dir.stat().st_mode) == 0o755
        assert _post(port, "/ping", b"x" * 200_000) == (200, {"path": "/ping",
                                                               "got": "x" * 200_000})
        server.shutdown()
        server.server_close()
        mount.socket_path.unlink()
        # The host side is gone: the caller gets a 502 that says so, not a hang.
        status, body = _post(port, "/ping", b"again")
        assert status == 502
        assert str(mount.socket_path) in body["error"]["message"]
        # A large body (a long prompt) gets the same 502, not a reset mid-send.
        status, body = _post(port, "/ping", b"x" * 8_000_000)
        assert status == 502 and "not reachable" in body["error"]["message"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_apply_mounts_the_directory_read_only_and_adds_the_environment(mount):
    base = SandboxConfig(binds={"/data": "/data:ro"}, env={"KEEP": "1"})
    applied = mount.apply(base, {"SERVICE_URL": "http://127.0.0.1:8799"})
    assert applied.binds == {"/data": "/data:ro", str(mount.host_dir): "/run/test-service:ro"}
    assert applied.env == {"KEEP": "1", "SERVICE_URL": "http://127.0.0.1:8799"}
    assert base.binds == {"/data": "/data:ro"}  # a copy: the caller's config is unchanged
    assert mount.container_socket == "/run/test-service/svc.sock"
