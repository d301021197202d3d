"""A small HTTP proxy for the tests, run as its own process on loopback: forwards plain HTTP
requests (absolute-form) and tunnels CONNECT, appending each request line to `--log`.

    python http_proxy.py --port-file F --log L
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_CONNECT(self):  # noqa: N802 - stdlib naming
        self.server.log(self.requestline)
        host, port = self.path.rsplit(":", 1)
        target = socket.create_connection((host, int(port)), timeout=30)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        back = threading.Thread(target=_pipe, args=(target, self.connection), daemon=True)
        back.start()
        _pipe(self.connection, target)
        back.join()
        self.close_connection = True

    def do_POST(self):  # noqa: N802 - stdlib naming
        self.server.log(self.requestline + " auth=" + self.headers.get("Proxy-Authorization", ""))
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("proxy-authorization", "connection", "host")}
        upstream = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        upstream.request(self.command, url.path, body=body, headers=headers)
        response = upstream.getresponse()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while data := response.read1(65536):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        upstream.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, log_path: Path) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.log_path = log_path
        self._lock = threading.Lock()

    def log(self, line: str) -> None:
        with self._lock, self.log_path.open("a") as handle:
            handle.write(line + "\n")


class ProxyProcess:
    """This proxy in its own process: `with ProxyProcess(tmp_path) as p: p.url`."""

    def __init__(self, folder: Path) -> None:
        self.log_path = folder / "proxy.log"
        self.port_file = folder / "proxy.port"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ProxyProcess:
        self.process = subprocess.Popen([sys.executable, __file__, "--port-file",
                                         str(self.port_file), "--log", str(self.log_path)])
        deadline = time.monotonic() + 60
        while not self.port_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the proxy did not start")
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())
        return self

    def __exit__(self, *exc_info) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        """The request lines seen so far."""
        return self.log_path.read_text().splitlines() if self.log_path.exists() else []


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = Server(Path(args.log))
    tmp = Path(args.port_file + ".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(args.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
