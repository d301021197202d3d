"""Tools of the coding loop: bash, view, str_replace, create, submit.

Every failure (unknown tool, arguments that are not JSON or miss a field, a missing file,
an ambiguous edit) comes back to the model as an error text; nothing here raises at it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coding_agent.settings import Limits, ToolDocs


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


def truncate(text: str, limit: int) -> str:
    """Keep the head and the tail of a long text, saying how much was left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    return f"{text[:half]}\n... [{omitted} characters omitted] ...\n{text[-half:]}"


class Toolbox:
    """The tools, bound to one repository."""

    def __init__(self, repo: Path, limits: Limits, docs: ToolDocs) -> None:
        self.repo = Path(repo).resolve()
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
            return ToolResult(f"Error: unknown tool {name!r}; tools are {list(TOOL_ARGS)}.", False)
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return ToolResult(f"Error: the arguments of {name} are not valid JSON ({exc}).", False)
        try:
            args = TOOL_ARGS[name].model_validate(parsed)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                 for e in exc.errors())
            return ToolResult(f"Error: bad arguments for {name}: {problems}.", False)
        try:
            return getattr(self, name)(args)
        except ToolError as exc:
            return ToolResult(f"Error: {exc}", False)
        except (OSError, UnicodeDecodeError) as exc:
            return ToolResult(f"Error: {name} failed: {exc}", False)

    def _path(self, path: str) -> Path:
        return (self.repo / path).resolve()

    def bash(self, args: BashArgs) -> ToolResult:
        timeout = args.timeout or self.limits.command_timeout
        shell = shutil.which("bash") or "/bin/sh"
        # Own process group, so a timeout kills the command and everything it started.
        proc = subprocess.Popen([shell, "-c", args.command], cwd=self.repo, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                errors="replace")
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            try:
                output, _ = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # a grandchild escaped the group and holds the pipe
                output = ""
            text = truncate(output or "", self.limits.max_output_chars)
            return ToolResult(f"{text}\nError: the command timed out after {timeout:g}s "
                              "and was killed.", False)
        text = truncate(output, self.limits.max_output_chars)
        return ToolResult(f"exit code: {proc.returncode}\n{text}", proc.returncode == 0)

    def view(self, args: ViewArgs) -> ToolResult:
        path = self._path(args.path)
        if path.is_dir():
            entries = sorted(p.relative_to(path).as_posix() + ("/" if p.is_dir() else "")
                             for p in path.iterdir() if p.name != ".git")
            return ToolResult(truncate("\n".join(entries), self.limits.max_output_chars))
        if not path.is_file():
            raise ToolError(f"{args.path} does not exist.")
        lines = path.read_text(encoding="utf-8").splitlines()
        start = args.start_line or 1
        end = min(args.end_line or len(lines), len(lines))
        if start > max(len(lines), 1) or end < start:
            raise ToolError(f"line range {start}..{end} is outside {args.path} "
                            f"({len(lines)} lines).")
        numbered = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
        return ToolResult(truncate(numbered, self.limits.max_output_chars))

    def str_replace(self, args: StrReplaceArgs) -> ToolResult:
        path = self._path(args.path)
        if not path.is_file():
            raise ToolError(f"{args.path} does not exist; use create for a new file.")
        text = path.read_text(encoding="utf-8")
        count = text.count(args.old_str)
        if count == 0:
            raise ToolError(f"old_str was not found in {args.path}; nothing changed. "
                            "View the file and copy the text exactly, whitespace included.")
        if count > 1:
            lines = _lines_of(text, args.old_str)
            raise ToolError(f"old_str occurs {count} times in {args.path} (lines {lines}); "
                            "nothing changed. Include more surrounding lines to make it unique.")
        path.write_text(text.replace(args.old_str, args.new_str), encoding="utf-8")
        first = text[: text.index(args.old_str)].count("\n") + 1
        return ToolResult(f"Edited {args.path} at line {first}.")

    def create(self, args: CreateArgs) -> ToolResult:
        path = self._path(args.path)
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(args.content, encoding="utf-8")
        return ToolResult(f"{'Overwrote' if existed else 'Created'} {args.path}.")

    def submit(self, args: SubmitArgs) -> ToolResult:
        return ToolResult(args.summary or "Submitted.", submitted=True)


def _lines_of(text: str, needle: str) -> list[int]:
    """1-based line numbers where each occurrence of `needle` starts."""
    found, start = [], text.find(needle)
    while start != -1:
        found.append(text[:start].count("\n") + 1)
        start = text.find(needle, start + 1)
    return found
