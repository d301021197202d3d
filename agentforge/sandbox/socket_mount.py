"""A host service that a sandbox without network reaches at 127.0.0.1:PORT.

The host serves HTTP on a unix socket in a directory of its own. That directory (the socket
and forwarder.py next to it) is bind-mounted read-only into the sandbox, and forwarder.py,
started inside, relays the sandbox's loopback port to the socket byte for byte. The model
gateway (one mount per grant) and the exec channel are both built on it:

    mount = SocketMount(host_dir, container_dir="/run/agentforge-exec",
                        socket_name="exec.sock", port=8766)
    server = mount.listen(MyHandler)                  # serve_forever() in a thread
    with Sandbox(mount.apply(config, env)) as box:
        mount.start_forwarder(box)                    # 127.0.0.1:8766 inside -> the socket
"""

from __future__ import annotations

import os
import shutil
import socketserver
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentforge.errors import SandboxError

if TYPE_CHECKING:
    from agentforge.sandbox.config import SandboxConfig
    from agentforge.sandbox.container import Sandbox

FORWARDER_NAME = "forwarder.py"
"""The forwarder's file name in every mounted directory."""
_FORWARDER_SOURCE = Path(__file__).with_name(FORWARDER_NAME)

class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A threaded HTTP server on a unix socket (pair it with a BaseHTTPRequestHandler)."""

    daemon_threads = True
    block_on_close = False  # closing must not wait for a sandbox's idle keep-alive connections
    request_queue_size = 256  # 32+ concurrent callers must not be refused


@dataclass(frozen=True)
class SocketMount:
    """A host directory with a unix socket and forwarder.py, seen read-only in a sandbox."""

    host_dir: Path
    container_dir: str
    """Where `host_dir` appears inside the sandbox."""
    socket_name: str
    port: int
    """The loopback port the forwarder listens on inside the sandbox."""

    @property
    def socket_path(self) -> Path:
        """The socket on the host."""
        return self.host_dir / self.socket_name

    @property
    def container_socket(self) -> str:
        """The socket as the sandbox sees it."""
        return f"{self.container_dir}/{self.socket_name}"

    def listen(self, handler: type[socketserver.BaseRequestHandler],
               server_class: type[UnixHTTPServer] = UnixHTTPServer) -> UnixHTTPServer:
        """Put forwarder.py in the directory and return a server bound to its socket."""
        self.host_dir.mkdir(parents=True, exist_ok=True)
        # The sandbox user (uid 1000) must traverse the directory and connect to the socket,
        # also when this process runs as root: a token in each request is the access control.
        os.chmod(self.host_dir, 0o755)
        shutil.copyfile(_FORWARDER_SOURCE, self.host_dir / FORWARDER_NAME)
        os.chmod(self.host_dir / FORWARDER_NAME, 0o644)
        self.socket_path.unlink(missing_ok=True)
        server = server_class(str(self.socket_path), handler)
        os.chmod(self.socket_path, 0o666)
        return server

    def apply(self, config: SandboxConfig, env: dict[str, str]) -> SandboxConfig:
        """A copy of `config` with the directory mounted read-only and `env` added."""
        binds = {**config.binds, str(self.host_dir): f"{self.container_dir}:ro"}
        return config.model_copy(update={"binds": binds, "env": {**config.env, **env}})

    def start_forwarder(self, sandbox: Sandbox, timeout: float = 60.0) -> None:
        """Run forwarder.py detached in a running sandbox; SandboxError if it never listens."""
        try:
            sandbox.start_background(["python3", f"{self.container_dir}/{FORWARDER_NAME}",
                                      "--socket", self.container_socket,
                                      "--port", str(self.port)],
                                     ready_port=self.port, timeout=timeout)
        except SandboxError as exc:
            raise SandboxError(
                f"the forwarder to {self.container_socket} did not start: {exc}; check that "
                f"{self.host_dir} is mounted at {self.container_dir} (apply) and that python3 "
                "is in the image") from exc
