"""What the contract tests run on: DGM and HGM run folders made with the tests' own agents
(tests/importers/foreign_runs.py writes the records as those systems do), a tiny suite, and a
scripted model under which a self-modification visibly pays off.

The scripted model proposes a line for the agent's checklist.txt; the agent appends it with a
bash call (a new line every time, so every step makes a diff); on tasks it emits the fix only
for agents whose system prompt carries that line, except the tasks in `seed_solves`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "importers"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))

from foreign_runs import SWE_IDS, attempt, diff, performance  # noqa: E402
from loop_fixtures import write_tiny_suite  # noqa: E402
from own_agents import (  # noqa: E402
    CHECKLIST,
    dgm_agent_files,
    write_command_agent,
    write_dgm_checkout,
)

from agentforge.examples.offline_demo import apply_command, task_phrase  # noqa: E402

MARKER = "TEST-FIRST-CHECKLIST"
SUMMARY = "Add a test-first line to the agent's checklist"
ADDED = "CHECKLIST-LINE-ADDED"
PROPOSAL = {"summary": SUMMARY,
            "diagnosis": "The agent stops before it changes the code.",
            "change": f"Append a line starting with {MARKER} to {CHECKLIST}.",
            "files": [CHECKLIST], "expected_effect": "More tasks end with a fix."}
FOREIGN_LINE = "Read the failing test first.\n"
"""The imported run's own step: a line its attempt added to checklist.txt."""
TASKS = ["py-tiny-add", "py-tiny-greet"]
HELD_OUT = ["py-tiny-double"]


def _bash(command: str) -> dict:
    return {"tool_calls": [{"name": "bash", "arguments": {"command": command}}]}


def contract_script(tasks, *, seed_solves: tuple[str, ...] = ()) -> dict:
    """Rules: diagnosis, the checklist edit, and per-task fixes gated on the checklist."""
    append = (f"printf '%s\\n' \"{MARKER} $(date +%s%N): write the failing test first.\" "
              f">> {CHECKLIST} && echo {ADDED}")
    rules = [
        {"name": "diagnose", "system_contains": "diagnostician of agentforge",
         "respond": {"content": json.dumps(PROPOSAL)}},
        {"name": "implemented", "last_message_contains": ADDED, "respond": {"content": "Done."}},
        {"name": "implement", "any_message_contains": f"# Proposed change: {SUMMARY}",
         "respond": _bash(append)},
    ]
    for task in sorted(tasks, key=lambda t: t.instance_id):
        rule = {"name": f"fix {task.instance_id}",
                "last_message_contains": task_phrase(task, tasks),
                "respond": _bash(apply_command(task.reference_patch.rstrip("\n")))}
        if task.instance_id not in seed_solves:
            rule["system_contains"] = MARKER
        rules.append(rule)
    rules += [{"name": "applied", "last_message_contains": "exit code: 0",
               "respond": {"content": "Done."}},
              {"name": "fallback", "regex": ".", "respond": {"content": "Nothing to change."}}]
    return {"models": ["scripted-contracts"], "rules": rules}


def write_suite_and_config(tmp_path: Path, seed: str, *, iterations: int = 1) -> Path:
    """A tiny suite, the scripted model and a run config seeded at `seed`; the config path."""
    from agentforge.bench import get_benchmark

    suite = write_tiny_suite(tmp_path / "suite", TASKS, HELD_OUT)
    tasks = get_benchmark("local", source=suite).tasks()
    script = tmp_path / "model.json"
    script.write_text(json.dumps(contract_script(tasks, seed_solves=(TASKS[0],))))
    config = tmp_path / "run.toml"
    config.write_text(f"""
seed_agent = "{seed}"
seed = 1
[llm.diagnose]
spec = "scripted:{script}"
[llm.agent]
spec = "scripted:{script}"
[benchmark]
name = "local"
source = "{suite}"
subset = "smoke"
[evaluation]
workers = 2
agent_timeout = 300
stages = [{{ tasks = 2 }}]
[improve]
workers = 1
agent_timeout = 300
[selection]
name = "greedy"
[budget]
max_iterations = {iterations}
[finalize]
enabled = false
""")
    return config


def _attempt_patch() -> str:
    return diff(CHECKLIST, "", FOREIGN_LINE)


def make_dgm_run_of_own_agent(root: Path) -> tuple[Path, Path, str]:
    """(run folder, checkout, the attempt's run id): DGM's layout, our DGM-contract agent."""
    checkout = write_dgm_checkout(root / "dgm")
    run = root / "output_dgm" / "20260101_000000_000000"
    run.mkdir(parents=True)
    (run / "initial").mkdir()
    (run / "initial" / "metadata.json").write_text(json.dumps(
        {"run_id": "initial", "overall_performance": performance(SWE_IDS[:1], SWE_IDS[1:], [])},
        indent=4))
    step = "20260101_000001_000001"
    attempt(run / step, step, "initial", _attempt_patch(),
            performance(SWE_IDS[:2], SWE_IDS[2:], []), statement="# Read tests first")
    with open(run / "dgm_metadata.jsonl", "w") as handle:
        handle.write(json.dumps({"generation": 0, "selfimprove_entries": [],
                                 "children": [step], "children_compiled": [step],
                                 "archive": ["initial", step]}, indent=2) + "\n")
    return run, checkout, step


def make_hgm_run_of_own_agent(root: Path) -> tuple[Path, str]:
    """(run folder, the attempt's commit id): HGM's layout, our HGM agent in initial/src."""
    run = root / "output_hgm" / "run1"
    src = run / "initial" / "src"
    for rel, text in dgm_agent_files(hgm=True).items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    (run / "initial" / "metadata.json").write_text(json.dumps(
        {"run_id": "initial", "overall_performance": performance(SWE_IDS[:1], SWE_IDS[1:], [])},
        indent=4))
    step = "20260101_000001_000002"
    attempt(run / step, step, "initial", _attempt_patch(),
            performance(SWE_IDS[:2], SWE_IDS[2:], []), statement="# Read tests first")
    (run / "hgm_metadata.jsonl").write_text(json.dumps({"n_task_evals": 3, "nodes": [
        {"commit_id": step, "id": 1, "parent_id": 0, "mean_utility": 2 / 3,
         "num_evals": 3}]}, indent=2) + "\n")
    return run, step


def make_command_agent(root: Path) -> Path:
    """A command-contract agent folder."""
    return write_command_agent(root / "cli-agent")
