"""`command`: any program, run by a command template in its folder.

    # agent.toml
    contract = "command"
    name = "my-agent"
    command = "python solve.py --issue {problem} --workdir {repo} --logs {out}"
    tests = "python -m pytest -q tests"          # optional; default: its pytest suite
    [model_env]                                   # optional: the names its client reads
    LLM_BASE_URL = "base_url"
    LLM_API_KEY = "key"
    LLM_MODEL = "model"

`{problem}` is the problem statement's file, `{repo}` the repository to change, `{out}` a
folder for logs and an optional `trajectory.json`, `{model}` the model's name. The template
is split like a shell line and filled in argument by argument (no shell runs it, so nothing
of a problem statement is ever parsed as shell). The patch is the repository's diff. The
model: OPENAI_BASE_URL, OPENAI_API_BASE and OPENAI_API_KEY (the gateway and the per-sandbox
token), AGENTFORGE_MODEL, plus the `[model_env]` names.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from agentforge.contracts.spec import AgentCall, AgentError, AgentSpec, ModelAccess

PLACEHOLDERS = ("problem", "repo", "out", "model")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ACCESS_FIELDS = ("base_url", "key", "model")


class CommandContract:
    """A command-line agent: a template, the repository's diff as the patch."""

    def __init__(self, name: str) -> None:
        self.name = name

    def load(self, folder: Path, declared: dict) -> AgentSpec:
        manifest = folder / "agent.toml"
        template = declared.get("command")
        if not isinstance(template, str) or not template.strip():
            raise AgentError(f"{manifest} declares contract = \"command\" but has no command: "
                             "give command = \"PROGRAM ... {problem} {repo} {out}\"")
        unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(PLACEHOLDERS))
        missing = [name for name in ("problem", "repo") if f"{{{name}}}" not in template]
        if unknown or missing:
            raise AgentError(
                f"{manifest}: command {template!r} "
                + (f"has unknown placeholders {', '.join(unknown)}; " if unknown else "")
                + (f"lacks {', '.join('{' + m + '}' for m in missing)}; " if missing else "")
                + f"the placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        try:
            shlex.split(template)
        except ValueError as exc:
            raise AgentError(f"{manifest}: command {template!r} cannot be split into "
                             f"arguments: {exc}") from exc
        bad = {name: field for name, field in (declared.get("model_env") or {}).items()
               if field not in _ACCESS_FIELDS}
        if bad:
            raise AgentError(f"{manifest}: [model_env] maps {', '.join(bad)} to "
                             f"{', '.join(map(str, bad.values()))}; each variable takes one of "
                             f"{', '.join(_ACCESS_FIELDS)}")
        return AgentSpec(**declared, path=folder)

    def command(self, spec: AgentSpec, call: AgentCall) -> list[str]:
        values = {"problem": call.problem_file, "repo": call.repo, "out": call.out_dir,
                  "model": call.model}
        return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], part)
                for part in shlex.split(spec.command or "")]

    def model_env(self, spec: AgentSpec, access: ModelAccess) -> dict[str, str]:
        env = {**access.openai_env(), "OPENAI_API_BASE": access.base_url}
        env.update({name: getattr(access, field) for name, field in spec.model_env.items()})
        return env

    def test_command(self, spec: AgentSpec) -> list[str] | None:
        return shlex.split(spec.tests) if spec.tests else None

    def how_to_run(self, spec: AgentSpec) -> str:
        return spec.command or ""

