"""The tests' own agent of each contract, in real sandboxes: its own tests, a scored benchmark
run with the scripted model through the gateway, and the sandbox probes (no real key, no
network) run by the agent itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from contract_runs import HELD_OUT, TASKS, write_suite_and_config
from own_agents import write_command_agent, write_dgm_agent

from agentforge.agent_contract import load_agent_spec, run_agent
from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint
from agentforge.sandbox import Sandbox, SandboxConfig

pytestmark = [pytest.mark.docker, pytest.mark.slow]

KINDS = ["dgm", "hgm", "command"]
REAL_KEY = "sk-real-upstream-key-never-in-a-sandbox"


def own_agent(kind: str, root: Path) -> Path:
    if kind == "command":
        return write_command_agent(root / "cli-agent")
    return write_dgm_agent(root / f"{kind}-agent", hgm=kind == "hgm")


def agentforge(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("kind", KINDS)
def test_own_tests_pass_and_a_benchmark_run_scores_it(kind, agent_image, tmp_path):
    folder = own_agent(kind, tmp_path)
    done = agentforge("agent", "test", folder)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    write_suite_and_config(tmp_path, str(folder))
    out = tmp_path / "bench"
    done = agentforge("bench", "run", "--benchmark", "local", "--source", tmp_path / "suite",
                      "--subset", "smoke", "--agent", folder, "--workers", "2",
                      "--model", f"scripted:{tmp_path / 'model.json'}", "--out", out)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    report = json.loads((out / "report.json").read_text())
    # The scripted model fixes the first task for any agent, the others only for one whose
    # checklist carries the line a self-modification adds: 1 of 3, by the hidden tests; the
    # agent leaves the others unchanged.
    assert report["resolved_ids"] == [TASKS[0]], report
    assert report["empty_patch_ids"] == sorted([TASKS[1], *HELD_OUT]), report
    assert report["error_ids"] == [], report


@pytest.mark.parametrize("kind", KINDS)
def test_load_agent_solves_and_tests_with_any_contract(kind, agent_image, tmp_path):
    from agentforge import load_agent

    folder = own_agent(kind, tmp_path)
    write_suite_and_config(tmp_path, str(folder))
    task = tmp_path / "suite" / "tasks" / TASKS[0]
    agent = load_agent(folder)
    assert agent.spec.contract == kind and agent.test().ok
    result = agent.solve(task / "repo", task / "problem.md",
                         model=f"scripted:{tmp_path / 'model.json'}", timeout=300)
    assert "+    return a + b" in result.patch, result
    assert result.exit_code == 0 and result.tokens > 0  # booked by the gateway


PROBE = r"""
import json, os, socket, sys
found = {"real_key_in_env": any("sk-real" in v for v in os.environ.values()),
         "keys": sorted(v[:3] for k, v in os.environ.items() if k.endswith(("API_KEY", "_KEY"))),
         "model_urls": sorted({v for k, v in os.environ.items()
                               if k.endswith(("BASE_URL", "API_BASE"))})}
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    found["upstream"] = "reached"
except OSError as exc:
    found["upstream"] = "blocked"
try:
    socket.getaddrinfo("agentforge-probe.invalid", 80)
    found["dns"] = "answered"
except OSError:
    found["dns"] = "none"
others = []
for pid in os.listdir("/proc"):
    try:
        others.append(open(f"/proc/{pid}/environ", "rb").read())
    except (OSError, ValueError):
        pass
found["real_key_in_any_process"] = any(b"sk-real" in env for env in others)
open("probe.json", "w").write(json.dumps(found))
print("PROBE-DONE")
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def _host_address() -> str:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: it only picks a route
            return probe.getsockname()[0]
        except OSError:
            return "172.17.0.1"


@pytest.mark.parametrize("kind", KINDS)
def test_the_sandbox_probes_run_by_each_contracts_agent(kind, agent_image, tmp_path):
    """The agent runs the probes through its own tool: a real key never reaches the sandbox
    (its variables, any process's), the upstream model server is not reachable directly, no
    resolver answers; the model is reached all the same, through the gateway."""
    agent = load_agent_spec(own_agent(kind, tmp_path))
    port = _free_port()
    probe = (f"cat > /tmp/probe.py <<'EOF'\n{PROBE}\nEOF\n"
             f"python3 /tmp/probe.py {_host_address()} {port}")
    script = {"rules": [
        {"name": "probe", "not_contains": "PROBE-DONE",
         "respond": {"tool_calls": [{"name": "bash", "arguments": {"command": probe}}]}},
        {"name": "done", "regex": ".", "respond": {"content": "Done."}}]}
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("probe target\n")
    # Listens on all interfaces, so that "blocked" is the sandbox's doing, not the bind's.
    with ScriptedServer(script, port=port, host="0.0.0.0") as upstream:
        endpoint = Endpoint(base_url=f"http://127.0.0.1:{upstream.port}/v1", model="gpt-4o-mini",
                            api_key=REAL_KEY)
        retry = RetryPolicy(attempts=2, initial_backoff=0.05, timeout=60)
        with Gateway(endpoint, Ledger(tmp_path / "ledger.db"), retry=retry) as gateway, \
                gateway.granted(run_id="probe", task_id=kind, role="agent") as grant:
            config = grant.apply(SandboxConfig(image=agent_image, timeout=600,
                                               writable_paths=["/workspace", "/task"]))
            with Sandbox(config) as box:
                grant.start_forwarder(box)
                box.copy_in(repo, "/workspace")
                run = run_agent(box, agent, "Run the probes.", timeout=600,
                                trajectory_dir=tmp_path / "trajectory")
        requests = len(upstream.requests)
    assert requests >= 2, run.output  # the agent reached the model, through the gateway
    added = [line[1:] for line in run.patch.splitlines() if line.startswith("+{")]
    assert added, f"no probe.json in the patch: {run.output[-1500:]}"
    found = json.loads(added[0])
    assert found["real_key_in_env"] is False and found["real_key_in_any_process"] is False
    assert found["keys"] and set(found["keys"]) == {"af-"}, found
    assert all(url.startswith("http://127.0.0.1:") for url in found["model_urls"]), found
    assert found["upstream"] == "blocked" and found["dns"] == "none", found
    kept = "".join(p.read_text(errors="replace") for p in (tmp_path / "trajectory").rglob("*")
                   if p.is_file())
    assert REAL_KEY not in kept and REAL_KEY not in run.output
