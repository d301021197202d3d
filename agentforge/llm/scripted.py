"""A scripted OpenAI-compatible model server: chat answers come from content-matched rules.

This file must stay standalone and use only the standard library: the framework copies it
into sandboxes where agentforge is not installed. Run it as

    python scripted.py --script FILE [--host 127.0.0.1] [--port N] [--port-file F] [MODEL ...]

or use `ScriptedServer(script)` as a context manager. The script format is documented in
agentforge/llm/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import select
import socket
import sys
import threading
import time
import tomllib
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CONDITIONS = (
    "last_message_contains", "any_message_contains", "system_contains", "not_contains",
    "model", "tools_offered", "regex", "has_param",
)
RESPONSE_KEYS = (
    "content", "tool_calls", "finish_reason", "status", "error", "raw_body", "delay",
    "cut_stream", "usage", "headers", "hang",
)
RULE_KEYS = ("name", "match", "respond", "max_uses", *CONDITIONS)
DEFAULT_MODELS = ["scripted"]
_STREAM_PIECE = 16  # characters of content or arguments per SSE delta


class ScriptError(ValueError):
    """The script is not valid; the message names the rule and the bad key."""


# -- the script ------------------------------------------------------------------------------


def load_script(source: dict | str | Path) -> dict:
    """Read a script (a dict, or a .json / .toml file) and check its shape."""
    if isinstance(source, dict):
        script = source
    else:
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        try:
            script = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ScriptError(f"cannot parse script {path}: {exc}") from exc
    rules = script.get("rules")
    if not isinstance(rules, list):
        raise ScriptError("a script needs a list `rules` (see agentforge/llm/README.md)")
    for index, rule in enumerate(rules):
        where = f"rule {index} ({rule.get('name', 'unnamed')})" if isinstance(rule, dict) else ""
        if not isinstance(rule, dict):
            raise ScriptError(f"rule {index} must be a table/object, got {type(rule).__name__}")
        unknown = set(rule) - set(RULE_KEYS)
        unknown |= set(rule.get("match", {})) - set(CONDITIONS)
        if unknown:
            raise ScriptError(f"{where}: unknown key(s) {sorted(unknown)}; "
                              f"conditions are {list(CONDITIONS)}")
        bad = set(rule.get("respond", {})) - set(RESPONSE_KEYS)
        if bad:
            raise ScriptError(f"{where}: unknown respond key(s) {sorted(bad)}; "
                              f"accepted: {list(RESPONSE_KEYS)}")
        for pattern in _as_list(_conditions(rule).get("regex")):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ScriptError(f"{where}: bad regex {pattern!r}: {exc}") from exc
    return script


def _conditions(rule: dict) -> dict:
    """Conditions may sit in `match` or directly on the rule; both count."""
    found = {key: rule[key] for key in CONDITIONS if key in rule}
    found.update(rule.get("match", {}))
    return found


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def message_text(message: dict) -> str:
    """The searchable text of a message: its content plus any tool calls it carries."""
    content = message.get("content")
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    parts = [content or ""]
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        parts.append(f"{function.get('name', '')} {function.get('arguments', '')}")
    return "\n".join(parts)


def shape_error(request: dict) -> str | None:
    """What makes a request unanswerable as the API would see it (a 400 there), or None."""
    for field in ("messages", "tools"):
        value = request.get(field)
        if value is None:
            continue
        if not isinstance(value, list):
            return f"invalid type for '{field}': expected an array"
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                return f"invalid type for '{field}[{index}]': expected an object"
            if field == "tools" and not isinstance(item.get("function", {}), dict):
                return f"invalid type for 'tools[{index}].function': expected an object"
    return None


def rule_matches(rule: dict, request: dict) -> bool:
    """True when every condition of the rule holds for the request."""
    messages = request.get("messages") or []
    texts = [message_text(m) for m in messages if isinstance(m, dict)]
    last = texts[-1] if texts else ""
    system = "\n".join(message_text(m) for m in messages
                       if isinstance(m, dict) and m.get("role") in ("system", "developer"))
    offered = {(tool.get("function") or {}).get("name") for tool in request.get("tools") or []}
    joined = "\n".join(texts)
    cond = _conditions(rule)
    checks = [
        all(s in last for s in _as_list(cond.get("last_message_contains"))),
        all(any(s in t for t in texts) for s in _as_list(cond.get("any_message_contains"))),
        all(s in system for s in _as_list(cond.get("system_contains"))),
        not any(s in t for s in _as_list(cond.get("not_contains")) for t in texts),
        "model" not in cond or request.get("model") in _as_list(cond["model"]),
        all(name in offered for name in _as_list(cond.get("tools_offered"))),
        all(re.search(p, joined, re.S) for p in _as_list(cond.get("regex"))),
        all(name in request for name in _as_list(cond.get("has_param"))),
    ]
    return all(checks)


class Script:
    """The rules of a script plus their use counts; thread-safe."""

    def __init__(self, source: dict | str | Path) -> None:
        self.source = str(source) if not isinstance(source, dict) else "<dict>"
        data = load_script(source)
        self.rules: list[dict] = data["rules"]
        self.models: list[str] = list(data.get("models") or DEFAULT_MODELS)
        self.uses = [0] * len(self.rules)
        self._lock = threading.Lock()

    def pick(self, request: dict) -> tuple[int, dict] | None:
        """The first rule (in file order) that matches and has uses left; counts the use."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                limit = rule.get("max_uses")
                if limit is not None and self.uses[index] >= limit:
                    continue
                if rule_matches(rule, request):
                    self.uses[index] += 1
                    return index, rule
        return None


