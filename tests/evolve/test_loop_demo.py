"""The offline demo's scripted model is current with the bundled suite it fixes tasks of."""

from __future__ import annotations

import json
from pathlib import Path

from agentforge.examples.offline_demo import MARKER, demo_script, suite_tasks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGENERATE = ("python -m agentforge.examples.offline_demo --config examples/offline-demo.toml "
              "--seed-solves py-exercise-duration-format --out examples/offline-demo-model.json")


def test_the_committed_demo_script_matches_the_bundled_tasks():
    tasks = suite_tasks(EXAMPLES / "offline-demo.toml")
    fresh = demo_script(tasks, seed_solves=("py-exercise-duration-format",))
    committed = json.loads((EXAMPLES / "offline-demo-model.json").read_text())
    assert committed == fresh, f"the bundled tasks changed: regenerate with {REGENERATE}"


def test_only_agents_with_the_checklist_get_fixes_except_the_seeds_baseline():
    script = json.loads((EXAMPLES / "offline-demo-model.json").read_text())
    fixes = {r["name"].removeprefix("fix "): r for r in script["rules"]
             if r["name"].startswith("fix ")}
    assert "py-exercise-duration-format" in fixes and len(fixes) > 4
    for task_id, rule in fixes.items():
        assert ("system_contains" not in rule) == (task_id == "py-exercise-duration-format")
        assert rule.get("system_contains", MARKER) == MARKER
