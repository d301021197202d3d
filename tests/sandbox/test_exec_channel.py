"""The exec channel: the seed agent's tools, running in one sandbox, act in another.

Both sandboxes are real containers; the agent's side talks real HTTP through the loopback
forwarder to the host's unix socket, and every operation lands in the task sandbox.
"""

from __future__ import annotations

import json

import pytest

from agentforge.paths import archive_dir
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.exec_channel import ExecChannel

# Runs in the agent's sandbox: the seed agent's tools in their remote environment.
TOOLS_SCRIPT = """
import json, sys
from coding_agent.settings import load_settings
from coding_agent.tools import Toolbox
settings = load_settings()
tools = Toolbox("/workspace", settings.limits, settings.tools)
results = {}
for name, args in json.loads(sys.argv[1]):
    result = tools.run(name, json.dumps(args))
    results.setdefault(name, []).append([result.ok, result.output])
print(json.dumps({"env": type(tools.env).__name__, "results": results}))
"""

# Runs in the agent's sandbox: a raw request with a token of our choosing.
RAW_SCRIPT = """
import json, os, sys, urllib.request, urllib.error
request = urllib.request.Request(os.environ["AGENTFORGE_EXEC_URL"] + "/exec", method="POST",
    data=json.dumps({"cmd": "touch /workspace/pwned"}).encode(),
    headers={"Authorization": "Bearer " + sys.argv[1]})
try:
    urllib.request.urlopen(request, timeout=60)
    print("accepted")
except urllib.error.HTTPError as exc:
    print(exc.code, json.loads(exc.read())["error"])
"""


@pytest.fixture
def channel_pair(agent_image):
    """A task sandbox holding a repo and a marker file, its channel, and an agent sandbox."""
    with Sandbox(SandboxConfig(image=agent_image)) as task_box, ExecChannel(task_box) as channel:
        task_box.write_files("/workspace", {"calc.py": "def add(a, b):\n    return a - b\n",
                                            "only-in-task-box.txt": "task sandbox\n"})
        task_box.write_files("/workspace", {"run.sh": "#!/bin/sh\necho hi\n"}, mode=0o755)
        with Sandbox(channel.apply(SandboxConfig(image=agent_image))) as agent_box:
            channel.start_forwarder(agent_box)
            agent_box.copy_in(archive_dir() / "base", "/task/agent")
            yield task_box, channel, agent_box


def _tools(agent_box: Sandbox, calls: list) -> dict:
    done = agent_box.exec(["python", "-c", TOOLS_SCRIPT, json.dumps(calls)], timeout=300,
                          workdir="/task/agent", env={"PYTHONPATH": "/task/agent"})
    assert done.ok, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_seed_agents_tools_act_in_the_task_sandbox(channel_pair):
    task_box, _channel, agent_box = channel_pair
    # The agent's own sandbox has no such file: only the task sandbox does.
    assert not agent_box.exec("test -e /workspace/only-in-task-box.txt").ok
    out = _tools(agent_box, [
        ["bash", {"command": "cat only-in-task-box.txt && pwd && ls /sys/class/net"}],
        ["view", {"path": "."}],
        ["view", {"path": "calc.py", "start_line": 2}],
        ["str_replace", {"path": "calc.py", "old_str": "a - b", "new_str": "a + b"}],
        ["str_replace", {"path": "run.sh", "old_str": "hi", "new_str": "hello"}],
        ["create", {"path": "pkg/new.py", "content": "X = 1\n"}],
        ["view", {"path": "nope.py"}],
        ["bash", {"command": "sleep 60", "timeout": 2}],
        ["bash", {"command": "./run.sh"}],
    ])
    assert out["env"] == "RemoteEnvironment"
    results = out["results"]
    ok, text = results["bash"][0]
    # The command ran in the task sandbox, in its repo, and that sandbox has no network.
    assert ok and "task sandbox" in text and "/workspace" in text
    assert text.split()[-1] == "lo"
    assert results["view"][0][1].split() == ["calc.py", "only-in-task-box.txt", "run.sh"]
    assert results["view"][1] == [True, "     2\t    return a - b"]
    assert results["view"][2][0] is False and "does not exist" in results["view"][2][1]
    assert all(ok for ok, _ in results["str_replace"]) and results["create"][0][0]
    timed_out = results["bash"][1]
    assert not timed_out[0] and "timed out after 2s" in timed_out[1]
    # The edited script kept its executable bit.
    assert results["bash"][2] == [True, "exit code: 0\nhello\n"]
    assert task_box.read_file("/workspace/calc.py").decode().endswith("return a + b\n")
    assert task_box.read_file("/workspace/pkg/new.py") == b"X = 1\n"


@pytest.mark.slow
def test_the_channel_refuses_a_wrong_token(channel_pair):
    task_box, channel, agent_box = channel_pair
    for token in ("", "ex-wrong", channel.token[:-1]):
        done = agent_box.exec(["python", "-c", RAW_SCRIPT, token], timeout=120)
        assert done.stdout.startswith("401 wrong or missing token"), done.output
    assert not task_box.exec("test -e /workspace/pwned").ok
    done = agent_box.exec(["python", "-c", RAW_SCRIPT, channel.token], timeout=120)
    assert done.stdout.strip() == "accepted", done.output
    assert task_box.exec("test -e /workspace/pwned").ok
