"""The scripted model of the offline demo: a self-improvement that visibly pays off.

The rules make the improvement real, not staged: the diagnosis proposes adding a
verification checklist to the agent's system prompt; the agent implements it with a
`str_replace` tool call on its own config.toml; and on tasks the model emits the fix (the
task's reference patch, applied with the `bash` tool) only when the system prompt carries
that checklist (`system_contains`). So the child solves more tasks than its parent because
of the line it added to its own source.

    python -m agentforge.examples.offline_demo --config examples/offline-demo.toml \\
        --seed-solves py-exercise-duration-format --out examples/offline-demo-model.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agentforge.bench.task import Task

MARKER = "VERIFY-CHECKLIST"
"""Text the change puts into the agent's system prompt; the scripted fixes depend on it."""
ANCHOR = "and check your change by running code or tests before you submit."
"""A line of the seed's coder_system prompt that the implementation extends."""
CHECKLIST = (f"{ANCHOR}\n{MARKER}: before you submit, apply the fix completely, run the "
             "tests, and re-read the task's examples.")
SUMMARY = "Add a verification checklist to the coder's system prompt"
PROPOSAL = {
    "summary": SUMMARY,
    "diagnosis": "The agent submits without changing the code: it stops after reading the "
                 "task instead of applying and verifying a fix.",
    "change": "In coding_agent/config.toml, extend the coder_system prompt with one line "
              "asking the agent to apply the fix completely and run the tests before submit.",
    "files": ["coding_agent/config.toml"],
    "expected_effect": "More tasks end with an applied, tested fix.",
}
_RANKER = "You choose how a coding agent should approach"
_RANKING = ("@@ranking\ndirect-edit\nreproduce-first\ntest-driven\nplan-then-edit\n"
            "meta-prompting\n@@end")


def _tool(name: str, **arguments) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def task_phrase(task: Task, others: list[Task]) -> str:
    """A line of the task's problem statement that no other task's statement contains."""
    lines = [line.strip() for line in task.problem_statement.splitlines() if line.strip()]
    for line in sorted(lines, key=lambda text: (not text.startswith("#"), -len(text))):
        if not any(line in other.problem_statement for other in others if other is not task):
            return line
    raise ValueError(f"task {task.instance_id} has no line of its own to match on")


def apply_command(patch: str) -> str:
    """A shell command applying a patch in the repository (a quoted here-document)."""
    return f"git apply --whitespace=nowarn <<'AGENTFORGE_PATCH'\n{patch}\nAGENTFORGE_PATCH"


def demo_script(tasks: list[Task], *, seed_solves: tuple[str, ...] = ()) -> dict:
    """Rules for the scripted model: diagnosis, implementation, and per-task fixes.

    Tasks in `seed_solves` are fixed even without the checklist (the parent's baseline).
    """
    rules: list[dict] = [
        {"name": "rank", "system_contains": _RANKER, "respond": {"content": _RANKING}},
        {"name": "diagnose", "system_contains": "diagnostician of agentforge",
         "respond": {"content": json.dumps(PROPOSAL)}},
        {"name": "implement", "last_message_contains": f"# Proposed change: {SUMMARY}",
         "not_contains": MARKER,
         "respond": _tool("str_replace", path="coding_agent/config.toml", old_str=ANCHOR,
                          new_str=CHECKLIST)},
        {"name": "implemented", "last_message_contains": "Edited coding_agent/config.toml",
         "respond": _tool("submit", summary="Added the verification checklist.")},
        {"name": "already-implemented", "last_message_contains": "# Proposed change:",
         "respond": _tool("submit", summary="The checklist is already there; nothing to do.")},
    ]
    for task in sorted(tasks, key=lambda t: t.instance_id):
        if not task.reference_patch:
            continue
        rule = {"name": f"fix {task.instance_id}",
                "last_message_contains": task_phrase(task, tasks),
                "respond": _tool("bash", command=apply_command(task.reference_patch.rstrip("\n")))}
        if task.instance_id not in seed_solves:
            rule["system_contains"] = MARKER
        rules.append(rule)
    rules += [
        {"name": "applied", "last_message_contains": "exit code: 0",
         "respond": _tool("submit", summary="Applied and checked the fix.")},
        {"name": "give-up", "last_message_contains": "<task>",
         "respond": _tool("submit", summary="No change made.")},
        {"name": "fallback", "regex": ".", "respond": _tool("submit", summary="Done.")},
    ]
    return {"models": ["scripted-demo"], "rules": rules}


def suite_tasks(config_path: Path) -> list[Task]:
    """Every task of the benchmark a run config names (so any held-out pick has its rule)."""
    from agentforge.bench import get_benchmark
    from agentforge.evolve.config import load_run_config

    bench = load_run_config(config_path).benchmark
    return get_benchmark(bench.name, source=bench.source, **bench.options).tasks()


def main(argv: list[str] | None = None) -> None:
    """Write the demo's scripted-model file for the benchmark of a run config."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the run config (TOML)")
    parser.add_argument("--seed-solves", nargs="*", default=[],
                        help="task ids the seed fixes without the checklist")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    tasks = suite_tasks(args.config)
    script = demo_script(tasks, seed_solves=tuple(args.seed_solves))
    args.out.write_text(json.dumps(script, indent=1) + "\n")
    print(f"wrote {len(script['rules'])} rules for {len(tasks)} tasks to {args.out}")


if __name__ == "__main__":
    main()
