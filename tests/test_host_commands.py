"""A terminal's Ctrl-C reaches the whole process group; the host commands the run's work has
started (git over the agent repository, `git archive` of an agent's code, git for a patch)
must live through it, or a run told to finish its work in flight records that work as
failed. Real git, real signals, in a child process with a session of its own (so pytest is
not signalled)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# The child: one thread runs git commands in a loop, the main thread (with a SIGINT handler,
# as `evolve` has) sends SIGINT to its own process group every 10 ms, as a held Ctrl-C would.
CHILD = textwrap.dedent("""
    import json, os, signal, sys, tempfile, threading, time
    from pathlib import Path
    from agentforge import host_commands
    from agentforge.store.repo import AgentRepo

    root = Path(tempfile.mkdtemp())
    (root / "agent").mkdir()
    (root / "agent" / "main.py").write_text("print('hi')\\n")
    repo = AgentRepo.init(root / "agents.git")
    commit = repo.commit_folder(root / "agent")
    failures, calls, signals, done = [], [0], [0], threading.Event()

    def work():
        while not done.is_set():
            try:
                repo.resolve(commit)
                repo.export(commit, root / "exports" / str(calls[0]))
                ran = host_commands.run(["git", "--version"], text=True)
                if ran.returncode != 0:
                    failures.append(f"git --version: exit {ran.returncode}")
            except Exception as exc:
                failures.append(repr(exc.__cause__ or exc)[:300])
            calls[0] += 1

    def count(*_):
        signals[0] += 1

    signal.signal(signal.SIGINT, count)
    worker = threading.Thread(target=work)
    worker.start()
    for _ in range(300):
        time.sleep(0.01)
        os.killpg(os.getpgrp(), signal.SIGINT)
    done.set()
    worker.join()
    print(json.dumps({"calls": calls[0], "signals": signals[0], "failures": failures[:3],
                      "failed": len(failures)}))
""")


def test_git_commands_of_work_in_flight_live_through_a_terminals_ctrl_c():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=300, start_new_session=True)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["signals"] >= 250 and result["calls"] >= 50, result  # the storm happened
    assert result["failed"] == 0, result
