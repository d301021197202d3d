"""Agents the tests write for each contract, from scratch: a DGM-contract agent with DGM's
command line and file layout, an HGM-contract one (HGM's adds --model and --timeout), and a
command-line agent whose client reads its own variable names.

All three share one small tool loop (a `bash` tool, the `openai` client of the agent image:
chat completions, or for the HGM-contract agent OpenAI's Responses API, as HGM's llm_withtools
calls it) and one data file the scripted model's self-modification edits,
`checklist.txt`, whose lines join the system prompt. Their own tests exercise the tools and
the patch code without a model, as DGM's and HGM's do.

    write_dgm_agent(folder)            coding_agent.py, llm_withtools.py, tools/, utils/, tests/
    write_dgm_agent(folder, hgm=True)  the same with --model/--timeout, HGM's llm.py routing
                                       and its Responses API calls
    write_command_agent(folder)        agent.toml (contract = "command"), solve.py, tests/
    write_dgm_checkout(folder)         the agent plus DGM's outer-loop files (an import's --base)
"""

from __future__ import annotations

from pathlib import Path

CHECKLIST = "checklist.txt"

TOOL_LOOP = '''"""A tool loop: the model answers with bash calls until it answers with text."""

import json
import os
import subprocess
from pathlib import Path

import openai

HERE = Path(__file__).resolve().parent
SYSTEM = "You are a careful coding agent. Change files with the bash tool, then say done."
BASH = {"type": "function", "function": {
    "name": "bash", "description": "Run a bash command in the repository.",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                   "required": ["command"]}}}


def system_prompt():
    """The base prompt plus the checklist's lines (the file self-modification edits)."""
    checklist = HERE / "checklist.txt"
    extra = checklist.read_text() if checklist.is_file() else ""
    return SYSTEM + ("\\n" + extra if extra.strip() else "")


def run_bash(command, cwd):
    """Run one command; its exit code and output as the tool's answer."""
    try:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        return "exit code: 124\\ntimed out"
    return f"exit code: {done.returncode}\\n{(done.stdout + done.stderr)[-4000:]}"


def chat_with_agent(task, repo, model, client=None, max_steps=12):
    """Work on `task` in `repo`; the conversation as a list of messages."""
    client = client or openai.OpenAI(max_retries=1, timeout=120)
    messages = [{"role": "system", "content": system_prompt()},
                {"role": "user", "content": task}]
    for _ in range(max_steps):
        reply = client.chat.completions.create(model=model, messages=messages, tools=[BASH])
        message = reply.choices[0].message
        calls = message.tool_calls or []
        messages.append({"role": "assistant", "content": message.content or "", "tool_calls": [
            {"id": c.id, "type": "function",
             "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in calls]} if calls else {"role": "assistant", "content": message.content or ""})
        if not calls:
            break
        for call in calls:
            command = json.loads(call.function.arguments or "{}").get("command", "")
            messages.append({"role": "tool", "tool_call_id": call.id,
                             "content": run_bash(command, repo)})
    return messages


def chat_with_agent_responses(task, repo, model, client=None, max_steps=12):
    """The same loop over the Responses API: function tools, the model's calls sent back as
    the client returned them, each followed by its output."""
    client = client or openai.OpenAI(max_retries=1, timeout=120)
    tool = {"type": "function", **BASH["function"]}
    items = [{"role": "system", "content": system_prompt()},
             {"role": "user", "content": [{"type": "input_text", "text": task}]}]
    for _ in range(max_steps):
        reply = client.responses.create(model=model, input=items, tools=[tool],
                                        tool_choice="auto", parallel_tool_calls=False)
        calls = [item for item in reply.output if item.type == "function_call"]
        if not calls:
            items.append({"role": "assistant", "content": reply.output_text})
            break
        for call in calls:
            command = json.loads(call.arguments or "{}").get("command", "")
            items += [call, {"type": "function_call_output", "call_id": call.call_id,
                             "output": run_bash(command, repo)}]
    return [item if isinstance(item, dict) else item.model_dump() for item in items]


def write_history(messages, path):
    """The conversation as markdown (DGM's chat history file)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\\n\\n".join(
        f"## {m.get('role') or m.get('type')}\\n{m.get('content') or m.get('output') or ''}"
        for m in messages))


def model_name():
    return os.environ.get("AGENTFORGE_MODEL", "gpt-4o-mini")
'''

GIT_UTILS = '''"""The patch of a run: the repository's diff against the commit it started from."""

import subprocess


def diff_versus_commit(git_dir, commit):
    subprocess.run(["git", "-C", git_dir, "add", "-A"], capture_output=True)
    done = subprocess.run(["git", "-C", git_dir, "diff", "--cached", commit],
                          capture_output=True, text=True)
    return done.stdout
'''

CODING_AGENT = '''"""The agent's entry, with DGM's command line{hgm_note}."""

import argparse
import os

from llm_withtools import {loop}, write_history{model_import}
from utils.git_utils import diff_versus_commit


def main():
    parser = argparse.ArgumentParser(description="Work on a repository with a model.")
    parser.add_argument("--problem_statement", required=True)
    parser.add_argument("--git_dir", required=True)
    parser.add_argument("--base_commit", required=True)
    parser.add_argument("--chat_history_file", required=True)
    parser.add_argument("--outdir", required=False, default="/dgm/")
    parser.add_argument("--test_description", default=None, required=False)
    parser.add_argument("--self_improve", default=False, action="store_true")
    parser.add_argument("--instance_id", default=None){hgm_args}
    args = parser.parse_args()
    task = args.problem_statement
    if args.test_description:
        task += "\\n\\n" + args.test_description
    messages = {loop}(task, args.git_dir, {model_expr})
    write_history(messages, args.chat_history_file)
    patch = diff_versus_commit(args.git_dir, args.base_commit)
    with open(os.path.join(args.outdir, "model_patch.diff"), "w") as handle:
        handle.write(patch)


if __name__ == "__main__":
    main()
'''

