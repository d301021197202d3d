"""Bounding what a sandbox can write: a size-limited filesystem per sandbox, or tmpfs, or nothing.

Anonymous Docker volumes have no size, so one agent could fill the host's disk. In order of
preference, each sandbox's writable paths live on:
1. `loop`: a sparse ext4 image of `disk_limit` bytes, loop-mounted on the host (needs root
   and an engine on this machine), one subdirectory per writable path, each handed to Docker
   as a named `local` volume (a bind), so Docker still copies the image's files into it.
   Writes past the limit fail with ENOSPC; the host loses at most `disk_limit` bytes.
2. `tmpfs`: a memory-backed named volume of `disk_limit` bytes per path; it counts against
   the sandbox's memory, so it is used only when the limit fits in the memory limit.
3. `none`: unbounded, with a warning (and a warning in `agentforge doctor`).
A writable root filesystem (read_only_root=False) is bounded only where the storage driver
takes `--storage-opt size` (see `storage_opt_supported`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError, NotFound
from docker.types import Mount
from requests.exceptions import RequestException

from agentforge import host_commands
from agentforge.errors import SandboxError
from agentforge.sandbox.config import SandboxConfig
from agentforge.sandbox.engine import docker_client, engine_address

LOOP, TMPFS, NONE = "loop", "tmpfs", "none"
DISKS_VAR = "AGENTFORGE_SANDBOX_DISKS"
"""Where the loop images live; default ~/.cache/agentforge/sandbox-disks."""
OWNER_FILE = "owner"
# Drivers that take `--storage-opt size=` (overlay2 only on xfs mounted with pquota).
_SIZED_DRIVERS = {"devicemapper", "btrfs", "zfs", "windowsfilter"}



@dataclass
class DiskChoice:
    """The mechanism that bounds a sandbox's writable paths, and why it was chosen."""

    mechanism: str
    reason: str


def disk_root() -> Path:
    """The folder holding one subfolder (image + mount point) per sandbox with a loop disk."""
    default = Path.home() / ".cache" / "agentforge" / "sandbox-disks"
    return Path(os.environ.get(DISKS_VAR) or default)


@functools.cache
def loop_unavailable() -> str | None:
    """Why a loop-mounted filesystem cannot be used here, or None when it can."""
    if os.geteuid() != 0:
        return f"loop disks need root (this process runs as uid {os.geteuid()})"
    missing = [tool for tool in ("mkfs.ext4", "mount", "umount") if shutil.which(tool) is None]
    if missing:
        return f"loop disks need {', '.join(missing)} (apt-get install e2fsprogs mount)"
    if not Path("/dev/loop-control").exists():
        return "loop disks need /dev/loop-control (the kernel's loop module: modprobe loop)"
    if not engine_address().startswith("unix://"):
        return f"loop disks need the Docker engine on this machine (DOCKER_HOST={engine_address()})"
    return None


_storage_opt_refused: list[str] = []


def storage_opt_failed(reason: str) -> None:
    """Record that the engine refused `--storage-opt size`; no sandbox asks again."""
    _storage_opt_refused.append(reason)


def storage_opt_supported() -> bool:
    """True when the engine's storage driver can bound a container's root filesystem."""
    return not _storage_opt_refused and _driver_takes_size()


@functools.cache
def _driver_takes_size() -> bool:
    info = docker_client().info()
    driver = info.get("Driver", "")
    backing = dict(info.get("DriverStatus") or []).get("Backing Filesystem", "")
    return driver in _SIZED_DRIVERS or (driver == "overlay2" and backing == "xfs")


def choose(config: SandboxConfig) -> DiskChoice:
    """The best mechanism that works here for `config` (or the one it names, if it works)."""
    limit, wanted = config.disk_limit_bytes, config.disk_mechanism
    if limit is None or wanted == NONE:
        return DiskChoice(NONE, "no disk limit configured")
    loop_problem = loop_unavailable()
    if wanted in ("auto", LOOP) and loop_problem is None:
        return DiskChoice(LOOP, f"an ext4 image of {config.disk_limit} per sandbox under "
                                f"{disk_root()}")
    tmpfs_problem = None if limit <= config.memory_bytes else (
        f"tmpfs would need {config.disk_limit} of memory but the memory limit is {config.memory}")
    if wanted in ("auto", TMPFS) and tmpfs_problem is None:
        return DiskChoice(TMPFS, f"a tmpfs of {config.disk_limit} per writable path (counts "
                                 "against the memory limit)")
    problem = loop_problem if wanted == LOOP else tmpfs_problem
    if wanted != "auto":
        raise SandboxError(f"disk_mechanism {wanted!r} cannot work here: {problem}; "
                           "use disk_mechanism: auto (see `agentforge doctor`)")
    return DiskChoice(NONE, f"disk writes are NOT bounded: {loop_problem}; {tmpfs_problem}")


