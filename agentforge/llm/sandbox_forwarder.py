"""Start the loopback forwarder inside a running sandbox and wait until it accepts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentforge.errors import SandboxError

if TYPE_CHECKING:
    from agentforge.sandbox import Sandbox

# Runs inside the sandbox: poll the port until the forwarder accepts (or give up).
_WAIT = """
import socket, sys, time
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError as exc:
        if time.monotonic() > deadline:
            print(exc)
            sys.exit(1)
        time.sleep(0.05)
"""


def start_forwarder(sandbox: Sandbox, forwarder: str, socket_path: str, port: int,
                    timeout: float = 60.0) -> None:
    """Run forwarder.py detached in the sandbox; raise SandboxError if it never listens."""
    sandbox.start_background(["python3", forwarder, "--socket", socket_path,
                              "--port", str(port)])
    waited = sandbox.exec(["python3", "-c", _WAIT, str(port), str(timeout)],
                          timeout=timeout + 30, workdir="/")
    if not waited.ok:
        raise SandboxError(
            f"the model forwarder did not start in sandbox {sandbox.name} on port {port} "
            f"({waited.describe()}: {waited.output.strip()[-300:]}); check that the gateway "
            f"directory is mounted (Grant.apply) and that python3 is in the image")
