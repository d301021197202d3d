"""Where the tools act: this machine (local) or another sandbox through an exec channel.

The framework sets AGENTFORGE_EXEC_URL (and AGENTFORGE_EXEC_TOKEN) when the repository lives
in another container (SWE-bench: the instance's /testbed); then every command and file
operation of the tools goes there over HTTP. Standard library only.
"""

from __future__ import annotations

import json
import os
import posixpath
import shlex
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Ran:
    """How a shell command ended."""

    exit_code: int
    output: str
    timed_out: bool = False


class LocalEnvironment:
    """Commands and files on this machine, in the repository folder."""

    def __init__(self, repo: str | Path) -> None:
        self.repo = str(Path(repo).resolve())

    def path(self, path: str) -> str:
        """A tool's path argument made absolute (relative ones are under the repository)."""
        return str((Path(self.repo) / path).resolve())

    def run(self, command: str, timeout: float) -> Ran:
        """Run a shell command in the repository; kill its process group on timeout."""
        shell = shutil.which("bash") or "/bin/sh"
        proc = subprocess.Popen([shell, "-c", command], cwd=self.repo, text=True,
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
            return Ran(-9, output or "", timed_out=True)
        return Ran(proc.returncode, output)

    def kind(self, path: str) -> str | None:
        """'dir', 'file', or None when nothing is there."""
        p = Path(path)
        return "dir" if p.is_dir() else "file" if p.is_file() else None

    def list_dir(self, path: str) -> list[str]:
        """Entries of a directory, folders marked with a trailing '/'."""
        return [p.name + ("/" if p.is_dir() else "") for p in Path(path).iterdir()]

    def read_text(self, path: str) -> str:
        """The UTF-8 text of a file."""
        return Path(path).read_text(encoding="utf-8")

    def write_text(self, path: str, content: str) -> None:
        """Create or replace a file, making its folders."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content, encoding="utf-8")


class RemoteEnvironment:
    """Commands and files in another sandbox, through the framework's exec channel."""

    def __init__(self, repo: str, url: str, token: str) -> None:
        self.repo = posixpath.normpath(str(repo))
        self.url = url.rstrip("/")
        self.token = token

    def path(self, path: str) -> str:
        """A tool's path argument made absolute in the other sandbox."""
        return posixpath.normpath(posixpath.join(self.repo, path))

    def _call(self, operation: str, body: dict, timeout: float = 120.0) -> dict:
        request = urllib.request.Request(
            f"{self.url}/{operation}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            message = _error_text(exc)
            if exc.code == 404:
                raise FileNotFoundError(message) from exc
            raise OSError(f"exec channel: {message}") from exc

    def run(self, command: str, timeout: float) -> Ran:
        """Run a shell command in the repository of the other sandbox."""
        # The channel enforces the timeout; our HTTP wait allows for the round trip on top.
        done = self._call("exec", {"cmd": command, "timeout": timeout, "cwd": self.repo},
                          timeout=timeout + 120)
        return Ran(done["exit_code"], done["output"], done["timed_out"])

    def kind(self, path: str) -> str | None:
        """'dir', 'file', or None when nothing is there."""
        quoted = shlex.quote(path)
        done = self.run(f"if [ -d {quoted} ]; then echo dir; elif [ -f {quoted} ]; "
                        "then echo file; fi", 60)
        return done.output.strip() or None

    def list_dir(self, path: str) -> list[str]:
        """Entries of a directory, folders marked with a trailing '/'."""
        done = self.run(f"ls -1Ap {shlex.quote(path)}", 60)
        if done.exit_code != 0:
            raise OSError(done.output.strip())
        return done.output.splitlines()

    def read_text(self, path: str) -> str:
        """The UTF-8 text of a file."""
        return self._call("read_file", {"path": path})["content"]

    def write_text(self, path: str, content: str) -> None:
        """Create or replace a file (the channel makes its folders)."""
        self._call("write_file", {"path": path, "content": content})


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read()).get("error") or str(exc)
    except ValueError:
        return str(exc)


def open_environment(repo: str | Path) -> LocalEnvironment | RemoteEnvironment:
    """The remote environment when the framework gave an exec channel, else the local one."""
    url = os.environ.get("AGENTFORGE_EXEC_URL")
    if url:
        return RemoteEnvironment(str(repo), url, os.environ.get("AGENTFORGE_EXEC_TOKEN", ""))
    return LocalEnvironment(repo)