# -- building answers ------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """Roughly four characters per token, at least one."""
    return max(1, (len(text) + 3) // 4)


def _tool_calls(respond: dict, index: int) -> list[dict]:
    calls = []
    for number, call in enumerate(respond.get("tool_calls") or []):
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):  # a raw string passes verbatim (malformed on purpose)
            arguments = json.dumps(arguments)
        calls.append({
            "id": call.get("id") or f"call_{index}_{number}_{uuid.uuid4().hex[:8]}",
            "type": "function",
            "function": {"name": call["name"], "arguments": arguments},
        })
    return calls


def _usage(respond: dict, request: dict, content: str, calls: list[dict]) -> dict:
    given = respond.get("usage") or {}
    prompt_text = "".join(message_text(m) for m in request.get("messages") or []
                          if isinstance(m, dict))
    answer_text = content + "".join(c["function"]["name"] + c["function"]["arguments"]
                                    for c in calls)
    prompt = int(given.get("prompt_tokens", estimate_tokens(prompt_text)))
    completion = int(given.get("completion_tokens", estimate_tokens(answer_text)))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def build_completion(respond: dict, request: dict, index: int) -> dict:
    """The chat.completion object for a rule's response."""
    content = respond.get("content")
    calls = _tool_calls(respond, index)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    finish = respond.get("finish_reason") or ("tool_calls" if calls else "stop")
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", DEFAULT_MODELS[0]),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(respond, request, content or "", calls),
    }


def stream_chunks(completion: dict) -> list[dict]:
    """Split a completion into chat.completion.chunk objects: role, content, tool calls, usage."""
    base = {"id": completion["id"], "object": "chat.completion.chunk",
            "created": completion["created"], "model": completion["model"]}
    choice = completion["choices"][0]
    message = choice["message"]

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                     "logprobs": None}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    for start in range(0, len(content), _STREAM_PIECE):
        chunks.append(chunk({"content": content[start:start + _STREAM_PIECE]}))
    for number, call in enumerate(message.get("tool_calls") or []):
        head = {"index": number, "id": call["id"], "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""}}
        chunks.append(chunk({"tool_calls": [head]}))
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), _STREAM_PIECE):
            part = arguments[start:start + _STREAM_PIECE]
            piece = {"index": number, "function": {"arguments": part}}
            chunks.append(chunk({"tool_calls": [piece]}))
    chunks.append(chunk({}, choice["finish_reason"]))
    chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


