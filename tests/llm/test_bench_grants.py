"""`bench run`'s model access: one grant per attempt, revoked and booked when it ends."""

from __future__ import annotations

import http.client
import json
import socket

from agentforge.bench.task import Check, CheckKind, Task
from agentforge.commands.bench_gateway import gateway_for_run


def ask_on_socket(grant) -> int:
    """One chat request on the grant's own socket, as its sandbox would send it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(str(grant.socket_dir / "gateway.sock"))
    connection = http.client.HTTPConnection("gateway")
    connection.sock = sock
    connection.request("POST", "/v1/chat/completions", json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "x"}]}),
        {"Authorization": f"Bearer {grant.token}", "Content-Type": "application/json"})
    return connection.getresponse().status


def test_each_attempt_of_a_bench_run_has_its_own_grant_revoked_when_it_ends(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"respond": {"content": "hi"}}]}))
    task = Task(instance_id="t1", benchmark="local", problem_statement="p",
                check=Check(kind=CheckKind.EXIT_CODE, test_command="true"))
    with gateway_for_run(f"scripted:{script}", tmp_path / "out", "run-1") as grants:
        with grants(task) as first:  # what each attempt does (bench/run.run_one)
            gateway = first.gateway
            assert ask_on_socket(first) == 200
        assert gateway.live_grants() == 0 and not first.socket_dir.exists()
        with grants(task) as second:  # the retry: a live key of its own
            assert second.token != first.token and ask_on_socket(second) == 200
        assert gateway.live_grants() == 0 and not second.socket_dir.exists()
        assert len(gateway.ledger.calls(run_id="run-1", task_id="t1")) == 2
