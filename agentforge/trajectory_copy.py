"""Copying an agent's output folder (its trajectory) out of a sandbox, within a size cap.

An agent writes what it likes into its output folder, and every task of every node keeps a
copy in the run directory: uncapped, one agent could put hundreds of MiB per task there. So
at most `max_bytes` are kept (default 16 MiB): trajectory.json first, then the other files
in the order the sandbox lists them while they fit. What was left out is said where a reader
looks: a `agentforge_truncated` entry in the kept trajectory.json and a TRUNCATED.txt next to
it. A trajectory.json larger than the cap alone is never dropped: it is read again as a
stream (whatever its size) with its long strings shortened (agentforge.trajectory_shorten),
so it stays valid JSON with its stop_reason and every message's role; if even strings of a
few bytes do not fit, only its stop_reason is kept.

The tar stream is untrusted: every entry passes tarfile's `data` filter (no absolute paths,
no escapes, no links out, no devices) and reading stops at a hard limit.
"""

from __future__ import annotations

import io
import json
import shlex
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from docker.errors import APIError, NotFound

from agentforge.errors import SandboxError
from agentforge.sandbox import Sandbox
from agentforge.sandbox.engine import docker_client
from agentforge.trajectory_shorten import JsonShortener

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
TRAJECTORY = "trajectory.json"
NOTE_KEY = "agentforge_truncated"
NOTE_FILE = "TRUNCATED.txt"
_READ_FACTOR = 4
"""Stop reading a stream after this many times the cap (skipped data is read too)."""
MAX_FILES = 5000
"""Files of an output folder considered at all (an agent may write millions)."""
MAX_FETCHES = 500
"""Files copied one by one from a folder over the cap (one engine call each)."""
CUT_LIMITS = (4096, 512, 64, 16)
"""Bytes each string of an oversized trajectory.json keeps, one try after the other."""


@dataclass
class CopiedTrajectory:
    """What a capped copy kept and left out."""

    folder: Path
    kept_bytes: int = 0
    dropped: list[dict] = field(default_factory=list)
    """{"path", "bytes"} of every file left out (bytes None: not read at all)."""
    shortened: bool = False
    """trajectory.json alone was over the cap: its long strings were shortened."""
    too_big: bool = False
    """trajectory.json did not fit what was left of the cap (it is shortened after)."""

    @property
    def truncated(self) -> bool:
        """Whether anything was cut."""
        return bool(self.dropped) or self.shortened


class _ChunkReader(io.RawIOBase):
    """A file over a chunk iterator that refuses to read past `limit` bytes."""

    def __init__(self, chunks, limit: int) -> None:
        self.chunks, self.limit, self.read_bytes, self.buffer = iter(chunks), limit, 0, b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self.buffer:
            chunk = next(self.chunks, None)
            if chunk is None:
                return 0
            self.read_bytes += len(chunk)
            if self.read_bytes > self.limit:
                raise _ReadLimit
            self.buffer = chunk
        size = min(len(target), len(self.buffer))
        target[:size], self.buffer = self.buffer[:size], self.buffer[size:]
        return size


class _ReadLimit(Exception):
    """The stream went past the hard read limit."""


def copy_trajectory(box: Sandbox, out_dir: str, destination: Path,
                    max_bytes: int = DEFAULT_MAX_BYTES, *,
                    listing: dict[str, int] | None = None) -> CopiedTrajectory:
    """Copy `out_dir` of the sandbox to destination/<its name>, keeping at most `max_bytes`.

    `listing` is the folder's files (parse_listing of listing_command's output), when the
    caller already has it; else it is asked for here.
    """
    folder = Path(destination) / PurePosixPath(out_dir).name
    folder.mkdir(parents=True, exist_ok=True)
    copied = CopiedTrajectory(folder)
    files = _listing(box, out_dir) if listing is None else listing
    if sum(files.values()) <= max_bytes:  # the usual case: one stream of the whole folder
        _stream_into(box, out_dir, folder.parent, copied, max_bytes, strip=f"{folder.name}/")
    else:
        # Sizes from the sandbox are hints (a file may grow, a listing may lie): every
        # stream is still cut at what is left of the cap.
        order = sorted(files, key=lambda name: (name != TRAJECTORY, files[name], name))
        for index, name in enumerate(order):
            if (copied.kept_bytes + files[name] > max_bytes or index >= MAX_FETCHES) \
                    and name != TRAJECTORY:
                copied.dropped.append({"path": name, "bytes": files[name]})
                continue
            parent = PurePosixPath(name).parent
            _stream_into(box, f"{out_dir}/{name}", folder / parent, copied, max_bytes,
                         only=PurePosixPath(name).name,
                         prefix="" if str(parent) == "." else f"{parent}/")
    if not (folder / TRAJECTORY).exists() and (copied.too_big or TRAJECTORY in files):
        _keep_shortened(box, f"{out_dir}/{TRAJECTORY}", folder, copied,
                        max_bytes - copied.kept_bytes)
    if copied.truncated:
        _write_note(folder, copied, max_bytes)
    return copied


def listing_command(out_dir: str) -> str:
    """A shell command printing the regular files under `out_dir` (size and relative path)."""
    return f"find {shlex.quote(out_dir)} -type f -printf '%s %P\\0'"


def _listing(box: Sandbox, out_dir: str) -> dict[str, int]:
    """Regular files under out_dir (relative path -> size), as the sandbox reports them."""
    done = box.exec(listing_command(out_dir), timeout=120, workdir="/")
    return parse_listing(done.stdout)


