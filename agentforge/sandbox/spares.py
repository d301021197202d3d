"""Spare sandboxes: started ahead of need, so that creating and starting a container (its disk,
its warden) leaves the critical path of an evaluation.

A `SandboxConfig` with `spares = N` asks for it: a sandbox of that config takes a ready spare
of the same shape when it starts (else it starts as usual), and spares of that shape are
started again on a thread, up to N, for the sandboxes that follow. The shape is the config
without what a sandbox can take on after its start: the environment (every command gets it
with the call), labels, the default timeout, and the host side of bind mounts. A spare mounts
empty folders of its own where the config mounts host folders; taking it hard-links the files
of the requested folders into them (the gateway's socket and forwarder.py), so the container
sees what a fresh one would. A spare that cannot be fitted so is removed and the sandbox
starts as usual. A spare also starts the helpers that sandboxes of its shape started
(`start_background` with the config's environment: the gateway's forwarder), with the
shape's environment, so a sandbox that takes it finds them running and ready. When the `with`
of such a sandbox ends, it is removed on a thread too.

Spares are labelled like every sandbox (plus `agentforge.spare`), so `agentforge sandbox reap`
and the abort remover take those of a dead process; a process keeps at most `MAX_SPARES`,
each at most `IDLE_SECONDS` unused, and removes them at exit (`remove_spares`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agentforge.errors import SandboxError

if TYPE_CHECKING:
    from agentforge.sandbox.config import SandboxConfig
    from agentforge.sandbox.container import Sandbox

MAX_SPARES = int(os.environ.get("AGENTFORGE_SANDBOX_SPARES", "4"))
"""Spares one process keeps at most, all shapes together (0 turns them off)."""
IDLE_SECONDS = 300.0
"""A spare unused for this long is removed."""
MAX_HELPERS = 4
"""Helpers remembered per shape."""

log = logging.getLogger(__name__)


@dataclass
class Spare:
    """A started sandbox and the host folders it mounts in place of the config's."""

    sandbox: Sandbox
    folders: dict[str, Path]
    """Bind target (as the config writes it, `/run/agentforge:ro`) -> the spare's folder."""
    made: float


def shape(config: SandboxConfig) -> str | None:
    """What makes sandboxes interchangeable; None when a bind is not a folder (no spares)."""
    if any(not Path(host).is_dir() for host in config.binds):
        return None
    data = config.model_dump(mode="json", exclude={"env", "labels", "timeout", "spares",
                                                   "binds"})
    data["binds"] = sorted(config.binds.values())
    return json.dumps(data, sort_keys=True)


