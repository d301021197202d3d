"""How long the seed agent's own test suite takes in a sandbox (the validity check of a child).

Prints, from one sandbox in one run: the time to import the agent (LangGraph, openai) as the
baseline, the time of the whole suite, and their ratio. Target: the suite under 60 s.

    python perf/agent_tests.py [--agent archive/base] [--cpus 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agentforge.agent_contract import AGENT_DIR, install_agent, load_agent_spec
from agentforge.evolve.validation.checks import run_own_tests
from agentforge.paths import archive_dir
from agentforge.sandbox import Sandbox, SandboxConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", type=Path, default=archive_dir() / "base")
    parser.add_argument("--cpus", type=float, default=1.0)
    args = parser.parse_args()
    agent = load_agent_spec(args.agent)
    with Sandbox(SandboxConfig(cpus=args.cpus)) as box:
        install_agent(box, agent)
        imported = box.exec(["python", "-c", f"import {agent.entry}.agent"], workdir=AGENT_DIR,
                            env={"PYTHONPATH": AGENT_DIR}, timeout=300)
        suite = run_own_tests(box, agent, None, timeout=600)
    print(f"import of the agent:  {imported.duration:6.1f} s")
    verdict = "ok" if suite.reason is None else "FAILED"
    print(f"agent's own tests:    {suite.duration:6.1f} s  ({verdict}; "
          f"{suite.output.strip().splitlines()[-1] if suite.output.strip() else 'no output'})")
    print(f"ratio suite/import:   {suite.duration / max(imported.duration, 1e-3):6.1f}")
    print(f"target (< 60 s):      {'met' if suite.duration < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
