"""Tar streams in and out of containers, without trusting what comes out."""

from __future__ import annotations

import io
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from agentforge.errors import SandboxError

DEFAULT_EXCLUDES = (".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache")


def pack_directory(
    source: Path, *, uid: int, gid: int, excludes: Iterable[str] = DEFAULT_EXCLUDES
) -> tempfile.SpooledTemporaryFile:
    """Tar the contents of `source` (not the folder itself), owned by uid:gid."""
    excluded = set(excludes)
    # Returned open: the caller closes it (pack_directory is used in a `with`).
    buffer = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if excluded.intersection(PurePosixPath(info.name).parts):
            return None
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for child in sorted(source.iterdir()):
            tar.add(child, arcname=child.name, filter=owned)
    buffer.seek(0)
    return buffer


def pack_files(files: dict[str, bytes], *, uid: int, gid: int, mode: int = 0o644) -> bytes:
    """Tar in-memory files (relative path -> contents) owned by uid:gid, with their folders."""
    buffer = io.BytesIO()
    now = time.time()
    # Folders get entries of their own: the engine would otherwise create them as root,
    # and the sandbox user could not add files next to the ones written here.
    folders = sorted({str(parent) for name in files for parent in PurePosixPath(name).parents
                      if str(parent) != "."})
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.uid, info.gid, info.mtime = (
                tarfile.DIRTYPE, 0o755, uid, gid, now)
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, now
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


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
