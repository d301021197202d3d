"""Which environment the tools act in, and how a channel that is not there is reported.

The remote environment against a real exec channel is tested by the framework
(tests/sandbox/test_exec_channel.py in agentforge): the channel needs Docker and agentforge,
which these tests, run inside a sandbox, do not have.
"""

from __future__ import annotations

import json

from coding_agent.environment import LocalEnvironment, RemoteEnvironment, open_environment
from coding_agent.settings import load_settings
from coding_agent.tools import Toolbox


def test_local_unless_the_framework_gives_a_channel(repo, monkeypatch):
    monkeypatch.delenv("AGENTFORGE_EXEC_URL", raising=False)
    assert isinstance(open_environment(repo), LocalEnvironment)
    monkeypatch.setenv("AGENTFORGE_EXEC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AGENTFORGE_EXEC_TOKEN", "ex-token")
    remote = open_environment("/testbed")
    assert isinstance(remote, RemoteEnvironment) and remote.token == "ex-token"
    assert remote.path("calc/../calc.py") == "/testbed/calc.py"
    assert remote.path("/etc/hosts") == "/etc/hosts"


def test_an_unreachable_channel_comes_back_to_the_model_as_an_error_text():
    settings = load_settings()
    # Nothing listens on port 9: every tool call fails, and says why, without raising.
    tools = Toolbox("/testbed", settings.limits, settings.tools,
                    env=RemoteEnvironment("/testbed", "http://127.0.0.1:9", "t"))
    for name, args in [("bash", {"command": "ls"}), ("view", {"path": "."}),
                       ("create", {"path": "a.py", "content": ""})]:
        result = tools.run(name, json.dumps(args))
        assert not result.ok and result.output.startswith(f"Error: {name} failed:")
