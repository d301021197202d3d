"""Which contract an agent directory follows, what each runs, and the refusals (no Docker)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from own_agents import write_command_agent, write_dgm_agent, write_dgm_checkout

from agentforge.contracts import detect_contract, get_contract, load_agent_spec
from agentforge.contracts.dgm import hgm_model_name
from agentforge.contracts.spec import AgentCall, AgentError, ModelAccess
from agentforge.paths import archive_dir

CALL = AgentCall(agent_dir="/task/agent", repo="/workspace", problem_file="/task/problem.md",
                 problem="Fix add()", out_dir="/task/out", base_commit="abc123",
                 model="Qwen/Qwen2.5-Coder", timeout=600.0)
ACCESS = ModelAccess(base_url="http://127.0.0.1:8765/v1", key="af-token", model="Qwen/Q")


def test_each_contract_is_declared_or_detected(tmp_path):
    assert detect_contract(archive_dir() / "base") == "agentforge"
    assert detect_contract(write_dgm_agent(tmp_path / "dgm")) == "dgm"
    assert detect_contract(write_dgm_checkout(tmp_path / "checkout")) == "dgm"
    assert detect_contract(write_dgm_agent(tmp_path / "hgm", hgm=True)) == "hgm"
    assert detect_contract(write_command_agent(tmp_path / "cli")) == "command"
    # An export's manifest names the contract it was exported with.
    exported = write_dgm_agent(tmp_path / "exported")
    (exported / "agentforge-agent.json").write_text('{"contract": "hgm"}')
    assert detect_contract(exported) == "hgm"


def test_dgm_and_hgm_run_with_their_harness_command_line(tmp_path):
    dgm = load_agent_spec(write_dgm_agent(tmp_path / "dgm"))
    command = get_contract("dgm").command(dgm, CALL)
    assert command[:2] == ["python", "/task/agent/coding_agent.py"]
    flags = dict(zip(command[2::2], command[3::2], strict=False))
    assert flags["--problem_statement"] == "Fix add()" and flags["--git_dir"] == "/workspace"
    assert flags["--base_commit"] == "abc123" and flags["--outdir"] == "/task/out"
    assert flags["--chat_history_file"] == "/task/out/chat_history.md"
    assert "--self_improve" not in command and "--model" not in command
    own = get_contract("dgm").command(dgm, AgentCall(**{**CALL.__dict__, "self_edit": True}))
    assert own[-1] == "--self_improve" and "cd /workspace && python -m pytest" in " ".join(own)
    hgm = load_agent_spec(write_dgm_agent(tmp_path / "hgm", hgm=True))
    command = get_contract("hgm").command(hgm, CALL)
    assert command[-4:] == ["--model", "gpt@Qwen/Qwen2.5-Coder", "--timeout", "600"]
    assert (dgm.entry, hgm.entry) == ("coding_agent", "coding_agent")


def test_hgm_model_names_take_its_openai_route():
    assert hgm_model_name("gpt-4o-mini") == "gpt-4o-mini"
    assert hgm_model_name("o3-mini") == "o3-mini"
    assert hgm_model_name("scripted") == "gpt@scripted"   # else HGM would call OpenRouter


def test_the_model_is_reached_under_the_names_each_client_reads(tmp_path):
    for contract in ("agentforge", "dgm", "hgm"):
        env = get_contract(contract).model_env(None, ACCESS)
        assert env == {"OPENAI_BASE_URL": ACCESS.base_url, "OPENAI_API_KEY": "af-token",
                       "AGENTFORGE_MODEL": "Qwen/Q"}
    cli = load_agent_spec(write_command_agent(tmp_path / "cli"))
    env = get_contract("command").model_env(cli, ACCESS)
    assert env["LLM_BASE_URL"] == env["OPENAI_API_BASE"] == ACCESS.base_url
    assert (env["LLM_API_KEY"], env["LLM_MODEL"]) == ("af-token", "Qwen/Q")


def test_a_command_template_is_filled_argument_by_argument(tmp_path):
    cli = load_agent_spec(write_command_agent(tmp_path / "cli"))
    hostile = AgentCall(**{**CALL.__dict__, "problem": "$(rm -rf /); `id`"})
    assert get_contract("command").command(cli, hostile) == [
        "python", "solve.py", "--issue", "/task/problem.md", "--workdir", "/workspace",
        "--logs", "/task/out"]
    assert get_contract("command").test_command(cli)[:3] == ["python", "-m", "pytest"]


@pytest.mark.parametrize(("toml", "message"), [
    ('contract = "command"\nname = "x"\n', "has no command"),
    ('contract = "command"\nname = "x"\ncommand = "run {problem} {repo} {workspace}"\n',
     "unknown placeholders workspace"),
    ('contract = "command"\nname = "x"\ncommand = "run {problem}"\n', "lacks {repo}"),
    ('contract = "command"\nname = "x"\ncommand = "run \'{problem} {repo}"\n',
     "cannot be split"),
    ('contract = "command"\nname = "x"\ncommand = "run {problem} {repo}"\n'
     '[model_env]\nKEY = "password"\n', "each variable takes one of base_url, key, model"),
    ('contract = "langchain"\nname = "x"\n', "unknown agent contract 'langchain'"),
    ('name = "x"\nentry = "missing"\n', "names entry 'missing' but"),
    ('name = "x"\nentry = "pkg"\nextra = 1\n', "extra"),
    ("name = [\n", "not valid TOML"),
])
def test_bad_declarations_are_refused_with_what_to_write(tmp_path, toml, message):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "agent.toml").write_text(toml)
    with pytest.raises(AgentError, match=message):
        load_agent_spec(tmp_path)


def test_a_folder_matching_no_contract_is_refused_with_what_each_needs(tmp_path):
    (tmp_path / "main.py").write_text("print('an agent?')\n")
    with pytest.raises(AgentError) as refused:
        load_agent_spec(tmp_path)
    text = str(refused.value)
    assert "matches no agent contract" in text and "no agent.toml" in text
    for needed in ("agentforge: agent.toml", "dgm / hgm", "coding_agent.py",
                   'command: agent.toml with contract = "command"', "Bringing your own agent"):
        assert needed in text
    with pytest.raises(AgentError, match="has no coding_agent.py"):
        load_agent_spec(tmp_path, contract="dgm")


def test_the_cli_refuses_such_a_folder_for_every_command_that_takes_an_agent(tmp_path):
    (tmp_path / "main.py").write_text("print('an agent?')\n")
    (tmp_path / "model.json").write_text('{"rules": []}')
    scripted = f'spec = "scripted:{tmp_path / "model.json"}"'
    (tmp_path / "run.toml").write_text(f'[llm.diagnose]\n{scripted}\n[llm.agent]\n{scripted}\n'
                                       '[benchmark]\nname = "local"\nsubset = "smoke"\n')
    for args in (["agent", "test", str(tmp_path)],
                 ["agent", "run", str(tmp_path), "--repo", str(tmp_path), "--problem",
                  str(tmp_path / "main.py"), "--model", "scripted:none.json"],
                 ["bench", "run", "--benchmark", "local", "--subset", "smoke", "--agent",
                  str(tmp_path), "--out", str(tmp_path / "out")],
                 ["evolve", "--config", str(tmp_path / "run.toml"), "--run-dir",
                  str(tmp_path / "run"), "--seed", str(tmp_path)]):
        done = subprocess.run([sys.executable, "-m", "agentforge", *args], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode != 0, args
        assert "matches no agent contract" in done.stderr, (args, done.stderr[-800:])
