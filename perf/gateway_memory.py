"""Gateway memory under a flood of huge request bodies, against its idle memory.

Runs a model server and a gateway (default limits) each in its own process, then sends
BODIES concurrent requests of MB megabytes each, spread over GRANTS grant sockets (as many
sandboxes), and samples the gateway's resident memory (RSS) while they are in flight:

    python perf/gateway_memory.py [--bodies 64] [--mb 31] [--grants 4] [--kinds text,values]
                                  [--json]

`text` bodies are one long message (what an agent's long conversation looks like); `values`
bodies are many tiny messages (each value costs ~70 bytes once parsed: the worst case for
memory per byte sent). Printed per kind: the peak RSS as a ratio to the idle RSS measured in
the same run, the RSS after the flood, how the requests were answered (200, 503 retry later,
413 too large once parsed, or dropped connections), and how the small calls of one more
sandbox were answered meanwhile. `--json` prints the same figures as one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.spec import Endpoint

ANSWER = json.dumps({
    "id": "chatcmpl-memory", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "read it"}}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 3, "total_tokens": 1003}}).encode()


class _Upstream(BaseHTTPRequestHandler):
    """A model that reads the body without keeping it and answers after a pause."""

    protocol_version = "HTTP/1.1"
    delay = 0.5

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_POST(self):  # noqa: N802 - stdlib naming
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                return
            left -= len(chunk)
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)


def serve_upstream(port_file: str) -> None:
    """Child-process mode: the model server, until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    _publish(port_file, str(server.server_address[1]))
    server.serve_forever()


def serve_gateway(upstream_url: str, info_file: str, grants: int) -> None:
    """Child-process mode: a gateway with `grants` grants in front of the model, until killed."""
    with tempfile.TemporaryDirectory() as tmp:
        endpoint = Endpoint(base_url=upstream_url, model="gpt-4o-mini", api_key="k")
        with Gateway(endpoint, Ledger(Path(tmp) / "ledger.db"),
                     retry=RetryPolicy(attempts=1, timeout=120)) as gateway:
            granted = [gateway.grant(run_id="perf", task_id=f"t{i}",  # the last: a bystander
                                     budget=Budget(tokens=10**12)) for i in range(grants + 1)]
            _publish(info_file, json.dumps([{"socket": str(g.socket_dir / "gateway.sock"),
                                             "token": g.token} for g in granted]))
            while True:
                time.sleep(3600)


def _publish(path: str, text: str) -> None:
    Path(path + ".tmp").write_text(text)
    Path(path + ".tmp").replace(path)


def body_of(kind: str, megabytes: float) -> bytes:
    """A chat request of about `megabytes` MB: one long message, or many tiny ones."""
    size = int(megabytes * 1_000_000)
    if kind == "text":
        line = "Here is the next part of the file under review, line by line. "
        text = (line * (size // len(line) + 1))[:size - 100]
        return json.dumps({"messages": [{"role": "user", "content": text}]}).encode()
    tiny = json.dumps({"role": "user", "content": "hi"}).encode()
    count = (size - 100) // (len(tiny) + 2)
    return b'{"messages": [' + b", ".join([tiny] * count) + b"]}"


def post(socket_path: str, token: str, body: bytes) -> str:
    """Send one request on a grant's socket; its status code, or 'dropped'."""
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
            f"{token}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(300)
        try:
            sock.connect(socket_path)
            sock.sendall(head)
            # Refused before the body was read: the answer is already there.
            with contextlib.suppress(OSError):
                sock.sendall(body)
            answer = sock.recv(64)
        except OSError:
            return "dropped"
    return answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "dropped"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (or its peak, VmHWM) in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def flood(pid: int, grants: list[dict], bystander: dict, body: bytes,
          bodies: int) -> tuple[float, Counter, Counter]:
    """Send `bodies` requests at once over the grants while the bystander makes small calls;
    the peak RSS seen, the flood's answers and the bystander's."""
    answers: Counter = Counter()
    small: Counter = Counter()
    peak = rss_mb(pid)

    def send(i: int) -> None:
        grant = grants[i % len(grants)]
        answers[post(grant["socket"], grant["token"], body)] += 1

    threads = [threading.Thread(target=send, args=(i,)) for i in range(bodies)]
    for thread in threads:
        thread.start()
    next_call = time.monotonic() + 0.5
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, rss_mb(pid))
        if time.monotonic() > next_call:  # one small call at a time, every half second
            small[post(bystander["socket"], bystander["token"], body_of("text", 0.01))] += 1
            next_call = time.monotonic() + 0.5
        time.sleep(0.01)
    return peak, answers, small


def measure(args: argparse.Namespace, pid: int, grants: list[dict]) -> dict:
    """Idle RSS, then one flood per kind of body."""
    for grant in grants:  # warm up: every grant's socket and thread has served once
        post(grant["socket"], grant["token"], body_of("text", 0.001))
    time.sleep(1)
    idle = rss_mb(pid)
    *grants, bystander = grants
    report = {"idle_mb": round(idle, 1), "bodies": args.bodies, "mb": args.mb,
              "grants": args.grants, "floods": {}}
    for kind in args.kinds.split(","):
        body = body_of(kind, args.mb)
        started = time.monotonic()
        peak, answers, small = flood(pid, grants, bystander, body, args.bodies)
        report["floods"][kind] = {
            "peak_mb": round(peak, 1), "ratio": round(peak / idle, 2),
            "answers": dict(answers), "bystander": dict(small),
            "seconds": round(time.monotonic() - started, 1), "after_mb": round(rss_mb(pid), 1)}
        del body
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=64)
    parser.add_argument("--mb", type=float, default=31)
    parser.add_argument("--grants", type=int, default=4)
    parser.add_argument("--kinds", default="text,values")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-upstream", help=argparse.SUPPRESS)
    parser.add_argument("--serve-gateway", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return 0
    if args.serve_gateway:
        serve_gateway(*args.serve_gateway, args.grants)
        return 0
    # Imported here, not in the gateway's process: the openai client would add to its idle RSS.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gateway_overhead import wait_for

    with tempfile.TemporaryDirectory() as tmp:
        upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream",
                                     f"{tmp}/port"])
        helpers = [upstream]
        try:
            url = f"http://127.0.0.1:{wait_for(Path(tmp) / 'port', upstream)}/v1"
            gateway = subprocess.Popen([sys.executable, __file__, "--serve-gateway", url,
                                        f"{tmp}/gateway.json", "--grants", str(args.grants)])
            helpers.append(gateway)
            grants = json.loads(wait_for(Path(tmp) / "gateway.json", gateway))
            report = measure(args, gateway.pid, grants)
        finally:
            for helper in helpers:
                helper.terminate()
                helper.wait(timeout=30)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"gateway idle RSS {report['idle_mb']:.0f} MB; {args.bodies} concurrent bodies of "
          f"{args.mb:g} MB over {args.grants} grants")
    for kind, figures in report["floods"].items():
        print(f"  {kind:6}  peak RSS {figures['peak_mb']:7.0f} MB = {figures['ratio']:5.2f}x "
              f"idle   after {figures['after_mb']:.0f} MB   answers {figures['answers']}   "
              f"bystander {figures['bystander']}   {figures['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
