"""The seed agent (archive/base) in real sandboxes: its own tests, and a real bug fixed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from agentforge.agent_runner import load_agent, run_agent, run_agent_tests
from agentforge.paths import archive_dir
from agentforge.sandbox import Sandbox, SandboxConfig

BUGGY = "def add(a, b):\n    return a - b\n"
FIX_DIFF_LINES = ["-    return a - b", "+    return a + b"]

# The right tool calls for the fix, matched on what the agent shows the model.
FIX_SCRIPT = {"rules": [
    {"name": "look", "last_message_contains": "add() subtracts",
     "respond": {"tool_calls": [{"name": "view", "arguments": {"path": "calc.py"}}]}},
    {"name": "edit", "last_message_contains": "return a - b",
     "respond": {"tool_calls": [{"name": "str_replace", "arguments": {
         "path": "calc.py", "old_str": "return a - b", "new_str": "return a + b"}}]}},
    {"name": "test", "last_message_contains": "Edited calc.py",
     "respond": {"tool_calls": [{"name": "bash", "arguments": {
         "command": "python -m pytest -q -p no:cacheprovider test_calc.py"}}]}},
    {"name": "submit", "last_message_contains": "1 passed",
     "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "add() adds"}}]}},
]}


@pytest.fixture(scope="module")
def base_agent():
    return load_agent(archive_dir() / "base")


@pytest.mark.slow
def test_the_agents_own_tests_pass_in_a_sandbox(agent_image, base_agent):
    config = SandboxConfig(image=agent_image, labels={"agentforge.role": "agent-tests"})
    with Sandbox(config) as box:
        result = run_agent_tests(box, base_agent, timeout=300)
    assert result.ok, result.output[-4000:]
    summary = result.output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 20 and "skipped" not in summary, summary
    print(f"agent's own tests in the sandbox: {result.duration:.1f}s")
    # The target is under a minute; the bound is loose for a loaded CI machine.
    assert result.duration < 120, result.output[-2000:]


def _git_repo(path: Path) -> Path:
    path.mkdir()
    (path / "calc.py").write_text(BUGGY)
    (path / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@l", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@l", "HOME": str(path), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "buggy calc"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return path


@pytest.mark.slow
def test_the_agent_fixes_a_bug_through_the_gateway(agent_image, base_agent, tmp_path):
    from agentforge.llm.gateway import Gateway
    from agentforge.llm.ledger import Ledger
    from agentforge.llm.scripted import ScriptedServer
    from agentforge.llm.spec import Endpoint

    repo = _git_repo(tmp_path / "repo")
    ledger = Ledger(tmp_path / "ledger.db")
    with ScriptedServer(FIX_SCRIPT) as model:
        endpoint = Endpoint(base_url=model.base_url, model="scripted", api_key="upstream-key")
        with Gateway(endpoint, ledger) as gateway:
            grant = gateway.grant(run_id="base-agent-test", task_id="calc", role="agent")
            with Sandbox(grant.apply(SandboxConfig(image=agent_image))) as box:
                grant.start_forwarder(box)
                box.copy_in(repo, "/workspace")
                run = run_agent(box, base_agent, "add() subtracts instead of adding; fix it.",
                                args=["--strategy", "direct"], timeout=300,
                                trajectory_dir=tmp_path / "trajectory")
                framework_diff = box.exec(["git", "diff", "HEAD"], timeout=60,
                                          workdir="/workspace")
            gateway.flush()
        requests = list(model.requests)

    assert run.exit_code == 0, run.output
    assert run.stop_reason == "submitted", run.trajectory
    changed = [line for line in framework_diff.stdout.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == FIX_DIFF_LINES, framework_diff.output
    assert [line for line in run.patch.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))] == FIX_DIFF_LINES
    # The patch applies to the original repository (checked, not run, on the host).
    (tmp_path / "fix.diff").write_text(run.patch)
    subprocess.run(["git", "apply", "--check", str(tmp_path / "fix.diff")], cwd=repo, check=True)
    # Every model call went through the gateway, booked to this task.
    assert len(requests) == 4
    booked = ledger.calls(run_id="base-agent-test")
    assert len(booked) == 4 and {c.task_id for c in booked} == {"calc"}
    assert run.trajectory["usage"]["calls"] == 4
    assert (tmp_path / "trajectory" / "out" / "trajectory.json").is_file()


def test_load_agent_reads_agent_toml(base_agent, tmp_path):
    assert (base_agent.name, base_agent.entry) == ("base", "coding_agent")
    from agentforge.agent_runner import AgentError

    with pytest.raises(AgentError, match="no agent.toml"):
        load_agent(tmp_path)
    (tmp_path / "agent.toml").write_text('name = "x"\nentry = "missing_pkg"\n')
    with pytest.raises(AgentError, match="no such package"):
        load_agent(tmp_path)