class SparePool:
    """Ready spares by shape, and the threads starting more."""

    def __init__(self) -> None:
        self._ready: dict[str, list[Spare]] = {}
        self._starting: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0  # a spare started before the last clear() is not kept
        self._threads: list[threading.Thread] = []
        self._helpers: dict[str, list[tuple]] = {}

    def ready(self, config: SandboxConfig) -> int:
        """How many spares of the config's shape are ready now."""
        with self._lock:
            return len(self._ready.get(shape(config) or "", []))

    def take(self, config: SandboxConfig) -> Spare | None:
        """A ready spare of the config's shape, its folders filled as the config's; or None."""
        key = shape(config)
        if key is None:
            return None
        self._expire()
        with self._lock:
            ready = self._ready.get(key) or []
            spare = ready.pop(0) if ready else None
        if spare is None:
            return None
        try:
            for host, target in config.binds.items():
                _link_contents(Path(host), spare.folders[target])
        except OSError as exc:
            log.info("a spare sandbox could not take the folders of %s (%s): starting anew",
                     list(config.binds), exc)
            _discard(spare)
            return None
        return spare

    def note_helper(self, config: SandboxConfig, helper: tuple) -> None:
        """Remember a helper a sandbox of this shape started: spares start it too."""
        key = shape(config)
        with self._lock:
            helpers = self._helpers.setdefault(key or "", [])
            if key is not None and helper not in helpers and len(helpers) < MAX_HELPERS:
                helpers.append(helper)

    def replenish(self, config: SandboxConfig, make: Callable[[SandboxConfig], Sandbox]) -> None:
        """Start spares of the config's shape on a thread, up to `config.spares` ready;
        `make(config)` is an unstarted sandbox (the caller's class: no import back)."""
        key = shape(config)
        if key is None or MAX_SPARES <= 0:
            return
        with self._lock:
            total = sum(len(v) for v in self._ready.values()) + sum(self._starting.values())
            mine = len(self._ready.get(key, [])) + self._starting.get(key, 0)
            if self._closed or mine >= config.spares or total >= MAX_SPARES:
                return
            self._starting[key] = self._starting.get(key, 0) + 1
            generation = self._generation
            thread = threading.Thread(target=self._make, args=(config, make, key, generation),
                                      daemon=True, name="sandbox-spare")
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _make(self, config: SandboxConfig, make: Callable[[SandboxConfig], Sandbox],
              key: str, generation: int) -> None:
        folders = {target: Path(tempfile.mkdtemp(prefix="agentforge-spare-"))
                   for target in config.binds.values()}
        for host, target in config.binds.items():
            os.chmod(folders[target], 0o755)  # the sandbox user must traverse it
            _copy_files(Path(host), folders[target])  # forwarder.py, for its helpers
        labels = {k: v for k, v in config.labels.items() if k != "agentforge.task"}
        spare_config = config.model_copy(update={
            "env": {}, "spares": 0, "labels": {**labels, "agentforge.spare": "1"},
            "binds": {str(folder): target for target, folder in folders.items()}})
        with self._lock:
            helpers = list(self._helpers.get(key, []))
        spare = None
        try:
            box = make(spare_config).start()
            spare = Spare(box, folders, time.monotonic())
            for cmd, _env, user, port in helpers:
                box.start_background(cmd, user=user, ready_port=port)
        except SandboxError as exc:
            log.warning("could not start a spare sandbox: %s", exc)
            if spare is not None:
                _discard(spare)
                spare = None
        finally:
            with self._lock:
                self._starting[key] -= 1
                keep = (spare is not None and not self._closed
                        and generation == self._generation)
                if keep:
                    self._ready.setdefault(key, []).append(spare)
        if spare is None:
            _remove_folders(folders)
        elif not keep:
            _discard(spare)

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            stale = [s for spares in self._ready.values() for s in spares
                     if now - s.made > IDLE_SECONDS]
            for spares in self._ready.values():
                spares[:] = [s for s in spares if s not in stale]
        for spare in stale:
            _discard(spare)

    def remove_later(self, sandbox: Sandbox) -> None:
        """Remove a sandbox on a thread (`clear` waits for it)."""
        thread = threading.Thread(target=_remove, args=(sandbox,), daemon=True,
                                  name="sandbox-spare-remove")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def clear(self, wait: float = 120.0) -> None:
        """Remove every spare: the ready ones, and those still starting once they are up
        (waiting for them up to `wait` seconds)."""
        with self._lock:
            self._generation += 1
            spares = [s for v in self._ready.values() for s in v]
            self._ready.clear()
            threads = list(self._threads)
        for spare in spares:
            _discard(spare)
        give_up = time.monotonic() + wait
        for thread in threads:
            thread.join(max(0.0, give_up - time.monotonic()))

    def close(self) -> None:
        """Clear, and start no spare any more (at exit)."""
        with self._lock:
            self._closed = True
        self.clear()


def _link_contents(source: Path, target: Path) -> None:
    """Hard-link the files of `source` into `target`, over what is there (a unix socket's
    link reaches its server); OSError for a folder inside, or another filesystem."""
    for entry in source.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            raise OSError(f"{entry} is a folder")
        (target / entry.name).unlink(missing_ok=True)
        os.link(entry, target / entry.name)


def _copy_files(source: Path, target: Path) -> None:
    """Copy the regular files of `source` into `target` (what helpers read at start)."""
    for entry in source.iterdir():
        if entry.is_file() and not entry.is_symlink():
            shutil.copy2(entry, target / entry.name)


def _remove(sandbox: Sandbox) -> None:
    try:
        sandbox.remove()
    except SandboxError as exc:
        log.warning("removing a sandbox: %s", exc)


def _discard(spare: Spare) -> None:
    _remove(spare.sandbox)
    _remove_folders(spare.folders)


def _remove_folders(folders: dict[str, Path]) -> None:
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)


SPARES = SparePool()
"""This process's spares."""


def remove_spares() -> None:
    """Remove this process's spares, ready or starting (at the end of a run)."""
    SPARES.clear()


atexit.register(SPARES.close)
