"""An exec channel: an agent in one sandbox runs commands and edits files in another.

    with Sandbox(task_config) as task_box, ExecChannel(task_box) as channel:
        with Sandbox(channel.apply(agent_config)) as agent_box:
            channel.start_forwarder(agent_box)
            agent_box.exec([...])   # sees AGENTFORGE_EXEC_URL=http://127.0.0.1:8766

The host serves a small JSON-over-HTTP API on a unix socket in a host directory that is
bind-mounted read-only into the agent's sandbox (a `SocketMount`, as the model gateway's
grants use, with the same loopback forwarder). Every operation goes through the task
sandbox's own `Sandbox` methods, so the task container keeps its policy (no network, no
capabilities, host-enforced timeouts); no container ever sees the Docker socket. One
channel serves one task sandbox and accepts one token.

    POST /exec        {cmd, timeout?, cwd?}  -> {exit_code, output, timed_out}
    POST /read_file   {path}                 -> {content}        (UTF-8 text)
    POST /write_file  {path, content}        -> {written: path}  (keeps an existing mode)
"""

from __future__ import annotations

import json
import posixpath
import secrets
import shlex
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentforge.errors import SandboxError
from agentforge.sandbox.socket_mount import SocketMount, UnixHTTPServer

if TYPE_CHECKING:
    from agentforge.sandbox.config import SandboxConfig
    from agentforge.sandbox.container import Sandbox

CONTAINER_DIR = "/run/agentforge-exec"
"""Where the channel directory (socket + forwarder.py) appears in the agent's sandbox."""
SOCKET_NAME = "exec.sock"
FORWARDER_PORT = 8766
MAX_TIMEOUT = 3600.0
_MAX_BODY = 32 * 1024 * 1024


class ExecChannel:
    """Host side of the channel: a unix-socket HTTP server bound to one task sandbox."""

    def __init__(self, task_box: Sandbox, *, shell: str = "bash", prelude: str = "",
                 default_timeout: float = 300.0, forwarder_port: int = FORWARDER_PORT) -> None:
        self.task_box = task_box
        self.shell = shell
        self.prelude = prelude
        """Shell text run before every command (e.g. activating the image's conda env)."""
        self.default_timeout = default_timeout
        self.forwarder_port = forwarder_port
        self.token = "ex-" + secrets.token_urlsafe(24)
        self.mount = SocketMount(Path(tempfile.mkdtemp(prefix="agentforge-exec-")),
                                 CONTAINER_DIR, SOCKET_NAME, forwarder_port)
        self._server: UnixHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def env(self) -> dict[str, str]:
        """What the agent needs: the channel's loopback URL and its token."""
        return {"AGENTFORGE_EXEC_URL": f"http://127.0.0.1:{self.forwarder_port}",
                "AGENTFORGE_EXEC_TOKEN": self.token}

    def start(self) -> ExecChannel:
        """Listen on the socket; the forwarder file sits next to it."""
        self._server = self.mount.listen(_ChannelHandler)
        self._server.channel = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="exec-channel")
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and remove the socket directory."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=30)
        shutil.rmtree(self.mount.host_dir, ignore_errors=True)

    def __enter__(self) -> ExecChannel:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def apply(self, config: SandboxConfig) -> SandboxConfig:
        """A copy of the agent's `config` with the channel mounted and its environment set."""
        return self.mount.apply(config, self.env)

    def start_forwarder(self, agent_box: Sandbox, timeout: float = 60.0) -> None:
        """Start the loopback forwarder in the agent's sandbox and wait until it accepts."""
        try:
            self.mount.start_forwarder(agent_box, timeout)
        except SandboxError as exc:
            raise SandboxError(f"the exec channel's forwarder did not start: {exc}; apply "
                               "the channel to the agent's config (ExecChannel.apply)") from exc

    # -- operations (called by the handler) --------------------------------------------------

    def run(self, body: dict) -> dict:
        """`exec`: run a shell command in the task sandbox."""
        cmd = _text(body, "cmd")
        timeout = min(float(body.get("timeout") or self.default_timeout), MAX_TIMEOUT)
        script = f"{self.prelude}\n{cmd}" if self.prelude else cmd
        done = self.task_box.exec([self.shell, "-c", script], timeout=timeout,
                                  workdir=body.get("cwd") or None)
        return {"exit_code": done.exit_code, "output": done.output, "timed_out": done.timed_out}

    def read(self, body: dict) -> dict:
        """`read_file`: the UTF-8 text of one file."""
        path = _absolute(_text(body, "path"))
        data = self.task_box.read_file(path)
        try:
            return {"content": data.decode("utf-8")}
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path} is not UTF-8 text ({exc})") from exc

    def write(self, body: dict) -> dict:
        """`write_file`: create or replace one file; an existing file keeps its mode."""
        path = _absolute(_text(body, "path"))
        content = body.get("content")
        if not isinstance(content, str):
            raise ValueError("content must be a string")
        mode = self.task_box.exec(f"stat -c %a {shlex.quote(path)} 2>/dev/null", timeout=60,
                                  workdir="/").stdout.strip()
        folder, name = posixpath.split(path)
        self.task_box.write_files(folder, {name: content},
                                  mode=int(mode, 8) if mode.isdigit() else 0o644)
        return {"written": path}


_OPERATIONS = {"/exec": ExecChannel.run, "/read_file": ExecChannel.read,
               "/write_file": ExecChannel.write}


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"path must be absolute in the task sandbox, got {path!r}")
    return posixpath.normpath(path)


class _ChannelHandler(BaseHTTPRequestHandler):
    """One request from the agent's sandbox (through its forwarder)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def address_string(self) -> str:
        return "sandbox"  # unix-socket peers have no address

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        channel: ExecChannel = self.server.channel  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send(413, {"error": f"request body over {_MAX_BODY} bytes"})
            return
        raw = self.rfile.read(length)
        operation = _OPERATIONS.get(self.path.split("?")[0].rstrip("/"))
        if operation is None:
            self._send(404, {"error": f"no route {self.path}; routes: {sorted(_OPERATIONS)}"})
            return
        token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(token, channel.token):
            self._send(401, {"error": "wrong or missing token: send the AGENTFORGE_EXEC_TOKEN "
                                      "this sandbox was given as a Bearer token"})
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            self._send(200, operation(channel, body))
        except (ValueError, TypeError) as exc:
            self._send(400, {"error": str(exc)})
        except SandboxError as exc:
            status = (404 if "does not exist" in str(exc)
                      else 400 if "not a regular file" in str(exc) else 500)
            self._send(status, {"error": str(exc)})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
