"""Tar streams in and out of containers, without trusting what comes out."""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agentforge.errors import SandboxError

DEFAULT_EXCLUDES = (".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache")


@dataclass
class Upload:
    """What one copy into a sandbox writes under a folder: host folders, in-memory files and
    empty folders, by path relative to it (for one path, the last one added wins)."""

    entries: dict[str, tuple[str, Path | bytes | None, int]] = field(default_factory=dict)

    def tree(self, rel: str, source: Path) -> Upload:
        """The contents of a host folder (caches left out) at `rel` ("" for the top)."""
        self.entries[rel] = ("tree", Path(source), 0o755)
        return self

    def file(self, rel: str, data: bytes | str, mode: int = 0o644) -> Upload:
        self.entries[rel] = ("file", data.encode() if isinstance(data, str) else data, mode)
        return self

    def folder(self, rel: str, mode: int = 0o755) -> Upload:
        self.entries[rel] = ("folder", None, mode)
        return self


def pack_upload(upload: Upload, *, uid: int, gid: int, prefix: str = "",
                excludes: Iterable[str] = DEFAULT_EXCLUDES) -> tempfile.SpooledTemporaryFile:
    """Tar an upload under `prefix`, every entry owned by uid:gid.

    Folders on the way get entries of their own: the engine would otherwise create them as
    root, and the sandbox user could not add files next to the ones written here.
    """
    excluded = set(excludes)
    now = time.time()
    names = {rel: str(PurePosixPath(prefix, rel)) if rel else prefix
             for rel in upload.entries}
    parents = sorted({str(parent) for name in names.values() if name
                      for parent in PurePosixPath(name).parents if str(parent) != "."})
    buffer = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - returned

    def entry(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.size, info.mtime = kind, mode, size, now
        info.uid, info.gid = uid, gid
        return info

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if excluded.intersection(PurePosixPath(info.name).parts):
            return None
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in parents:
            tar.addfile(entry(folder, tarfile.DIRTYPE, 0o755))
        for rel, (kind, source, mode) in upload.entries.items():
            name = names[rel]
            if kind == "tree":
                if name:
                    tar.addfile(entry(name, tarfile.DIRTYPE, mode))
                for child in sorted(source.iterdir()):
                    tar.add(child, arcname=str(PurePosixPath(name, child.name)) if name
                            else child.name, filter=owned)
            elif kind == "file":
                tar.addfile(entry(name, tarfile.REGTYPE, mode, len(source)), io.BytesIO(source))
            else:
                tar.addfile(entry(name, tarfile.DIRTYPE, mode))
    buffer.seek(0)
    return buffer


def pack_directory(source: Path, *, uid: int, gid: int,
                   excludes: Iterable[str] = DEFAULT_EXCLUDES) -> tempfile.SpooledTemporaryFile:
    """Tar the contents of `source` (not the folder itself), owned by uid:gid."""
    return pack_upload(Upload().tree("", source), uid=uid, gid=gid, excludes=excludes)


def spool_stream(
    chunks: Iterator[bytes], max_bytes: int, what: str
) -> tempfile.SpooledTemporaryFile:
    """Collect a tar stream into a spooled file, refusing more than `max_bytes`."""
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - returned
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            raise SandboxError(f"copying {what} out of the sandbox exceeds {max_bytes} bytes")
        spool.write(chunk)
    spool.seek(0)
    return spool


def extract_safely(archive, destination: Path) -> None:
    """Extract a tar from a sandbox: no absolute paths, no escapes, no devices or links out.

    Every entry is checked before anything is written, so a refused archive leaves the
    destination as it was.
    """
    if not hasattr(tarfile, "data_filter"):
        raise SandboxError("copying out of a sandbox needs Python >= 3.11.4 (tarfile filters)")
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=archive, mode="r") as tar:
        try:
            for member in tar.getmembers():
                # The data filter would quietly strip a leading "/": a sandbox never sends
                # one legitimately, so it is refused like any other attempt to escape.
                if member.name.startswith("/"):
                    raise tarfile.AbsolutePathError(member)
                tarfile.data_filter(member, str(destination))
            tar.extractall(destination, filter="data")
        except tarfile.FilterError as exc:
            raise SandboxError(
                f"refused an unsafe entry from the sandbox ({exc}); nothing was copied. "
                "Copy a narrower path, or remove absolute/outward links in the sandbox first"
            ) from exc
