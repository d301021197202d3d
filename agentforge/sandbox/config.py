"""SandboxConfig: the isolation policy of one sandbox, safe by default, every field overridable."""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SIZE = re.compile(r"^\d+(\.\d+)?[bkmg]?$", re.IGNORECASE)
_UNITS = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
DISK_LIMIT_VAR = "AGENTFORGE_SANDBOX_DISK_LIMIT"
"""Overrides the default disk limit of every sandbox a process creates (`8g`, or `none`)."""
DEFAULT_DISK_LIMIT = "4g"
DiskMechanism = Literal["auto", "loop", "tmpfs", "none"]


def size_bytes(size: str) -> int:
    """Bytes in a docker-style size (512m, 2g, 1.5g; binary units; no unit means bytes)."""
    if not _SIZE.match(size):
        raise ValueError(f"a size looks like 64m or 4g, got {size!r}")
    unit = size[-1].lower() if size[-1].isalpha() else "b"
    number = size[:-1] if size[-1].isalpha() else size
    return int(float(number) * _UNITS[unit])


def _default_disk_limit() -> str | None:
    value = os.environ.get(DISK_LIMIT_VAR, DEFAULT_DISK_LIMIT).strip()
    return None if value.lower() in {"", "none", "0"} else value


class SandboxConfig(BaseModel):
    """How a sandbox container is created; the defaults are the isolation policy."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    image: str | None = None
    """Image to run; None means the agent runtime image built by `agentforge images build`."""
    network: str = "none"
    """Docker network mode. `none` leaves only loopback; anything else must be asked for."""
    user: str = "1000:1000"
    """uid:gid the sandbox's commands run as. Never root unless explicitly configured."""
    memory: str = "2g"
    """Memory limit (docker syntax: 512m, 2g). Swap is disabled: the limit is hard."""
    cpus: float = Field(1.0, gt=0)
    """CPU quota in cores."""
    pids_limit: int = Field(256, gt=8)
    """Maximum number of processes and threads inside the sandbox (stops fork bombs)."""
    read_only_root: bool = True
    """Mount the image's root filesystem read-only; only writable_paths and tmpfs can change."""
    cap_drop: list[str] = Field(default_factory=lambda: ["ALL"])
    """Linux capabilities dropped from every process in the sandbox."""
    no_new_privileges: bool = True
    """Forbid privilege gain through setuid binaries."""
    writable_paths: list[str] = Field(default_factory=lambda: ["/workspace", "/task"])
    """Paths backed by a private anonymous volume, writable by the sandbox user."""
    tmpfs: dict[str, str] = Field(
        default_factory=lambda: {"/tmp": "rw,exec,nosuid,nodev,size=512m,mode=1777"}
    )
    """tmpfs mounts (path -> mount options); they count against the memory limit."""
    workdir: str = "/workspace"
    """Working directory of commands unless a call says otherwise."""
    env: dict[str, str] = Field(default_factory=lambda: {"HOME": "/tmp", "LANG": "C.UTF-8"})
    """Environment of every command. Nothing from the host's environment is passed."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra labels (run id, node, task) added to the standard agentforge labels."""
    binds: dict[str, str] = Field(default_factory=dict)
    """Host path -> container path:mode bind mounts (e.g. the gateway socket, read-only data)."""
    timeout: float = Field(600.0, gt=0)
    """Default wall-clock limit in seconds for one command, enforced from the host."""
    output_limit: int = Field(1_000_000, ge=1024)
    """Bytes of command output kept (half from the head, half from the tail)."""
    warden: bool = True
    """Run the warden (warden.py, on the image's own Python 3.5+) as the container's first
    process: it starts every command and kills its whole tree at the deadline, out of the
    commands' reach. False, or an image without such a Python: commands run by docker exec
    and a timeout misses processes that leave their session and clear their environment."""
    spares: int = Field(0, ge=0)
    """Sandboxes of this shape kept started ahead of need (sandbox/spares.py): the next
    sandbox of an equal config takes one instead of creating its own. 0: none."""
    disk_limit: str | None = Field(default_factory=_default_disk_limit, validate_default=True)
    """Bytes the sandbox may write to its writable_paths together (64m, 4g); None: unbounded.
    Defaults to 4g, or to $AGENTFORGE_SANDBOX_DISK_LIMIT."""
    disk_mechanism: DiskMechanism = "auto"
    """How the disk limit is enforced: `loop` (an ext4 image per sandbox; needs root and a
    local engine), `tmpfs` (memory-backed; only when disk_limit fits in memory), `none`, or
    `auto` (the first of these that works here). `agentforge doctor` says which is in force."""

    @field_validator("memory")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        if not _SIZE.match(value):
            raise ValueError(f"memory must look like 512m or 2g, got {value!r}")
        return value

    @field_validator("disk_limit")
    @classmethod
    def _disk_size(cls, value: str | None) -> str | None:
        if value is not None and (not _SIZE.match(value) or size_bytes(value) < 1024**2):
            raise ValueError(f"disk_limit must look like 64m or 4g (at least 1m), got {value!r}"
                             f" (set ${DISK_LIMIT_VAR} or disk_limit: none for no limit)")
        return value

    @field_validator("user")
    @classmethod
    def _user_form(cls, value: str) -> str:
        if not re.match(r"^\d+(:\d+)?$", value):
            raise ValueError(f"user must be numeric uid[:gid] such as 1000:1000, got {value!r}")
        return value

    @property
    def uid(self) -> int:
        return int(self.user.split(":")[0])

    @property
    def memory_bytes(self) -> int:
        return size_bytes(self.memory)

    @property
    def disk_limit_bytes(self) -> int | None:
        return None if self.disk_limit is None else size_bytes(self.disk_limit)

    @property
    def gid(self) -> int:
        parts = self.user.split(":")
        return int(parts[1]) if len(parts) > 1 else int(parts[0])
