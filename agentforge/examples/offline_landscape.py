"""The offline landscape: a scripted model whose rules make a search worth running.

Each skill is a line in the agent's `coder_system` prompt, and the scripted model fixes a
task only for agents whose system prompt carries the skills the task needs:

- `py` and `go` are independent skills: each unlocks its language's exercises;
- `map` is a stepping stone: alone it fixes nothing, but `swe` (the SWE-style repository
  tasks) works only once `map` is there;
- `decoy` fixes the SWE-style tasks of the *validation split* only: it looks good to the
  selector, however many validation tasks it sees, and gains nothing on held-out tasks. It
  is the shortcut: a parent without `map` asked for multi-file changes adds the decoy
  instead (as much validation gain at once as `map` then `swe` in two steps, none
  held-out), and an optimizer with no real skill left to add over-fits with it;
- `memo` fixes the Python exercises of the run's *validation sample* only (its first
  `max_validation_tasks` tasks in the run's order, which the config's seed draws): on the
  sample it is worth exactly `py`, but a larger validation sample (the split's other Python
  exercises) exposes it as a held-out split does. It is the second shortcut: a parent asked
  for the Python habit that has neither that line nor the memo adds the memo (once: asked
  again, it adds the real line). Prompt mutations never add it.

Skills are reachable by self-edits (the diagnosis proposes the skill of the failures it is
shown; the parent adds the line with `str_replace`) and by prompt mutations (the optimizer
adds the first missing real skill to `coder_system`, whatever lines are already there).

The model file is made for one sample, so for one config's seed and task cap (the
committed one: examples/offline-landscape.toml as it is; perf/search_offline.py writes one
per seed); the skills' lines follow the seed agent's `coder_system` prompt (`ANCHOR`):

    python -m agentforge.examples.offline_landscape --config examples/offline-landscape.toml \\
        --out examples/offline-landscape-model.json [--set seed=2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from agentforge.bench.task import Task
from agentforge.examples.offline_demo import (
    ANCHOR,
    apply_command,
    demo_script,
    task_phrase,
)

OPTIMIZER = "prompt optimizer of agentforge"
DIAGNOSTICIAN = "diagnostician of agentforge"
SEED_SOLVES = ("py-exercise-duration-format", "go-exercise-word-wrap")
"""Tasks the seed fixes with no skill (its baseline)."""


@dataclass(frozen=True)
class Skill:
    """A line of the coder's system prompt and what it unlocks."""

    name: str
    marker: str
    summary: str
    prefix: str | None
    """Task ids starting with this are the skill's group (None: the stepping stone)."""


SKILLS = {s.name: s for s in [
    Skill("py", "SKILL-PY-EDGES: list the edge cases of the spec and test each one.",
          "Teach the coder to test Python edge cases", "py-exercise-"),
    Skill("go", "SKILL-GO-TOOLCHAIN: run go vet and go test before you submit.",
          "Teach the coder the Go toolchain", "go-exercise-"),
    Skill("map", "SKILL-REPO-MAP: first list the repository's modules and their tests.",
          "Teach the coder to map a repository first", None),
    Skill("swe", "SKILL-MULTI-FILE: trace the change through every module it touches.",
          "Teach the coder multi-file changes", "swe-"),
    Skill("decoy", "SKILL-VALIDATION-CACHE: recall the known answers of familiar tasks.",
          "Teach the coder to recall familiar answers", "swe-"),
    Skill("memo", "SKILL-SEEN-EXERCISES: answer an exercise you have seen as it passed before.",
          "Teach the coder to reuse the answers of exercises it has seen", "py-exercise-"),
]}
REAL_SKILLS = ("py", "go", "map", "swe")
"""What an agent needs to fix every task, held-out ones included."""
DECOYS = ("decoy", "memo")
MUTATION_ORDER = ("map", "py", "go", "swe", "decoy")
"""The skill a prompt mutation adds: the first one the parent lacks (never the memo)."""
NOTHING_TO_MUTATE = "Nothing to change: the coder already has every habit I know of."
DIAGNOSIS_ORDER = (("## Task swe-ledgerly-", "decoy"), ("## Task go-", "go"),
                   ("## Task py-", "py"), ("## Task swe-", "swe"), (None, "py"))
"""The skill a self-edit proposes: that of the first failure pattern shown."""


def needs(task_id: str, validation: set[str], sample: set[str]) -> list[list[str]]:
    """The skill sets that each make the model fix this task (empty: never fixed);
    `validation` is the split, `sample` the run's validation tasks (the memo's reach)."""
    if task_id in SEED_SOLVES:
        return [[]]
    if task_id.startswith("swe-"):
        ways = [["map", "swe"]]
        return ways + [["decoy"]] if task_id in validation else ways
    ways = [[s.name] for s in SKILLS.values() if s.prefix and task_id.startswith(s.prefix)
            and s.name not in DECOYS]
    if task_id.startswith(SKILLS["memo"].prefix) and task_id in sample:
        ways.append(["memo"])
    return ways


def coder_system(base: str, skills: list[str]) -> str:
    """The seed's coder_system prompt with these skills' lines after the anchor."""
    lines = "".join(f"\n{SKILLS[s].marker}" for s in skills)
    return base.replace(ANCHOR, ANCHOR + lines)


