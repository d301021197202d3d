"""The contract check: a child, started by the framework with a clean interpreter, must fix a
task drawn fresh for this validation (contract_task.py) through the agent contract, with the
framework's scripted model. Only the file the framework reads back decides, never anything
the agent says.

The scripted model runs as another user than the agent and receives its script through its
environment (written to a private folder only it can read), so the agent cannot read the
expected output, the tokens of the relay or the model server's memory.
"""

from __future__ import annotations

import json
import random
import secrets
import shlex

from agentforge.agent_contract import (
    AGENT_DIR,
    OUT_DIR,
    PROBLEM_FILE,
    REPO_DIR,
    SCRIPTED_SERVER,
    AgentSpec,
    install_scripted_server,
    prepare_repo,
    repo_patch,
)
from agentforge.bench.runners import RUNNER_PATH
from agentforge.errors import AgentforgeError
from agentforge.evolve.validation.contract_task import ContractTask, draw_contract_task
from agentforge.sandbox import Sandbox

MODEL_USER = "1002:1002"
"""Who runs the scripted model: not the agent's user, who could otherwise read its script."""
_SCRIPT_VAR = "AGENTFORGE_CONTRACT_SCRIPT"
# Runs as MODEL_USER: the script goes from the environment into a folder of its own, and the
# variable is gone before the server starts.
_START_MODEL = ('umask 077; d=$(mktemp -d); printf %s "${var}" > "$d/script.json"; unset {var}; '
                'exec python3 -I {server} --script "$d/script.json" --port {port}')
_WAIT_FOR_PORT = """
import socket, sys, time
end = time.time() + 60
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", {port}), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
"""


def check_contract(box: Sandbox, agent: AgentSpec, timeout: float,
                   task: ContractTask | None = None) -> str | None:
    """None if the agent fixed a freshly drawn task through the contract; else why not.

    `box` must be fresh (nothing of the child has run in it) with the agent installed.
    """
    task = task or draw_contract_task()
    rng = random.Random(secrets.randbits(64))
    port = rng.randint(20000, 60000)
    start_scripted_model(box, task.script, port)
    box.write_files(REPO_DIR, task.repo)
    box.write_files("/task", {PROBLEM_FILE.removeprefix("/task/"): task.problem})
    box.exec(["mkdir", "-p", OUT_DIR], timeout=60, workdir="/")
    base = prepare_repo(box, REPO_DIR)
    # A clean interpreter: no PYTHONPATH into the child's tree, no user site; `python -m`
    # finds the entry package from the working directory, as the contract says.
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
           "OPENAI_API_KEY": secrets.token_hex(16), "AGENTFORGE_MODEL": "scripted",
           "PATH": RUNNER_PATH, "PYTHONPATH": ""}
    done = box.exec(["python", "-s", "-m", agent.entry, "--repo", REPO_DIR, "--problem",
                     PROBLEM_FILE, "--out", OUT_DIR], timeout=timeout, workdir=AGENT_DIR, env=env)
    try:
        patch = repo_patch(box, base, REPO_DIR)  # every process of the agent is gone after it
        wrong = [path for path, text in task.expected.items()
                 if f"diff --git a/{path} b/{path}" not in patch or _read(box, path) != text]
    except AgentforgeError as exc:
        return f"contract check: the repository could not be read back ({exc})"
    if wrong:
        tail = " | ".join(done.output.strip().splitlines()[-3:])[-300:]
        return (f"contract check failed: the agent did not fix the framework's task through "
                f"the contract ({', '.join(wrong)} is not what the model's fix writes; exit "
                f"code {done.exit_code}; {tail or 'no output'})")
    return None


def start_scripted_model(box: Sandbox, script: dict, port: int) -> None:
    """The scripted model server on 127.0.0.1:`port`, as MODEL_USER; returns once it listens."""
    install_scripted_server(box)
    command = _START_MODEL.format(var=_SCRIPT_VAR, server=shlex.quote(SCRIPTED_SERVER),
                                  port=port)
    box.start_background(["/bin/sh", "-c", command], env={_SCRIPT_VAR: json.dumps(script)},
                         user=MODEL_USER)
    ready = box.exec(["python3", "-I", "-c", _WAIT_FOR_PORT.format(port=port)], timeout=90,
                     workdir="/")
    if not ready.ok:
        raise AgentforgeError(f"the contract check's scripted model did not start on port "
                              f"{port} in sandbox {box.name}: {ready.output.strip()[-300:]}")


def _read(box: Sandbox, path: str) -> str | None:
    try:
        return box.read_file(f"{REPO_DIR}/{path}").decode("utf-8")
    except (AgentforgeError, UnicodeDecodeError):
        return None
