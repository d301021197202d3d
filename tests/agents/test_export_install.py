"""The export is a real package: `pip install` it, then its contract entry point runs against
the scripted model over HTTP (through the gateway, in a sandbox: agent code never runs on the
host)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from agentforge.agents.export import export_agent
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.spec import resolve_endpoint
from agentforge.sandbox import Sandbox, SandboxConfig

FIX_SCRIPT = {"rules": [
    {"name": "rank", "system_contains": "@@ranking",
     "respond": {"content": "@@ranking\ndirect-edit\nmeta-prompting\n@@end"}},
    {"last_message_contains": "add() subtracts",
     "respond": {"tool_calls": [{"name": "str_replace", "arguments": {
         "path": "calc.py", "old_str": "a - b", "new_str": "a + b"}}]}},
    {"last_message_contains": "Edited calc.py",
     "respond": {"tool_calls": [{"name": "submit", "arguments": {"summary": "fixed"}}]}},
]}


@pytest.mark.slow
def test_pip_installed_export_runs_by_the_contract(agent_image, finished_run, tmp_path):
    out = export_agent(f"{finished_run}@best", tmp_path / "export")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    script = tmp_path / "script.json"
    script.write_text(json.dumps(FIX_SCRIPT))
    with Gateway(resolve_endpoint(f"scripted:{script}"),
                 Ledger(tmp_path / "ledger.sqlite")) as gateway:
        grant = gateway.grant(run_id=f"install-{uuid.uuid4().hex[:6]}", role="agent")
        with Sandbox(grant.apply(SandboxConfig(image=agent_image, timeout=600))) as box:
            grant.start_forwarder(box)
            box.copy_in(out, "/task/export")
            box.copy_in(repo, "/workspace")
            box.write_files("/task", {"problem.md": "add() subtracts instead of adding"})
            # The runtime image has no `wheel` and no network: pip's legacy install path
            # (the export's setup.py shim), dependencies from the image.
            installed = box.exec(["python", "-m", "pip", "install", "-q", "--no-deps",
                                  "--no-build-isolation", "--no-use-pep517", "--no-index",
                                  "--target",
                                  "/tmp/site", "/task/export"], timeout=300, workdir="/tmp")
            assert installed.exit_code == 0, installed.output
            env = {"PYTHONPATH": "/tmp/site"}
            where = box.exec(["python", "-c", "import coding_agent, pathlib; "
                              "print(pathlib.Path(coding_agent.__file__).parent)"],
                             timeout=60, workdir="/", env=env)
            assert where.stdout.strip() == "/tmp/site/coding_agent", where.output
            ran = box.exec(["python", "-m", "coding_agent", "--repo", "/workspace", "--problem",
                            "/task/problem.md", "--out", "/task/out", "--strategy", "direct"],
                           timeout=300, workdir="/", env=env)
            assert ran.exit_code == 0, ran.output
            fixed = box.read_file("/workspace/calc.py")
            trajectory = json.loads(box.read_file("/task/out/trajectory.json"))
    assert b"return a + b" in fixed
    assert trajectory["stop_reason"] == "submitted"
