"""In-sandbox loopback forwarder: 127.0.0.1:PORT <-> a host service's unix socket, byte for byte.

Standard library only and standalone: `SocketMount` (socket_mount.py) puts this file next to
the host's socket, the sandbox sees both through one read-only bind mount and runs

    python3 forwarder.py --socket /run/agentforge/gateway.sock --port 8765

in the background, so an agent can use a plain OPENAI_BASE_URL=http://127.0.0.1:8765/v1 (the
model gateway) or AGENTFORGE_EXEC_URL=http://127.0.0.1:8766 (the exec channel).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading
from pathlib import Path

_CHUNK = 65536


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until EOF, then pass the EOF on (half-close)."""
    try:
        while True:
            data = source.recv(_CHUNK)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass  # the other side went away; closing below tells our peer
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, socket_path: str) -> None:
    try:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(socket_path)
    except OSError as exc:
        body = (b'{"error": {"message": "agentforge forwarder: the host socket '
                + socket_path.encode() + b" is not reachable (" + str(exc).encode()
                + b'); the run may have ended", "type": "host_unreachable"}}')
        head = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
        with contextlib.suppress(OSError):
            client.sendall(head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                           + body)
            # Read what the caller is still sending before closing: closing over unread
            # bytes resets the connection, and the caller saw a broken pipe, not this 502.
            client.shutdown(socket.SHUT_WR)
            client.settimeout(5)
            while client.recv(_CHUNK):
                pass
        client.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(socket_path: str, port: int, host: str = "127.0.0.1",
          port_file: str | None = None) -> None:
    """Accept loopback connections forever, relaying each to the unix socket."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(256)
    if port_file:
        tmp = Path(port_file + ".tmp")
        tmp.write_text(str(listener.getsockname()[1]))
        tmp.replace(port_file)
    while True:
        client, _address = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_relay, args=(client, socket_path), daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Command line: forward until killed."""
    parser = argparse.ArgumentParser(description="Loopback TCP -> unix socket forwarder.")
    parser.add_argument("--socket", required=True, help="the host's unix socket")
    parser.add_argument("--port", type=int, default=8765, help="loopback port (0: any free)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-file", help="write the listening port here once ready")
    args = parser.parse_args(argv)
    try:
        serve(args.socket, args.port, args.host, args.port_file)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"forwarder: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
