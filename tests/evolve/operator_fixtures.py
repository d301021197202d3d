"""Helpers of the operator tests: scripted replies of the prompt optimizer."""

from __future__ import annotations

import json
from pathlib import Path

from agentforge.examples.offline_demo import ANCHOR, CHECKLIST

OPTIMIZER = "prompt optimizer of agentforge"
"""Text of the prompt-mutation system prompt the scripted rules match on."""
BASE_CONFIG = (Path(__file__).parents[2] / "archive/base/coding_agent/config.toml")


def coder_system_with_checklist() -> str:
    """The seed's coder_system prompt with the demo's checklist line (what the fixes need)."""
    import tomllib

    text = tomllib.loads(BASE_CONFIG.read_text())["prompts"]["coder_system"]
    return text.replace(ANCHOR, CHECKLIST)


def mutation_rule(edits: dict[str, str], *, needs: list[str] = (), name: str = "mutate") -> dict:
    """A rule answering the prompt optimizer with these edits (when `needs` are all shown)."""
    reply = {"summary": f"Rewrite {', '.join(edits)}",
             "diagnosis": "The agent stops before applying and testing a fix on every task.",
             "edits": [{"path": p, "text": t} for p, t in edits.items()]}
    rule = {"name": name, "system_contains": OPTIMIZER,
            "respond": {"content": json.dumps(reply)}}
    if needs:
        rule["last_message_contains"] = list(needs)
    return rule


def add_rules(script_path: Path, *rules: dict) -> None:
    """Put `rules` first in a scripted-model file."""
    script = json.loads(script_path.read_text())
    script["rules"] = [*rules, *script["rules"]]
    script_path.write_text(json.dumps(script))