def error_body(message: str, kind: str = "invalid_request_error", code: str | None = None) -> dict:
    """An OpenAI-style error object."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def describe_unmatched(request: dict, source: str) -> str:
    """The 400 message for a request no rule matches: what came in and where to add a rule."""
    messages = request.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    return (f"scripted model: no rule of {source} matches this request "
            f"(model {request.get('model')!r}, last message role {last.get('role')!r}, "
            f"content {message_text(last)[:200]!r}); add a rule that matches it")


# -- HTTP ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _ScriptedHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write("scripted: " + (format % args) + "\n")

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?")[0].rstrip("/")
        ready = self.server.is_ready()
        if path == "/health":
            self._send_json(200 if ready else 503, {"status": "ok" if ready else "loading"})
        elif path == "/v1/models":
            models = self.server.script.models if ready else []
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"}
                    for m in models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_json(404, error_body(f"no route GET {path}", code="not_found"))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?")[0].rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path != "/v1/chat/completions":
            self._send_json(404, error_body(f"no route POST {path}", code="not_found"))
            return
        try:
            request = json.loads(raw or b"{}")
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            self._send_json(400, error_body(f"request body is not valid JSON: {exc}"))
            return
        problem = shape_error(request)
        if problem:
            self._send_json(400, error_body(problem, code="invalid_request"))
            return
        self.server.record(request)
        picked = self.server.script.pick(request)
        if picked is None:
            self._send_json(400, error_body(describe_unmatched(request, self.server.script.source),
                                            code="no_matching_rule"))
            return
        index, rule = picked
        self._answer(rule.get("respond") or {}, request, index)

    def _answer(self, respond: dict, request: dict, index: int) -> None:
        if respond.get("hang"):
            self._never_answer()
            return
        if respond.get("delay"):
            time.sleep(float(respond["delay"]))
        status = int(respond.get("status", 200))
        streaming = bool(request.get("stream"))
        if "raw_body" in respond:
            kind = "text/event-stream" if streaming else "application/json"
            self._send_bytes(status, str(respond["raw_body"]).encode(), kind, respond)
            return
        if status >= 400:
            message = respond.get("error") or f"scripted error {status}"
            kind = "rate_limit_error" if status == 429 else "server_error"
            self._send_json(status, error_body(message, kind), respond)
            return
        completion = build_completion(respond, request, index)
        if streaming:
            self._stream(stream_chunks(completion), bool(respond.get("cut_stream")), respond)
        else:
            body = json.dumps(completion).encode()
            self._send_bytes(status, body, "application/json", respond,
                             cut=bool(respond.get("cut_stream")))

    def _send_json(self, status: int, body: dict, respond: dict | None = None) -> None:
        self._send_bytes(status, json.dumps(body).encode(), "application/json", respond or {})

    def _send_bytes(self, status: int, body: bytes, kind: str, respond: dict,
                    cut: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (respond.get("headers") or {}).items():
                self.send_header(key, str(value))
            self.end_headers()
            if cut:  # promise the whole body, deliver half, hang up
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self._hang_up()
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _stream(self, chunks: list[dict], cut: bool, respond: dict) -> None:
        events = [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        if cut:  # stop in the middle of the stream, without the closing chunk
            events = events[: max(1, len(events) // 2)]
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            for key, value in (respond.get("headers") or {}).items():
                self.send_header(key, str(value))
            self.end_headers()
            for event in events:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            if cut:
                self._hang_up()
                return
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _never_answer(self) -> None:
        """Send nothing until the client hangs up or the server closes (a model that hangs)."""
        self.close_connection = True
        while not self.server.closing.wait(0.1):
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return  # end of stream: the client gave up waiting
            except OSError:
                return

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _ScriptedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 32+ concurrent callers must not be refused

    def __init__(self, address: tuple[str, int], script: Script, *, verbose: bool = False,
                 ready_after: float = 0.0) -> None:
        super().__init__(address, _Handler)
        self.script = script
        self.verbose = verbose
        self.requests: list[dict] = []
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        self._ready_at = time.monotonic() + ready_after
        self.closing = threading.Event()
        """Set when the server closes: requests held by `hang` end then."""

    def server_close(self) -> None:
        self.closing.set()  # before the base class joins the handler threads
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer is normal (timeouts, cut streams): no traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def record(self, request: dict) -> None:
        with self._lock:
            self.requests.append(request)
            self.arrivals.append(time.monotonic())

    def is_ready(self) -> bool:
        return time.monotonic() >= self._ready_at


class ScriptedServer:
    """The scripted server in a daemon thread: `with ScriptedServer(script) as s: s.base_url`."""

    def __init__(self, script: dict | str | Path, port: int = 0, host: str = "127.0.0.1", *,
                 ready_after: float = 0.0, verbose: bool = False) -> None:
        self.script = Script(script)
        self._httpd = _ScriptedHTTPServer((host, port), self.script, verbose=verbose,
                                          ready_after=ready_after)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. http://127.0.0.1:PORT/v1."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[dict]:
        """Bodies of the chat requests received so far, in arrival order."""
        return self._httpd.requests

    @property
    def arrivals(self) -> list[float]:
        """When each of `requests` arrived, in `time.monotonic()` seconds (same order)."""
        return self._httpd.arrivals

    def start(self) -> ScriptedServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name=f"scripted-model-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Command line: serve a script until interrupted."""
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible model server.")
    parser.add_argument("--script", required=True, help="rules file (.toml or .json)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    parser.add_argument("--ready-after", type=float, default=0.0,
                        help="answer /health with 503 and list no models for this many seconds")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("models", nargs="*", help="model names to list in /v1/models")
    # Unknown flags are ignored so this server can stand in for `vllm serve MODEL --flags`.
    args, ignored = parser.parse_known_args(argv)
    try:
        server = ScriptedServer(args.script, args.port, args.host, ready_after=args.ready_after,
                                verbose=args.verbose)
    except (OSError, ScriptError) as exc:
        print(f"scripted: {exc}", file=sys.stderr)
        return 2
    if args.models:
        server.script.models = list(args.models)
    if ignored:
        print(f"scripted: ignoring arguments {ignored}", file=sys.stderr)
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(server.port))
        tmp.replace(args.port_file)  # atomic, so a waiting reader never sees a partial number
    print(f"scripted: serving {server.script.source} on {server.base_url}", file=sys.stderr,
          flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