def parse_listing(text: str) -> dict[str, int]:
    """listing_command's output as {relative path: size}; entries that could escape are
    left out."""
    files: dict[str, int] = {}
    for entry in text.split("\0")[:MAX_FILES]:
        size, _, name = entry.partition(" ")
        parts = PurePosixPath(name).parts
        if size.isdigit() and parts and ".." not in parts and not name.startswith("/"):
            files[name] = int(size)
    return files


def _stream_into(box: Sandbox, path: str, target: Path, copied: CopiedTrajectory,
                 max_bytes: int, *, only: str | None = None, prefix: str = "",
                 strip: str = "") -> None:
    """Extract the tar of `path` into `target` within the cap; entries not `only` are skipped.

    A file's name in the output folder (what a note lists) is prefix + its name in the
    stream, without `strip`.
    """
    try:
        chunks, _stat = docker_client().api.get_archive(box.container_id, path)
    except NotFound:
        return  # no trajectory.json (a crash): the agent_crash check says so
    except APIError as exc:
        raise SandboxError(f"cannot copy {path} out of sandbox {box.name}: "
                           f"{exc.explanation}") from exc
    reader = _ChunkReader(chunks, max_bytes * _READ_FACTOR + 1024 * 1024)
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, 1024 * 1024), mode="r|") as tar:
            for member in tar:
                if only is not None and member.name != only:
                    continue
                _take(tar, member, target, copied, max_bytes,
                      (prefix + member.name).removeprefix(strip))
    except _ReadLimit:
        copied.dropped.append({"path": "(the rest of the folder)", "bytes": None})
    except tarfile.TarError as exc:
        raise SandboxError(f"the sandbox sent a broken archive of {path}: {exc}") from exc


def _take(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path,
          copied: CopiedTrajectory, max_bytes: int, name: str) -> None:
    """Extract one entry if it is safe and fits; else record it as dropped."""
    if member.name.startswith("/"):
        raise SandboxError(f"refused an absolute path from the sandbox: {member.name}")
    try:
        safe = tarfile.data_filter(member, str(target))
    except tarfile.FilterError as exc:
        raise SandboxError(f"refused an unsafe entry from the sandbox ({exc})") from exc
    if not safe.isreg():
        if safe.isdir():
            tar.extract(safe, target, filter="data")
        return  # links and the like are not trajectory data
    if copied.kept_bytes + safe.size > max_bytes:
        if name == TRAJECTORY:
            copied.too_big = True
        else:
            copied.dropped.append({"path": name, "bytes": safe.size})
        return
    tar.extract(safe, target, filter="data")
    copied.kept_bytes += safe.size


def _keep_shortened(box: Sandbox, path: str, folder: Path, copied: CopiedTrajectory,
                    budget: int) -> None:
    """trajectory.json over what is left of the cap: keep it with its strings shortened,
    shorter on every try; if nothing fits, keep its stop_reason alone. Never dropped, unless
    it is not JSON at all (then it was unreadable anyway)."""
    shortener = None
    for limit in CUT_LIMITS:
        shortener = JsonShortener(limit, budget)
        if not _feed(box, path, shortener):
            return  # gone meanwhile: the agent_crash check reports a missing trajectory
        if not shortener.over:
            break
    if shortener.over:
        text = json.dumps({"stop_reason": shortener.stop_reason}).encode()
    else:
        text = bytes(shortener.out)
        try:
            readable = isinstance(json.loads(text), dict)
        except ValueError:
            readable = False
        if not readable:
            copied.dropped.append({"path": TRAJECTORY, "bytes": None})
            return
    (folder / TRAJECTORY).write_bytes(text)
    copied.shortened = True
    copied.kept_bytes += len(text)


def _feed(box: Sandbox, path: str, shortener: JsonShortener) -> bool:
    """Stream the file at `path` through the shortener (until it is over); False if absent."""
    try:
        chunks, _stat = docker_client().api.get_archive(box.container_id, path)
    except NotFound:
        return False
    except APIError as exc:
        raise SandboxError(f"cannot copy {path} out of sandbox {box.name}: "
                           f"{exc.explanation}") from exc
    reader = io.BufferedReader(_ChunkReader(chunks, 1 << 62), 1024 * 1024)
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            member = tar.next()
            if member is None or not member.isreg():
                return False
            source = tar.extractfile(member)
            while not shortener.over and (block := source.read(1024 * 1024)):
                shortener.feed(block)
    except tarfile.TarError as exc:
        raise SandboxError(f"the sandbox sent a broken archive of {path}: {exc}") from exc
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return True


def _write_note(folder: Path, copied: CopiedTrajectory, max_bytes: int) -> None:
    note = {"cap_bytes": max_bytes, "kept_bytes": copied.kept_bytes,
            "trajectory_shortened": copied.shortened, "dropped": copied.dropped[:200],
            "dropped_files": len(copied.dropped),
            "why": "the agent's output folder was larger than the run keeps per task "
                   "(max_trajectory_mb); this copy is cut"}
    (folder / NOTE_FILE).write_text(
        f"This copy of the agent's output folder was cut at {max_bytes} bytes "
        f"(max_trajectory_mb). {len(copied.dropped)} file(s) left out:\n"
        + "".join(f"  {d['path']} ({d['bytes'] if d['bytes'] is not None else '?'} bytes)\n"
                  for d in copied.dropped[:200]))
    trajectory = folder / TRAJECTORY
    try:
        data = json.loads(trajectory.read_text())
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        data[NOTE_KEY] = note
        trajectory.write_text(json.dumps(data))
