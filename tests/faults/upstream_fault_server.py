"""A fault-injecting OpenAI-protocol server, run as its own process on loopback.

The fault comes from the last message: `fault=NAME` (and optionally `times=N`: only the first
N requests with that exact message fail, later ones are answered; `retry_after=S`). Faults:

    429, 429-retry-after, 500, 502, 503   an HTTP error (OpenAI-style body)
    reset          headers and half the body, then a TCP reset
    truncated      a complete HTTP answer whose JSON body is cut off
    slow           the first byte only after `delay=S` seconds (default 3)
    stream-cut     a streamed answer that stops halfway without its end
    not-json       an HTML page with status 200
    hold-usage     a streamed answer whose usage chunk comes `delay=S` after the content
    hold-end       a streamed answer that ends `delay=S` after its [DONE] event
    reject-max-tokens   400 "Unsupported parameter: 'max_tokens'" when max_tokens is sent

A model named like OpenAI's reasoning models (o1, o3-mini, gpt-5...) always rejects
`max_tokens`, as OpenAI does. Usage is billed the way OpenAI bills: the prompt is every field
the model reads (messages, tools, `response_format`...) at ~4 characters a token plus
IMAGE_TOKENS per image part, whatever its bytes; the completion is as many tokens as the
request's cap allows (a model that writes as long as it may; 20 without a cap) plus a
rejected `prediction`, per choice. Every request is appended to `--log` as a JSON line
{"time", "fault", "body"}.

    python upstream_fault_server.py --port-file F --log L
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_REASONING = re.compile(r"^(o\d|gpt-5)")
IMAGE_TOKENS = 48_169
"""What gpt-4o-mini bills for one large image at high detail (2,833 + 8 tiles of 5,667)."""
_NOT_READ = ("prediction", "stream", "stream_options", "n", "max_tokens",
             "max_completion_tokens")
_seen: dict[str, int] = {}
_lock = threading.Lock()


def _last_text(body: dict) -> str:
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content") if isinstance(messages[-1], dict) else ""
    return content if isinstance(content, str) else json.dumps(content)


def _option(text: str, name: str, default: str | None = None) -> str | None:
    found = re.search(rf"\b{name}=([\w.-]+)", text)
    return found.group(1) if found else default


def _fault(text: str) -> str | None:
    """The fault this request gets, counting uses of `times=N`."""
    fault = _option(text, "fault")
    if fault is None:
        return None
    times = _option(text, "times")
    with _lock:
        _seen[text] = _seen.get(text, 0) + 1
        if times is not None and _seen[text] > int(times):
            return None
    return fault


def _completion(body: dict, text: str) -> dict:
    caps = [body[k] for k in ("max_tokens", "max_completion_tokens")
            if isinstance(body.get(k), int)]
    completion = min(caps) if caps else 20
    choices = body.get("n") if isinstance(body.get("n"), int) else 1
    read = {name: value for name, value in body.items() if name not in _NOT_READ}
    read_text = json.dumps(read)  # an image part's "type" key is never inside a JSON string
    prompt = 1 + len(read_text) // 4 + IMAGE_TOKENS * read_text.count('"type": "image_url"')
    if body.get("prediction"):  # rejected predicted tokens are billed as completion
        completion += len(json.dumps(body["prediction"])) // 4
    return {"id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "m"),
            "choices": [{"index": i, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": f"ok: {text[:60]}"}}
                        for i in range(choices)],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion * choices,
                      "total_tokens": prompt + completion * choices}}


def _chunks(completion: dict) -> list[bytes]:
    base = {"id": completion["id"], "object": "chat.completion.chunk",
            "created": completion["created"], "model": completion["model"]}
    text = completion["choices"][0]["message"]["content"]
    deltas = [{"role": "assistant", "content": ""}] + [
        {"content": text[i:i + 8]} for i in range(0, len(text), 8)]
    events = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]}
              for d in deltas]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return [f"data: {json.dumps(e)}\n\n".encode() for e in events]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_GET(self):  # noqa: N802 - stdlib naming
        self._json(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

    def do_POST(self):  # noqa: N802 - stdlib naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        text = _last_text(body)
        fault = _fault(text)
        if fault is None and "max_tokens" in body and _REASONING.match(str(body.get("model"))):
            fault = "reject-max-tokens"
        self.server.log(fault, body)
        delay = float(_option(text, "delay", "3"))
        if fault in ("429", "500", "502", "503", "429-retry-after"):
            headers = {}
            if fault == "429-retry-after":
                headers["Retry-After"] = _option(text, "retry_after", "1")
            status = int(fault[:3])
            self._json(status, _error(f"injected {status}", "server_error"), headers)
        elif fault == "reject-max-tokens" and "max_tokens" in body:
            self._json(400, _error("Unsupported parameter: 'max_tokens' is not supported with "
                                   "this model. Use 'max_completion_tokens' instead.",
                                   "invalid_request_error", "max_tokens"))
        elif fault == "reset":
            answer = json.dumps(_completion(body, text)).encode()
            self._head(200, "application/json", len(answer))
            self.wfile.write(answer[: len(answer) // 2])
            self.wfile.flush()
            self._reset()
        elif fault == "truncated":
            answer = json.dumps(_completion(body, text)).encode()[:40]
            self._head(200, "application/json", len(answer))
            self.wfile.write(answer)
        elif fault == "not-json":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._head(200, "text/html", len(page))
            self.wfile.write(page)
        else:
            if fault == "slow":
                time.sleep(delay)
            self._answer(body, text, fault, delay)

    def _answer(self, body: dict, text: str, fault: str | None, delay: float) -> None:
        completion = _completion(body, text)
        if not body.get("stream"):
            self._json(200, completion)
            return
        events = _chunks(completion)
        usage = {**{k: completion[k] for k in ("id", "object", "created", "model")},
                 "object": "chat.completion.chunk", "choices": [], "usage": completion["usage"]}
        self._head(200, "text/event-stream", None)
        if fault == "stream-cut":
            for event in events[: len(events) // 2]:
                self._chunk(event)
            self._reset()
            return
        try:
            for event in events:
                self._chunk(event)
            if fault == "hold-usage":
                time.sleep(delay)
            self._chunk(f"data: {json.dumps(usage)}\n\n".encode())
            self._chunk(b"data: [DONE]\n\n")
            if fault == "hold-end":
                time.sleep(delay)
            self._chunk(b"")
            self.server.log("completed", {"text": text})
        except OSError:
            self.server.log("caller-gone", {"text": text})
            self.close_connection = True

    def _head(self, status: int, kind: str, length: int | None, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _json(self, status: int, body: dict, headers=None) -> None:
        data = json.dumps(body).encode()
        self._head(status, "application/json", len(data), headers)
        self.wfile.write(data)

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout: close() sends a TCP reset, not an orderly FIN.
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def _error(message: str, kind: str, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param,
                      "code": "unsupported_parameter" if param else None}}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, log_path: Path) -> None:
        super().__init__(address, Handler)
        self.log_path = log_path
        self._log_lock = threading.Lock()

    def log(self, fault: str | None, body: dict) -> None:
        line = json.dumps({"time": time.time(), "fault": fault, "body": body})
        with self._log_lock, self.log_path.open("a") as handle:
            handle.write(line + "\n")

    def handle_error(self, request, client_address):
        pass  # resets and hang-ups are what this server is for


class FaultServer:
    """This server in its own process: `with FaultServer(tmp_path) as s: s.base_url`."""

    def __init__(self, folder: Path) -> None:
        self.log_path = folder / "fault-server.log"
        self.port_file = folder / "fault-server.port"
        self.process: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> FaultServer:
        self.process = subprocess.Popen([sys.executable, __file__, "--port-file",
                                         str(self.port_file), "--log", str(self.log_path)])
        deadline = time.monotonic() + 60
        while not self.port_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the fault server did not start")
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())
        return self

    def __exit__(self, *exc_info) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/v1"""
        return f"http://127.0.0.1:{self.port}/v1"

    def entries(self) -> list[dict]:
        """Every line of the log so far."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def requests(self, containing: str = "") -> list[dict]:
        """The chat requests received whose last message contains `containing`."""
        return [e for e in self.entries() if "messages" in e["body"]
                and containing in _last_text(e["body"])]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Path(args.log))
    tmp = Path(args.port_file + ".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(args.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
