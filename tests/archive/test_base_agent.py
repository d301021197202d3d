"""The seed agent (archive/base) in real sandboxes: its own tests, and a real bug fixed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from agentforge.agent_contract import (
    install_agent,
    install_scripted_server,
    load_agent_spec,
    run_agent,
)
from agentforge.evolve.validation.checks import run_own_tests
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
    return load_agent_spec(archive_dir() / "base")


@pytest.mark.slow
def test_the_agents_own_tests_pass_in_a_sandbox(agent_image, base_agent):
    config = SandboxConfig(image=agent_image, labels={"agentforge.role": "agent-tests"})
    with Sandbox(config) as box:
        install_agent(box, base_agent)
        result = run_own_tests(box, base_agent, None, timeout=900)  # a run's validate_timeout
    # As validation runs them: the grader's launcher and guard, per-test report.
    assert result.reason is None, result.output[-4000:]
    assert result.counts.get("passed", 0) >= 20 and "skipped" not in result.counts, result.counts
    # The target (under a minute) is measured by perf/agent_tests.py, not asserted here:
    # on a loaded machine the same suite can take twice as long.
    print(f"agent's own tests in the sandbox: {result.duration:.1f}s")


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


def _run_through_gateway(agent, image: str, script: dict, tmp_path: Path, args: list[str]):
    """Run the agent on the buggy repository in a sandbox, the model behind the gateway."""
    from agentforge.llm.gateway import Gateway
    from agentforge.llm.ledger import Ledger
    from agentforge.llm.scripted import ScriptedServer
    from agentforge.llm.spec import Endpoint

    repo = _git_repo(tmp_path / "repo")
    ledger = Ledger(tmp_path / "ledger.db")
    with ScriptedServer(script) as model:
        endpoint = Endpoint(base_url=model.base_url, model="scripted", api_key="upstream-key")
        with Gateway(endpoint, ledger) as gateway:
            grant = gateway.grant(run_id="base-agent-test", task_id="calc", role="agent")
            with Sandbox(grant.apply(SandboxConfig(image=image))) as box:
                grant.start_forwarder(box)
                box.copy_in(repo, "/workspace")
                run = run_agent(box, agent, "add() subtracts instead of adding; fix it.",
                                args=args, timeout=300, trajectory_dir=tmp_path / "trajectory")
                # The framework's own look at the repository, independent of the runner.
                diff = box.exec(["git", "diff", "HEAD"], timeout=60, workdir="/workspace")
            gateway.flush()
        return run, diff.stdout, list(model.requests), ledger.calls(run_id="base-agent-test"), repo


def _changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.slow
def test_the_agent_fixes_a_bug_through_the_gateway(agent_image, base_agent, tmp_path):
    run, diff, requests, booked, repo = _run_through_gateway(
        base_agent, agent_image, FIX_SCRIPT, tmp_path, ["--strategy", "direct"])
    assert run.exit_code == 0, run.output
    assert run.stop_reason == "submitted", run.trajectory
    assert _changed_lines(diff) == FIX_DIFF_LINES, diff
    assert _changed_lines(run.patch) == FIX_DIFF_LINES
    # The patch applies to the original repository (checked, not run, on the host).
    (tmp_path / "fix.diff").write_text(run.patch)
    subprocess.run(["git", "apply", "--check", str(tmp_path / "fix.diff")], cwd=repo, check=True)
    # Every model call went through the gateway, booked to this task.
    assert len(requests) == 4
    assert len(booked) == 4 and {c.task_id for c in booked} == {"calc"}
    assert run.trajectory["usage"]["calls"] == 4
    assert (tmp_path / "trajectory" / "out" / "trajectory.json").is_file()


# The default strategy end to end: meta-reasoning ranks meta-prompting first, the conductor
# hands the fix to the Engineer expert, which edits the repository with its tools.
CONDUCTED_SCRIPT = {"rules": [
    {"name": "rank", "system_contains": "@@ranking",
     "respond": {"content": "@@ranking\nmeta-prompting\ndirect-edit\n@@end"}},
    {"name": "delegate", "system_contains": "@@consult", "not_contains": "ENGINEER-DONE",
     "respond": {"content": "@@consult Engineer\nINSTR: make add() in calc.py add.\n@@end"}},
    {"name": "finish", "system_contains": "@@consult", "last_message_contains": "ENGINEER-DONE",
     "respond": {"content": "@@final_answer\nadd() fixed by the Engineer\n@@end"}},
    {"name": "engineer edits", "tools_offered": "bash", "last_message_contains": "INSTR:",
     "respond": {"tool_calls": [{"name": "str_replace", "arguments": {
         "path": "calc.py", "old_str": "a - b", "new_str": "a + b"}}]}},
    {"name": "engineer reports", "tools_offered": "bash",
     "last_message_contains": "Edited calc.py",
     "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "ENGINEER-DONE"}}]}},
]}


@pytest.mark.slow
def test_the_default_strategy_chooses_conducts_and_fixes(agent_image, base_agent, tmp_path):
    run, diff, requests, booked, _repo = _run_through_gateway(
        base_agent, agent_image, CONDUCTED_SCRIPT, tmp_path, [])
    assert run.exit_code == 0, run.output
    assert (run.stop_reason, run.trajectory["strategy"]) == ("final_answer", "meta-reasoning")
    assert _changed_lines(diff) == FIX_DIFF_LINES
    kinds = {d["kind"]: d for d in run.trajectory["decisions"]}
    assert kinds["approach_ranking"]["ranking"][0] == "meta-prompting"
    assert kinds["approach_choice"]["chosen"] == "meta-prompting"
    assert kinds["consultation"]["expert"] == "Engineer"
    assert len(requests) == len(booked) == 5  # rank, conduct, 2 engineer turns, conduct


# Self-improvement uses the same contract: the repository is the agent's own source. The
# agent must be able to run its own tests there (the runner provides the scripted server).
SELF_TEST_SCRIPT = {"rules": [
    {"name": "run own tests", "last_message_contains": "Check your own tests",
     "respond": {"tool_calls": [{"name": "bash", "arguments": {
         "command": "python -m pytest -p no:cacheprovider tests/test_tools.py"}}]}},
    {"name": "report", "tools_offered": "bash", "last_message_contains": "passed",
     "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "own tests pass"}}]}},
]}


@pytest.mark.slow
def test_the_agent_runs_its_own_tests_on_its_own_source(agent_image, base_agent, tmp_path):
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        box.copy_in(base_agent.path, "/workspace")
        # The scripted model runs inside the sandbox on loopback for this test.
        server = install_scripted_server(box)
        box.write_files("/task/lib", {"script.json": json.dumps(SELF_TEST_SCRIPT)})
        box.start_background(["python", server, "--script", "/task/lib/script.json",
                              "--port", "0", "--port-file", "/tmp/model-port"])
        waited = box.exec("for i in $(seq 300); do [ -s /tmp/model-port ] && "
                          "exec cat /tmp/model-port; sleep 0.2; done; exit 1", timeout=120)
        assert waited.ok, "the scripted model did not start in the sandbox"
        port = waited.stdout.strip()
        run = run_agent(box, base_agent, "Check your own tests.", args=["--strategy", "direct"],
                        env={"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}, timeout=300)
    assert run.exit_code == 0, run.output
    assert run.stop_reason == "submitted", run.trajectory
    [bash] = [c for c in run.trajectory["tool_calls"] if c["name"] == "bash"]
    assert bash["ok"] and " passed" in bash["output"], bash["output"]
    assert run.patch == ""  # running the tests left no change in the source


def test_load_agent_spec_reads_agent_toml(base_agent, tmp_path):
    assert (base_agent.name, base_agent.entry) == ("base", "coding_agent")
    from agentforge.agent_contract import AgentError

    with pytest.raises(AgentError, match="no agent.toml"):
        load_agent_spec(tmp_path)
    (tmp_path / "agent.toml").write_text('name = "x"\nentry = "missing_pkg"\n')
    with pytest.raises(AgentError, match="no such package"):
        load_agent_spec(tmp_path)
