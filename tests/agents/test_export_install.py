"""The export is a real package: `pip install` it, then its contract entry point runs against
the scripted model over HTTP (through the gateway, in a sandbox: agent code never runs on the
host)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from agentforge.agents.export import export_agent
from agentforge.examples.offline_demo import MARKER
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
            ran = box.exec(["python", "-m", "fixture_run_node_2", "--repo", "/workspace",
                            "--problem", "/task/problem.md", "--out", "/task/out",
                            "--strategy", "direct"], timeout=300, workdir="/", env=env)
            assert ran.exit_code == 0, ran.output
            fixed = box.read_file("/workspace/calc.py")
            trajectory = json.loads(box.read_file("/task/out/trajectory.json"))
    assert b"return a + b" in fixed
    assert trajectory["stop_reason"] == "submitted"


@pytest.mark.slow
def test_two_exports_install_side_by_side_in_one_environment(agent_image, finished_run,
                                                              tmp_path):
    seed = export_agent(f"{finished_run}@1", tmp_path / "seed")
    best = export_agent(f"{finished_run}@2", tmp_path / "best")
    with Sandbox(SandboxConfig(image=agent_image, timeout=600)) as box:
        box.copy_in(seed, "/task/seed")
        box.copy_in(best, "/task/best")
        made = box.exec(["python", "-m", "venv", "--system-site-packages", "/tmp/env"],
                        timeout=300, workdir="/tmp")
        assert made.exit_code == 0, made.output
        for folder in ("/task/seed", "/task/best"):  # the legacy path, as above
            installed = box.exec(["/tmp/env/bin/python", "-m", "pip", "install", "-q",
                                  "--no-deps", "--no-build-isolation", "--no-use-pep517",
                                  "--no-index", folder], timeout=300, workdir="/tmp")
            assert installed.exit_code == 0, installed.output
        listed = box.exec(["/tmp/env/bin/python", "-m", "pip", "list"], timeout=120,
                          workdir="/tmp").stdout
        assert "fixture-run-node-1" in listed and "fixture-run-node-2" in listed
        # Each runs its own copy of the agent: only node 2's prompt has the checklist.
        show = ("import importlib.util, pathlib, sys; spec = importlib.util.find_spec("
                "sys.argv[1]); print(pathlib.Path(spec.origin).parent)")
        configs = {}
        for module in ("fixture_run_node_1", "fixture_run_node_2"):
            where = box.exec(["/tmp/env/bin/python", "-c", show, module], timeout=60,
                             workdir="/").stdout.strip()
            # (cat, not read_file: /tmp is a tmpfs, which Docker's archive API cannot read)
            configs[module] = box.exec(["cat", f"{where}/coding_agent/config.toml"],
                                       timeout=60, workdir="/").stdout
            helped = box.exec(["/tmp/env/bin/python", "-m", module, "--help"], timeout=60,
                              workdir="/")
            assert helped.exit_code == 0 and "--problem" in helped.stdout, helped.output
    assert MARKER not in configs["fixture_run_node_1"]
    assert MARKER in configs["fixture_run_node_2"]
