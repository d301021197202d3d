"""`bench run`'s model access: every grant it made is revoked when the run ends."""

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


def test_grants_of_a_bench_run_are_revoked_when_it_ends(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": [{"respond": {"content": "hi"}}]}))
    task = Task(instance_id="t1", benchmark="local", problem_statement="p",
                check=Check(kind=CheckKind.EXIT_CODE, test_command="true"))
    with gateway_for_run(f"scripted:{script}", tmp_path / "out", "run-1") as grant_for:
        first, second = grant_for(task), grant_for(task)
        gateway = first.gateway
        first.revoke()  # what each attempt does when it ends (bench/runner.run_one)
        assert gateway.live_grants() == 1 and not first.socket_dir.exists()
        assert ask_on_socket(second) == 200
    assert gateway.live_grants() == 0  # the one left over is revoked with the run
    assert not second.socket_dir.exists()