def _tool(name: str, **arguments) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def _proposal(skill: Skill) -> str:
    return json.dumps({
        "summary": skill.summary,
        "diagnosis": "The failed runs stop before the agent applies a working fix: it lacks "
                     "a habit these tasks need.",
        "change": "In coding_agent/config.toml, add one line to the coder_system prompt that "
                  f"teaches this habit: {skill.summary.lower()}.",
        "files": ["coding_agent/config.toml"],
        "expected_effect": "More tasks of this kind end with an applied, tested fix."})


def _adds(name: str, asked: str, unless: list[str], line: str) -> dict:
    """The parent asked for skill `asked` adds skill `line`'s line, unless it has `unless`."""
    return {"name": name, "last_message_contains": f"# Proposed change: {SKILLS[asked].summary}",
            "not_contains": [SKILLS[s].marker for s in unless],
            "respond": _tool("str_replace", path="coding_agent/config.toml", old_str=ANCHOR,
                             new_str=f"{ANCHOR}\n{SKILLS[line].marker}")}


def _self_edit_rules() -> list[dict]:
    rules = []
    for pattern, name in DIAGNOSIS_ORDER:
        rule = {"name": f"diagnose {name}", "system_contains": DIAGNOSTICIAN,
                "respond": {"content": _proposal(SKILLS[name])}}
        if pattern:
            rule["last_message_contains"] = pattern
        rules.append(rule)
    # The shortcuts, taken once: multi-file work without the map adds the decoy; the Python
    # habit asked for the first time adds the memo.
    rules.append(_adds("implement decoy for swe", "swe", ["map", "decoy"], "decoy"))
    rules.append(_adds("implement memo for py", "py", ["py", "memo"], "memo"))
    rules += [_adds(f"implement {name}", name, [name], name)
              for name in SKILLS if name != "memo"]
    # Multi-file work that already has its line needs the map first: the agent adds that.
    rules.append(_adds("implement map for swe", "swe", ["map"], "map"))
    rules.append({"name": "implemented", "last_message_contains": "Edited coding_agent/config.toml",
                  "respond": _tool("submit", summary="Added the line.")})
    rules.append({"name": "already-implemented", "last_message_contains": "# Proposed change:",
                  "respond": _tool("submit", summary="The line is already there.")})
    return rules


def _mutation_rules(base: str) -> list[dict]:
    rules = []
    names = list(SKILLS)
    for size in range(len(names) + 1):
        for present in itertools.combinations(names, size):
            missing = [s for s in MUTATION_ORDER if s not in present]
            if missing:
                added = missing[0]
                name = f"mutate +{added} on {'+'.join(present) or 'seed'}"
                content = json.dumps({
                    "summary": SKILLS[added].summary + " (prompt mutation)",
                    "diagnosis": "Across the failed tasks the coder lacks one habit.",
                    "edits": [{"path": "prompts.coder_system",
                               "text": coder_system(base, [*present, added])}]})
            else:  # a failed step whose reason says why
                name, content = "mutate nothing", NOTHING_TO_MUTATE
            rule = {"name": name, "system_contains": OPTIMIZER,
                    "not_contains": [SKILLS[s].marker for s in names if s not in present],
                    "respond": {"content": content}}
            if present:
                rule["any_message_contains"] = [SKILLS[s].marker for s in present]
            rules.append(rule)
    return rules


def _fix_rules(tasks: list[Task], validation: set[str], sample: set[str]) -> list[dict]:
    rules = []
    for task in sorted(tasks, key=lambda t: t.instance_id):
        if not task.reference_patch:
            continue
        fix = _tool("bash", command=apply_command(task.reference_patch.rstrip("\n")))
        phrase = task_phrase(task, tasks)
        for skills in needs(task.instance_id, validation, sample):
            rule = {"name": f"fix {task.instance_id} with {'+'.join(skills) or 'nothing'}",
                    "last_message_contains": phrase, "respond": fix}
            if skills:
                rule["system_contains"] = [SKILLS[s].marker for s in skills]
            rules.append(rule)
    return rules


def landscape_script(tasks: list[Task], validation: set[str], sample: set[str],
                     base_coder_system: str) -> dict:
    """Rules of the landscape's scripted model for this suite, validation split and sample."""
    demo = {r["name"]: r for r in demo_script(tasks)["rules"]}
    return {"models": ["scripted-landscape"],
            "rules": [demo["rank"], *_mutation_rules(base_coder_system), *_self_edit_rules(),
                      *_fix_rules(tasks, validation, sample), demo["applied"], demo["give-up"],
                      demo["fallback"]]}


def main(argv: list[str] | None = None) -> None:
    """Write the landscape's scripted-model file for the benchmark and sample of a config."""
    from agentforge.bench import get_benchmark
    from agentforge.evolve.config import load_run_config
    from agentforge.evolve.loop.context import ordered_tasks

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the run config (TOML)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override the run will also get (e.g. seed=2)")
    args = parser.parse_args(argv)
    config = load_run_config(args.config, args.sets)
    bench = config.benchmark
    benchmark = get_benchmark(bench.name, source=bench.source, **bench.options)
    validation = {t.instance_id for t in benchmark.tasks(split=bench.validation_split)}
    sample = {t.instance_id for t in ordered_tasks(
        benchmark, config, bench.validation_split, bench.max_validation_tasks, "validation")}
    base = tomllib.loads((Path(config.seed_agent) / "coding_agent" / "config.toml")
                         .read_text())["prompts"]["coder_system"]
    script = landscape_script(benchmark.tasks(), validation, sample, base)
    args.out.write_text(json.dumps(script, indent=1) + "\n")
    print(f"wrote {len(script['rules'])} rules to {args.out}")


if __name__ == "__main__":
    main()
