"""Tools of the coding loop: bash, view, str_replace, create, submit.

They act through an environment (coding_agent.environment): the local repository folder,
or another sandbox through the framework's exec channel.

Every failure (unknown tool, arguments that are not JSON or miss a field, a missing file,
an ambiguous edit) comes back to the model as an error text; nothing here raises at it.
A call that could not be run at all (unknown tool, bad arguments) is marked `malformed`: the
coding loop counts replies made only of such calls as malformed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coding_agent.environment import LocalEnvironment, RemoteEnvironment, open_environment
from coding_agent.settings import Limits, ToolDocs
from coding_agent.text import truncate


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BashArgs(_Args):
    command: str = Field(description="The shell command to run in the repository.")
    timeout: float | None = Field(None, gt=0, description="Seconds before the command is killed.")


class ViewArgs(_Args):
    path: str = Field(description="File or directory, relative to the repository or absolute.")
    start_line: int | None = Field(None, ge=1, description="First line to show (1-based).")
    end_line: int | None = Field(None, ge=1, description="Last line to show (inclusive).")


class StrReplaceArgs(_Args):
    path: str = Field(description="The file to edit.")
    old_str: str = Field(min_length=1, description="Exact text to replace; must occur once.")
    new_str: str = Field(description="The replacement text.")


class CreateArgs(_Args):
    path: str = Field(description="The file to create or overwrite.")
    content: str = Field(description="The whole content of the file.")


class SubmitArgs(_Args):
    summary: str = Field("", description="What you changed and how you checked it.")


TOOL_ARGS: dict[str, type[_Args]] = {
    "bash": BashArgs, "view": ViewArgs, "str_replace": StrReplaceArgs,
    "create": CreateArgs, "submit": SubmitArgs,
}


class ToolError(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


@dataclass
class ToolResult:
    """What a tool call returns to the model."""

    output: str
    ok: bool = True
    submitted: bool = False
    malformed: bool = False
    """The call itself was unusable (unknown tool, arguments not JSON or not fitting)."""


class Toolbox:
    """The tools, bound to one repository in one environment (local, or another sandbox)."""

    def __init__(self, repo: Path | str, limits: Limits, docs: ToolDocs,
                 env: LocalEnvironment | RemoteEnvironment | None = None) -> None:
        self.env = env or open_environment(repo)
        self.repo = self.env.repo
        self.limits = limits
        self.docs = docs

    def schemas(self) -> list[dict]:
        """OpenAI function-tool definitions; parameters come from the argument models."""
        return [
            {"type": "function", "function": {
                "name": name, "description": getattr(self.docs, name),
                "parameters": model.model_json_schema()}}
            for name, model in TOOL_ARGS.items()
        ]

    def run(self, name: str, arguments: str) -> ToolResult:
        """Run one tool call given as a name and a JSON argument string."""
        if name not in TOOL_ARGS:
            return _malformed(f"unknown tool {name!r}; tools are {list(TOOL_ARGS)}.")
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return _malformed(f"the arguments of {name} are not valid JSON ({exc}).")
        try:
            args = TOOL_ARGS[name].model_validate(parsed)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                 for e in exc.errors())
            return _malformed(f"bad arguments for {name}: {problems}.")
        try:
            return getattr(self, name)(args)
        except ToolError as exc:
            return ToolResult(f"Error: {exc}", False)
        except (OSError, UnicodeDecodeError) as exc:
            return ToolResult(f"Error: {name} failed: {exc}", False)

    def bash(self, args: BashArgs) -> ToolResult:
        timeout = args.timeout or self.limits.command_timeout
        ran = self.env.run(args.command, timeout)
        text = truncate(ran.output, self.limits.max_output_chars)
        if ran.timed_out:
            return ToolResult(f"{text}\nError: the command timed out after {timeout:g}s "
                              "and was killed.", False)
        return ToolResult(f"exit code: {ran.exit_code}\n{text}", ran.exit_code == 0)

    def view(self, args: ViewArgs) -> ToolResult:
        path = self.env.path(args.path)
        kind = self.env.kind(path)
        if kind == "dir":
            entries = sorted(e for e in self.env.list_dir(path) if e.rstrip("/") != ".git")
            return ToolResult(truncate("\n".join(entries), self.limits.max_output_chars))
        if kind is None:
            raise ToolError(f"{args.path} does not exist.")
        lines = self.env.read_text(path).splitlines()
        start = args.start_line or 1
        end = min(args.end_line or len(lines), len(lines))
        if start > max(len(lines), 1) or end < start:
            raise ToolError(f"line range {start}..{end} is outside {args.path} "
                            f"({len(lines)} lines).")
        numbered = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
        return ToolResult(truncate(numbered, self.limits.max_output_chars))

    def str_replace(self, args: StrReplaceArgs) -> ToolResult:
        path = self.env.path(args.path)
        if self.env.kind(path) != "file":
            raise ToolError(f"{args.path} does not exist; use create for a new file.")
        text = self.env.read_text(path)
        count = text.count(args.old_str)
        if count == 0:
            raise ToolError(f"old_str was not found in {args.path}; nothing changed. "
                            "View the file and copy the text exactly, whitespace included.")
        if count > 1:
            lines = _lines_of(text, args.old_str)
            raise ToolError(f"old_str occurs {count} times in {args.path} (lines {lines}); "
                            "nothing changed. Include more surrounding lines to make it unique.")
        self.env.write_text(path, text.replace(args.old_str, args.new_str))
        first = text[: text.index(args.old_str)].count("\n") + 1
        return ToolResult(f"Edited {args.path} at line {first}.")

    def create(self, args: CreateArgs) -> ToolResult:
        path = self.env.path(args.path)
        existed = self.env.kind(path) is not None
        self.env.write_text(path, args.content)
        return ToolResult(f"{'Overwrote' if existed else 'Created'} {args.path}.")

    def submit(self, args: SubmitArgs) -> ToolResult:
        return ToolResult(args.summary or "Submitted.", submitted=True)


def _malformed(problem: str) -> ToolResult:
    return ToolResult(f"Error: {problem}", ok=False, malformed=True)


def _lines_of(text: str, needle: str) -> list[int]:
    """1-based line numbers where each occurrence of `needle` starts."""
    found, start = [], text.find(needle)
    while start != -1:
        found.append(text[:start].count("\n") + 1)
        start = text.find(needle, start + 1)
    return found
