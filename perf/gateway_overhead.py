"""Gateway overhead: latency and throughput through the gateway vs straight to the model.

Runs the scripted model and a gateway (its loopback TCP listener; the unix socket path is
the same handler), each in its own process, calls them from this one and prints:
  - median latency of one chat call, through the gateway vs straight (target ratio <= 1.3)
  - throughput with 32 concurrent callers, through the gateway vs straight (target >= 0.7)

    python perf/gateway_overhead.py [--calls 300] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

from agentforge.llm import scripted
from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.spec import Endpoint

# A modest model latency, like a small local model answering a short prompt.
SCRIPT = {"rules": [{"respond": {"content": "The fix is in utils.py line 12. " * 8,
                                 "delay": 0.02}}]}
MESSAGES = [{"role": "system", "content": "You are a coding agent. " * 40}]


def one_call(client: openai.OpenAI, i: int) -> float:
    started = time.perf_counter()
    # Distinct content each time so the gateway's cache never answers.
    client.chat.completions.create(model="m", messages=[*MESSAGES, {"role": "user",
                                                                     "content": f"task {i}"}])
    return time.perf_counter() - started


def latencies(client: openai.OpenAI, calls: int, offset: int) -> list[float]:
    for i in range(10):  # warm the connection pools
        one_call(client, offset - 100 - i)
    return [one_call(client, offset + i) for i in range(calls)]


def throughput(make_client, calls: int, concurrency: int, offset: int) -> float:
    local = threading.local()

    def call(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = make_client()
        one_call(local.client, offset + i)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(call, range(-concurrency, 0)))  # warm-up: one client per thread
        started = time.perf_counter()
        list(pool.map(call, range(calls)))
        return calls / (time.perf_counter() - started)


def serve_gateway(upstream_url: str, info_file: str) -> None:
    """Child-process mode: a gateway in front of `upstream_url`, until killed."""
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.db")
        endpoint = Endpoint(base_url=upstream_url, model="gpt-4o-mini", api_key="k")
        with Gateway(endpoint, ledger, tcp_port=0, retry=RetryPolicy(timeout=60)) as gateway:
            grant = gateway.grant(run_id="perf", task_id="t")
            Path(info_file + ".tmp").write_text(json.dumps(
                {"base_url": gateway.tcp_base_url, "token": grant.token}))
            Path(info_file + ".tmp").replace(info_file)
            while True:
                time.sleep(3600)


def wait_for(path: Path, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + 60
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"helper process failed to start (exit {process.poll()})")
        time.sleep(0.05)
    return path.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gateway-for", help=argparse.SUPPRESS)
    parser.add_argument("--info-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gateway_for:
        serve_gateway(args.gateway_for, args.info_file)
        return 0
    # Each party in its own process, as in a run: model server, gateway (the agentforge
    # host process), callers (agents in sandboxes).
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps(SCRIPT))
        model = subprocess.Popen([sys.executable, scripted.__file__, "--script", str(script),
                                  "--port-file", f"{tmp}/port"])
        helpers = [model]
        try:
            upstream_url = f"http://127.0.0.1:{wait_for(Path(tmp) / 'port', model)}/v1"
            gateway = subprocess.Popen([sys.executable, __file__, "--gateway-for", upstream_url,
                                        "--info-file", f"{tmp}/gateway.json"])
            helpers.append(gateway)
            info = json.loads(wait_for(Path(tmp) / "gateway.json", gateway))
            before = cpu_seconds(model.pid), cpu_seconds(gateway.pid)
            calls = measure(args, upstream_url, info["base_url"], info["token"])
            model_cpu = cpu_seconds(model.pid) - before[0]
            gateway_cpu = cpu_seconds(gateway.pid) - before[1]
            print(f"CPU per call     model server {model_cpu / calls['straight+gateway'] * 1e3:.2f}"
                  f" ms   gateway {gateway_cpu / calls['gateway'] * 1e3:.2f} ms")
        finally:
            for helper in helpers:
                helper.terminate()
                helper.wait(timeout=30)
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(args: argparse.Namespace, upstream_url: str, gateway_url: str,
            token: str) -> dict[str, int]:
    """Run both measurements, interleaved so that machine load hits both sides alike."""

    def direct() -> openai.OpenAI:
        return openai.OpenAI(base_url=upstream_url, api_key="k", timeout=60)

    def through() -> openai.OpenAI:
        return openai.OpenAI(base_url=gateway_url, api_key=token, timeout=60)

    straight_lat, gateway_lat, straight_tp, gateway_tp = [], [], [], []
    for block in range(3):
        straight_lat += latencies(direct(), args.calls // 3, 10_000 * (block + 1))
        gateway_lat += latencies(through(), args.calls // 3, 20_000 * (block + 1))
        straight_tp.append(throughput(direct, args.calls, args.concurrency,
                                      100_000 * (block + 1)))
        gateway_tp.append(throughput(through, args.calls, args.concurrency,
                                     200_000 * (block + 1)))
    lat_s, lat_g = statistics.median(straight_lat), statistics.median(gateway_lat)
    tp_s, tp_g = statistics.median(straight_tp), statistics.median(gateway_tp)
    lat_ratio, tp_ratio = lat_g / lat_s, tp_g / tp_s
    print(f"median latency   straight {lat_s * 1000:7.2f} ms   gateway {lat_g * 1000:7.2f} ms"
          f"   ratio {lat_ratio:.2f} (target <= 1.3) {'OK' if lat_ratio <= 1.3 else 'MISSED'}")
    print(f"throughput x{args.concurrency}   straight {tp_s:7.1f} /s    gateway "
          f"{tp_g:7.1f} /s    ratio {tp_ratio:.2f} (target >= 0.7) "
          f"{'OK' if tp_ratio >= 0.7 else 'MISSED'}")
    per_side = 3 * (10 + args.calls // 3 + args.concurrency + args.calls)
    return {"gateway": per_side, "straight+gateway": 2 * per_side}


if __name__ == "__main__":
    sys.exit(main())