class SandboxDisk:
    """The writable paths of one sandbox as Docker mounts, bounded by its disk limit."""

    def __init__(self, name: str, config: SandboxConfig, labels: dict[str, str]) -> None:
        self.name = name
        self.config = config
        self.labels = {**labels, "agentforge.disk-of": name}
        self.choice = choose(config)
        self.volumes: list[str] = []
        self.folder = disk_root() / name

    def mounts(self) -> list[Mount]:
        """Create what backs the writable paths and return their mounts."""
        if self.choice.mechanism == NONE:
            return [Mount(target=path, source=None, type="volume")
                    for path in self.config.writable_paths]
        if self.choice.mechanism == LOOP:
            return self._loop_mounts()
        return [self._volume(index, path, {"type": "tmpfs", "device": "tmpfs",
                                           "o": f"size={self.config.disk_limit_bytes},"
                                                "nodev,nosuid"})
                for index, path in enumerate(self.config.writable_paths)]

    def storage_opt(self) -> dict[str, str] | None:
        """`--storage-opt size` for a writable root filesystem, where the driver takes it."""
        if self.config.read_only_root or self.config.disk_limit is None:
            return None
        return {"size": self.config.disk_limit} if storage_opt_supported() else None

    def _loop_mounts(self) -> list[Mount]:
        image, mount_point = self.folder / "disk.img", self.folder / "mnt"
        mount_point.mkdir(parents=True, mode=0o700)
        (self.folder / OWNER_FILE).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        with open(image, "wb") as sparse:
            sparse.truncate(self.config.disk_limit_bytes)
        _run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-m", "0",
              "-E", "lazy_itable_init=1", str(image)])
        _run(["mount", "-o", "loop,nodev,nosuid", str(image), str(mount_point)])
        mounts = []
        for index, path in enumerate(self.config.writable_paths):
            backing = mount_point / str(index)
            backing.mkdir()
            os.chown(backing, self.config.uid, self.config.gid)
            mounts.append(self._volume(index, path, {"type": "none", "o": "bind",
                                                     "device": str(backing)}))
        return mounts

    def _volume(self, index: int, path: str, options: dict[str, str]) -> Mount:
        name = f"{self.name}-disk{index}"
        try:
            docker_client().api.create_volume(name, driver="local", driver_opts=options,
                                              labels=self.labels)
        except APIError as exc:
            raise SandboxError(f"cannot create the volume for {path} in sandbox {self.name}: "
                               f"{exc.explanation or exc}") from exc
        self.volumes.append(name)
        return Mount(target=path, source=name, type="volume")

    def release(self) -> None:
        """Remove the volumes and the loop disk (after the container is gone); idempotent."""
        release_disk(self.name, self.volumes)
        self.volumes = []


def release_disk(name: str, volumes: list[str] | None = None) -> None:
    """Remove a sandbox's disk volumes and loop filesystem; what is already gone is skipped."""
    api = docker_client().api
    try:
        if volumes is None:
            found = api.volumes(filters={"label": f"agentforge.disk-of={name}"})
            volumes = [volume["Name"] for volume in found.get("Volumes") or []]
        for volume in volumes:
            with contextlib.suppress(NotFound):
                api.remove_volume(volume, force=True)
    except (APIError, RequestException) as exc:
        raise SandboxError(f"cannot remove the disk volumes of sandbox {name}: {exc}; is a "
                           "container still using them? `agentforge sandbox reap` retries") from exc
    folder = disk_root() / name
    mount_point = folder / "mnt"
    if os.path.ismount(mount_point):
        # Lazy: a shell of ours still inside must not keep the space from being freed.
        try:
            _run(["umount", "-l", str(mount_point)])
        except SandboxError:
            if os.path.ismount(mount_point):
                raise
            # another process (a second run reaping) unmounted it first
    shutil.rmtree(folder, ignore_errors=True)


def leftover_disks() -> list[tuple[str, str]]:
    """(sandbox name, owner "host pid") of every loop disk folder on this machine."""
    root = disk_root()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        try:
            owner = (folder / OWNER_FILE).read_text().strip()
        except FileNotFoundError:  # not written yet, or the folder released meanwhile
            owner = ""
        except NotADirectoryError:
            continue
        found.append((folder.name, owner))
    return found


def _run(argv: list[str]) -> None:
    done = host_commands.run(argv, text=True, timeout=120)
    if done.returncode != 0:
        raise SandboxError(f"{' '.join(argv[:2])} failed for a sandbox disk: "
                           f"{(done.stderr or done.stdout).strip()[-300:]}")

