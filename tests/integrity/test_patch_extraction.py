"""Class 6: the agent shapes or races the framework's `git diff`. Leftover processes are
killed before the patch is taken, and git runs with a git directory of the framework's own,
so the agent's fsmonitor, hooks, external diff, textconv and prefixes do not apply."""

from __future__ import annotations

import pytest

from agentforge.agent_contract import load_agent_spec, run_agent
from agentforge.sandbox import Sandbox, SandboxConfig

# The agent: a real edit, then its git config rigged, then a detached writer left behind.
AGENT_MAIN = r'''
import subprocess
import sys
from pathlib import Path

repo = Path(sys.argv[sys.argv.index("--repo") + 1])
(repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
(repo / ".gitattributes").write_text("*.py diff=fake filter=fake\n")
for key, value in [
    ("core.fsmonitor", "sh -c 'echo fsmonitor > /workspace/fsmonitor_ran.txt'; true"),
    ("diff.mnemonicPrefix", "true"), ("diff.noprefix", "true"),
    ("diff.external", "sh -c 'echo external diff ran' --"),
    ("diff.fake.textconv", "sh -c 'echo textconv ran' --"),
    ("filter.fake.clean", "sh -c 'echo clean filter ran > /workspace/filter_ran.txt; cat'"),
]:
    subprocess.run(["git", "config", key, value], cwd=repo, check=True)
hook = repo / ".git" / "hooks" / "pre-commit"
hook.write_text("#!/bin/sh\necho hook > /workspace/hook_ran.txt\n")
hook.chmod(0o755)
subprocess.Popen(["setsid", "nohup", "sh", "-c",
                  "sleep 3; echo 'late' > /workspace/conftest.py"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
'''


@pytest.fixture
def rigging_agent(tmp_path):
    folder = tmp_path / "agent"
    (folder / "rigging_agent").mkdir(parents=True)
    (folder / "agent.toml").write_text(
        'name = "rigging"\nentry = "rigging_agent"\ndescription = "rigs its git config"\n')
    (folder / "rigging_agent" / "__init__.py").write_text("")
    (folder / "rigging_agent" / "__main__.py").write_text(AGENT_MAIN)
    return load_agent_spec(folder)


@pytest.mark.docker
def test_patch_is_taken_with_the_agents_git_config_neutralized(agent_image, rigging_agent,
                                                                 tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        box.copy_in(repo, "/workspace")
        run = run_agent(box, rigging_agent, "fix add", timeout=120,
                        env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
        box.exec(["sleep", "4"], timeout=30)
        late = box.exec(["ls", "/workspace"], timeout=30).stdout.split()
    assert "diff --git a/calc.py b/calc.py" in run.patch, run.patch
    assert "+    return a + b" in run.patch
    for trace in ("external diff ran", "textconv ran", "fsmonitor_ran", "filter_ran", "hook_ran"):
        assert trace not in run.patch, f"{trace}: the agent's git config shaped the patch"
    assert "conftest.py" not in late, "a process the agent left behind kept writing"
    assert not {"fsmonitor_ran.txt", "filter_ran.txt", "hook_ran.txt"} & set(late)