HGM_ARGS = '''
    parser.add_argument("--model", required=False, default="gpt-4o-mini")
    parser.add_argument("--timeout", type=int, default=3600)'''

HGM_LLM = '''"""HGM's client routing, as its llm.py does it: names with gpt (or starting
with o) go to the OpenAI client, which reads OPENAI_BASE_URL and OPENAI_API_KEY."""

import openai


def create_client(model):
    if "gpt" in model or model.startswith("o"):
        return openai.OpenAI(max_retries=1, timeout=120), model
    raise ValueError(f"{model}: this agent reaches only OpenAI-compatible endpoints")
'''

TOOL_TESTS = '''from llm_withtools import run_bash, system_prompt
from utils.git_utils import diff_versus_commit


def test_bash_reports_exit_code_and_output(tmp_path):
    assert run_bash("echo hello && exit 3", tmp_path).startswith("exit code: 3\\nhello")


def test_the_checklist_joins_the_system_prompt():
    assert system_prompt().startswith("You are a careful coding agent.")


def test_the_patch_holds_new_files(tmp_path):
    import subprocess
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "base"], check=True)
    base = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "new.txt").write_text("x\\n")
    assert "+x" in diff_versus_commit(str(tmp_path), base)
'''

DGM_OUTER = {"DGM_outer.py": "# the outer loop (not part of the agent: .dockerignore)\n",
             "self_improve_step.py": "# one self-improvement step (not part of the agent)\n",
             ".dockerignore": "__pycache__/\n**/__pycache__/\noutput_dgm/\ninitial/\n"
                              "DGM_outer.py\nself_improve_step.py\n"}

SOLVE = '''"""A command-line agent: its client reads LLM_BASE_URL, LLM_API_KEY and LLM_MODEL."""

import argparse
import json
import os
from pathlib import Path

import openai

from agent_loop import chat_with_agent, write_history


def main():
    parser = argparse.ArgumentParser(description="Fix an issue in a working copy.")
    parser.add_argument("--issue", required=True, help="file with the issue text")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--logs", required=True)
    args = parser.parse_args()
    client = openai.OpenAI(base_url=os.environ["LLM_BASE_URL"],
                           api_key=os.environ["LLM_API_KEY"], max_retries=1, timeout=120)
    messages = chat_with_agent(Path(args.issue).read_text(), args.workdir,
                               os.environ["LLM_MODEL"], client=client)
    write_history(messages, Path(args.logs) / "conversation.md")
    (Path(args.logs) / "trajectory.json").write_text(json.dumps(
        {"stop_reason": "answered", "steps": len(messages)}))


if __name__ == "__main__":
    main()
'''

COMMAND_TOML = '''contract = "command"
name = "cli-agent"
description = "A command-line agent written for the tests (another framework's shape)."
command = "python solve.py --issue {problem} --workdir {repo} --logs {out}"
tests = "python -m pytest -q -p no:cacheprovider tests"

[model_env]
LLM_BASE_URL = "base_url"
LLM_API_KEY = "key"
LLM_MODEL = "model"
'''


def _write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def dgm_agent_files(*, hgm: bool = False) -> dict[str, str]:
    """The agent's files (what DGM's and HGM's images hold of a checkout)."""
    coding_agent = CODING_AGENT.format(
        hgm_note=" plus HGM's --model and --timeout" if hgm else "",
        model_import="\nfrom llm import create_client" if hgm else "\nfrom llm_withtools import "
                     "model_name",
        hgm_args=HGM_ARGS if hgm else "",
        loop="chat_with_agent_responses" if hgm else "chat_with_agent",
        model_expr=("args.model, client=create_client(args.model)[0]" if hgm
                    else "model_name()"))
    files = {"coding_agent.py": coding_agent, "llm_withtools.py": TOOL_LOOP,
             "tools/__init__.py": "", "utils/__init__.py": "", "utils/git_utils.py": GIT_UTILS,
             "tests/__init__.py": "", "tests/test_tools.py": TOOL_TESTS,
             "tests/conftest.py": "import os\nimport sys\n\nsys.path.append(os.path.dirname("
                                  "os.path.dirname(os.path.abspath(__file__))))\n",
             "requirements.txt": "openai\nbackoff\n", CHECKLIST: ""}
    if hgm:
        files["llm.py"] = HGM_LLM
    return files


def write_dgm_agent(folder: Path, *, hgm: bool = False) -> Path:
    """A DGM-contract agent (HGM's with `hgm`) in `folder`."""
    return _write(Path(folder), dgm_agent_files(hgm=hgm))


def write_dgm_checkout(folder: Path) -> Path:
    """The agent plus DGM's outer-loop files: what `import dgm --base` takes."""
    return _write(Path(folder), {**dgm_agent_files(), **DGM_OUTER})


def write_command_agent(folder: Path) -> Path:
    """A command-contract agent in `folder`."""
    tests = TOOL_TESTS.replace("from llm_withtools", "from agent_loop").replace(
        "from utils.git_utils import diff_versus_commit\n", "")
    tests = tests[:tests.index("\n\ndef test_the_patch_holds_new_files")] + "\n"
    return _write(Path(folder), {
        "agent.toml": COMMAND_TOML, "solve.py": SOLVE, "agent_loop.py": TOOL_LOOP,
        "tests/conftest.py": "import os\nimport sys\n\nsys.path.insert(0, os.path.dirname("
                             "os.path.dirname(os.path.abspath(__file__))))\n",
        "tests/test_tools.py": tests, CHECKLIST: ""})
