"""Spare sandboxes: started ahead of need, taken by the next sandbox of the same shape."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.engine import docker_client
from agentforge.sandbox.socket_mount import SocketMount
from agentforge.sandbox.spares import SPARES, remove_spares

pytestmark = [pytest.mark.docker]

CALL = """
import json, sys, urllib.request
request = urllib.request.Request("http://127.0.0.1:8798/hello", data=b"from the sandbox")
print(urllib.request.urlopen(request, timeout=30).read().decode())
"""


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps({"served_by": self.server.label, "got": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(mount: SocketMount, label: str):
    server = mount.listen(_Echo)
    server.label = label
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def my_spares() -> list[str]:
    filters = {"label": ["agentforge.spare=1", f"agentforge.owner-pid={os.getpid()}"]}
    return [c.name for c in docker_client().containers.list(all=True, filters=filters)]


def wait_for_a_spare(config: SandboxConfig) -> None:
    deadline = time.monotonic() + 180
    while not SPARES.ready(config):
        assert time.monotonic() < deadline, "no spare sandbox was started"
        time.sleep(0.2)


def test_the_next_sandbox_takes_a_spare_with_its_own_folders_and_environment(agent_image,
                                                                             tmp_path):
    # Two grants of a gateway: the same place in the sandbox, different host folders.
    first = SocketMount(tmp_path / "one", "/run/test-spares", "svc.sock", 8798)
    second = SocketMount(tmp_path / "two", "/run/test-spares", "svc.sock", 8798)
    servers = [_serve(first, "one"), _serve(second, "two")]
    base = SandboxConfig(image=agent_image, spares=1, labels={"agentforge.task": "t1"})
    remove_spares()  # earlier tests in this process (grading, agent runs) leave spares of theirs
    try:
        config = first.apply(base, {"WHO": "one"})
        with Sandbox(config) as box:
            first.start_forwarder(box)
            assert json.loads(box.exec(["python3", "-c", CALL], timeout=60).output)[
                "served_by"] == "one"
            wait_for_a_spare(config)
        spare_names = my_spares()
        assert len(spare_names) == 1
        later = base.model_copy(update={"timeout": 3.0, "labels": {"agentforge.task": "t2"}})
        with Sandbox(second.apply(later, {"WHO": "two"})) as box:
            assert box.name == spare_names[0]  # taken, not created
            second.start_forwarder(box)
            # The spare had started the forwarder already (it learnt it from the first
            # sandbox): it relays to this sandbox's own socket.
            processes = box.exec(["ps", "-eo", "args"], timeout=60).output
            assert processes.count("forwarder.py") == 1, processes
            answer = json.loads(box.exec(["python3", "-c", CALL], timeout=60).output)
            assert answer == {"served_by": "two", "got": "from the sandbox"}
            assert box.exec("echo $WHO", timeout=60).output == "two\n"
            assert box.exec("sleep 30").timed_out  # its own default timeout, not the spare's
        wait_for_a_spare(config)  # taking one starts the next
    finally:
        remove_spares()
        for server in servers:
            server.shutdown()
            server.server_close()
    assert my_spares() == []


def test_a_different_shape_starts_anew(agent_image):
    base = SandboxConfig(image=agent_image, spares=1)
    try:
        with Sandbox(base):
            wait_for_a_spare(base)
        spare = my_spares()
        with Sandbox(base.model_copy(update={"memory": "1g"})) as box:
            assert box.name not in spare
        assert set(spare) <= set(my_spares())  # still there for its own shape
    finally:
        remove_spares()
    assert my_spares() == []
