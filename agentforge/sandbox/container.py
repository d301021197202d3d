"""Sandbox: one hardened container, always removed, with files in/out and timed commands."""

from __future__ import annotations

import contextlib
import logging
import shlex
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from docker.errors import APIError, DockerException, NotFound
from docker.types import LogConfig
from requests.exceptions import RequestException

from agentforge.errors import SandboxError
from agentforge.sandbox.config import SandboxConfig
from agentforge.sandbox.disk import NONE, SandboxDisk, storage_opt_failed
from agentforge.sandbox.engine import docker_client, standard_labels
from agentforge.sandbox.execution import (
    KILL_ALL_SCRIPT,
    PORT_WAIT_SCRIPT,
    TIMEOUT_EXIT_CODE,
    ExecResult,
    oom_kills,
    stream_exec,
)
from agentforge.sandbox.images import require_image
from agentforge.sandbox.spares import SPARES, Spare
from agentforge.sandbox.transfer import FileTransfer
from agentforge.sandbox.warden_link import BOOT_COMMAND, CAPABILITIES, WardenLink

log = logging.getLogger(__name__)

KEEPALIVE = ["sleep", "infinity"]
"""Without a warden, the container's command under docker-init (pid 1): the container lives
while it runs."""
KEEPALIVE_USER = "65534:65534"
"""uid:gid of docker-init and the keepalive (nobody): not the sandbox user's, so that its
commands (`kill -9 -1`, `pkill sleep`) cannot signal them and stop the container."""
_IMAGES_WITHOUT_WARDEN: set[str] = set()
_IMAGES_WITH_WARDEN: set[str] = set()
"""Images found to have (or not) a Python 3.5+ for a warden: learnt once per image and process;
a known one's sandbox does not wait for the greeting to start."""


class Sandbox(FileTransfer):
    """A running container under the policy of a SandboxConfig. Use it as a context manager."""

    def __init__(self, config: SandboxConfig | None = None, *, name: str | None = None) -> None:
        self.config = config or SandboxConfig()
        self.name = name or f"agentforge-{uuid.uuid4().hex[:12]}"
        self.image = self.config.image or require_image()
        self.container_id: str | None = None
        self.disk: SandboxDisk | None = None
        """What bounds the writable paths (`disk.choice` says which mechanism, and why)."""
        self.warden: WardenLink | None = None
        """The warden that runs this sandbox's commands (None: they run by docker exec)."""
        self._oom_seen = 0
        self._background: list[tuple[list[str], dict[str, str] | None, str, int | None]] = []
        self._own_folders: list[Path] = []
        self._prestarted: list[tuple] = []  # helpers its spare started (see spares.py)
        self._recover_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Create and start the container (or take a ready spare: `config.spares`); on any
        failure nothing is left behind."""
        spare = SPARES.take(self.config) if self.config.spares else None
        if spare is not None:
            self._adopt(spare)
        else:
            self._start()
        if self.config.spares:
            SPARES.replenish(self.config, type(self))
        return self

    def _adopt(self, spare: Spare) -> None:
        """Take over a spare's running container, disk, warden and bind folders."""
        box = spare.sandbox
        self.name, self.container_id, self.disk, self.warden = (
            box.name, box.container_id, box.disk, box.warden)
        box.container_id, box.disk, box.warden = None, None, None
        self._own_folders = list(spare.folders.values())
        self._background = list(box._background)
        self._prestarted = list(box._background)

    def _start(self) -> None:
        api = docker_client().api
        labels = standard_labels(self.config.labels)
        try:
            self.disk = SandboxDisk(self.name, self.config, labels)
            _warn_if_unbounded(self.disk)
            mounts, storage_opt = self.disk.mounts(), self.disk.storage_opt()
            warden = self.config.warden and self.image not in _IMAGES_WITHOUT_WARDEN
            storage_opt = self._start_container(api, mounts, labels, storage_opt, warden)
            if warden and not self._boot_warden():
                # Known from now on: the image's next sandboxes start without one at once.
                _IMAGES_WITHOUT_WARDEN.add(self.image)
                log.warning("image %s has no Python 3.5+ for the warden: its commands run by "
                            "docker exec, and a timeout misses processes that leave their "
                            "session and environment", self.image)
                api.remove_container(self.container_id, v=True, force=True)
                self._start_container(api, mounts, labels, storage_opt, False)
        except (APIError, SandboxError, OSError, TimeoutError) as exc:
            self._remove_quietly()
            detail = exc.explanation if isinstance(exc, APIError) else exc
            raise SandboxError(
                f"could not start a sandbox from image {self.image!r}: {detail or exc}"
            ) from exc
        except BaseException:
            self._remove_quietly()
            raise

    def _start_container(self, api, mounts, labels, storage_opt, warden: bool):
        """Create and start the container (attached first, for a warden); the storage
        options that worked."""
        try:
            created = self._create(api, mounts, labels, storage_opt, warden)
        except APIError as exc:
            if storage_opt is None or "storage-opt" not in str(exc.explanation or exc):
                raise
            # The driver looked able to bound a root filesystem but is not (overlay2 on
            # xfs without pquota): go on unbounded, as doctor says.
            storage_opt_failed(str(exc.explanation or exc))
            log.warning("the engine refused --storage-opt size (%s): writable root "
                        "filesystems are not bounded", exc.explanation or exc)
            storage_opt = None
            created = self._create(api, mounts, labels, None, warden)
        self.container_id = created["Id"]
        if warden:
            self.warden = WardenLink(api, self.container_id, self.name)
            self.warden.attach()
        api.start(self.container_id)
        return storage_opt

    def _boot_warden(self) -> bool:
        """Start the warden in the running container; False if the image cannot run one."""
        if self.warden.boot(wait=self.image not in _IMAGES_WITH_WARDEN):
            _IMAGES_WITH_WARDEN.add(self.image)
            return True
        self.warden.close()
        self.warden = None
        return False

    def _create(self, api, mounts, labels, storage_opt, warden: bool) -> dict:
        cfg = self.config
        binds = {host: {"bind": target.split(":")[0], "mode": _mode(target)}
                 for host, target in cfg.binds.items()}
        host_config = api.create_host_config(
            network_mode=cfg.network,
            cap_drop=cfg.cap_drop,
            # The warden alone holds these: every command it starts has none.
            cap_add=CAPABILITIES if warden else None,
            security_opt=["no-new-privileges:true"] if cfg.no_new_privileges else None,
            mem_limit=cfg.memory,
            memswap_limit=cfg.memory,
            nano_cpus=int(cfg.cpus * 1e9),
            pids_limit=cfg.pids_limit,
            read_only=cfg.read_only_root,
            tmpfs=cfg.tmpfs,
            mounts=mounts,
            binds=binds or None,
            init=not warden,  # the warden is the init: it reaps every orphan
            log_config=LogConfig(type="none"),
            storage_opt=storage_opt,
        )
        return api.create_container(
            self.image,
            command=BOOT_COMMAND if warden else KEEPALIVE,
            name=self.name,
            user="0:0" if warden else KEEPALIVE_USER,
            working_dir="/" if warden else cfg.workdir,
            environment=cfg.env,
            labels=labels,
            host_config=host_config,
            network_disabled=cfg.network == "none",
            stdin_open=warden,
        )

    def _remove_quietly(self) -> None:
        # Cleaning up after a failed start must not hide why the start failed.
        try:
            self.remove()
        except SandboxError as exc:
            log.warning("cleaning up the failed sandbox %s: %s", self.name, exc)

    def remove(self) -> None:
        """Remove the container, its volumes and its disk; safe to call twice."""
        if self.warden is not None:
            self.warden.close()
            self.warden = None
        if self.container_id is not None:
            try:
                docker_client().api.remove_container(self.container_id, v=True, force=True)
            except NotFound:
                pass
            except APIError as exc:
                # Another remover (the reaper, a second remove()) being at it counts as removed.
                if "already in progress" not in str(exc.explanation or exc):
                    raise SandboxError(
                        f"could not remove sandbox {self.name}: {exc.explanation or exc}; "
                        "remove it with `agentforge sandbox reap --all` or `docker rm -f`"
                    ) from exc
            except (RequestException, DockerException) as exc:
                raise SandboxError(
                    f"the Docker engine did not answer when removing sandbox {self.name} "
                    f"({exc}); remove it later with `agentforge sandbox reap`") from exc
            self.container_id = None
        if self.disk is not None:
            self.disk.release()
            self.disk = None
        for folder in self._own_folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._own_folders = []

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        if self.config.spares:
            SPARES.remove_later(self)  # off the caller's path, like the start
        else:
            self.remove()

    # -- commands --------------------------------------------------------------------------

    def exec(
        self,
        cmd: list[str] | str,
        *,
        timeout: float | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        kill_all_before: bool = False,
        kill_all_after: bool = False,
    ) -> ExecResult:
        """Run a command (a list, or a string for /bin/sh -c) and return how it ended.

        At the deadline every process the command started dies, whatever it did to its
        session, environment or parent; one that detached from the output and outlived the
        command's return dies then too. `kill_all_before`/`kill_all_after`: every other
        process in the sandbox is killed before the command starts / once it has ended,
        before the call returns (in the same round trip, with a warden).
        """
        self._require_running()
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        timeout = timeout or self.config.timeout
        options = {"user": user or self.config.user, "workdir": workdir or self.config.workdir,
                   "env": {**self.config.env, **(env or {})}}
        with self._docker_errors(f"exec {describe_command(cmd)[:80]!r}"):
            if self.warden is not None:
                return self._warden_exec(argv, timeout, options, kill_all_before,
                                         kill_all_after)
            if kill_all_before:
                self.kill_processes()
            result = self._docker_exec(argv, timeout, options)
            if kill_all_after:
                self.kill_processes()
            return result

    def _warden_exec(self, argv, timeout, options, kill_all_before, kill_all_after):
        started = time.monotonic()
        result = self.warden.run(argv, timeout=timeout, output_limit=self.config.output_limit,
                                 before="kill_all" if kill_all_before else None,
                                 after="kill_all" if kill_all_after else None, **options)
        if result is None:
            self._warden_lost(f"no answer to a command within {timeout:.0f}s of its deadline")
            return ExecResult(TIMEOUT_EXIT_CODE, "", time.monotonic() - started, timed_out=True)
        return result

    def _docker_exec(self, argv, timeout, options) -> ExecResult:
        outcome = stream_exec(docker_client().api, self.container_id, argv, timeout=timeout,
                              output_limit=self.config.output_limit, **options)
        result = outcome.result
        if outcome.restarted:
            # The killer could not end a timed-out tree, so the container was restarted:
            # bring back the helper daemons the sandbox relies on.
            self._restart_background()
        # 137 is SIGKILL; the cgroup's OOM counter tells the kernel's OOM killer from a kill.
        if result.exit_code == 137 and not result.timed_out:
            result.oom_killed = self._new_oom_kill()
        return result

    def _warden_lost(self, why: str) -> None:
        """The warden did not answer: restart the container (the last resort) with a new one,
        or raise a SandboxError when the container is not running at all."""
        api = docker_client().api
        state = api.inspect_container(self.container_id)["State"]
        if not state.get("Running"):
            raise SandboxError(f"sandbox {self.name} stopped ({state.get('Status')}); "
                               f"is it running? check `docker inspect {self.name}`")
        with self._recover_lock:
            log.warning("the warden of sandbox %s is lost (%s); restarting it", self.name, why)
            if self.warden is not None:
                self.warden.close()
            api.restart(self.container_id, timeout=0)
            self.warden = WardenLink(api, self.container_id, self.name)
            self.warden.attach()
            if not self.warden.boot():
                raise SandboxError(f"the warden of sandbox {self.name} did not come back")
        self._restart_background()

    def kill_processes(self) -> None:
        """SIGKILL every process the sandbox's commands left running, detached or not (and
        the helpers of `start_background`); SandboxError if some would not die.

        The container itself (the warden, or docker-init and its keepalive) is spared, so the
        sandbox stays usable: files and volumes are untouched, and the next `exec` runs as usual.
        """
        if self.warden is not None:
            with self._docker_errors("killing every process"):
                ended = self.warden.kill_all()
                if ended is None:
                    self._warden_lost("no answer to a kill-all")
                elif not ended:
                    raise SandboxError(f"could not end the processes in sandbox {self.name}")
        else:
            done = self.exec(["/bin/sh", "-c", KILL_ALL_SCRIPT], timeout=60, workdir="/")
            if not done.ok:
                raise SandboxError(f"could not end the processes in sandbox {self.name} "
                                   f"({done.describe()}): {done.output.strip()[-300:]}")
        self._background.clear()  # gone: a later restart must not bring them back

    @contextlib.contextmanager
    def _docker_errors(self, action: str) -> Iterator[None]:
        """Turn the engine's errors into a SandboxError that says what to check."""
        try:
            yield
        except NotFound as exc:
            raise SandboxError(
                f"{action} failed: sandbox {self.name} is gone ({exc.explanation or exc}); "
                "was it removed by `agentforge sandbox reap` or `docker rm`?") from exc
        except APIError as exc:
            raise SandboxError(
                f"{action} failed in sandbox {self.name}: {exc.explanation or exc}; "
                f"check `docker inspect {self.name}` (is it running?)") from exc
        except (RequestException, DockerException) as exc:
            raise SandboxError(
                f"the Docker engine did not answer ({action} in sandbox {self.name}: {exc}); "
                "check `docker info` and the machine's load, then retry") from exc

    def start_background(self, cmd: list[str], *, env: dict[str, str] | None = None,
                         user: str | None = None, ready_port: int | None = None,
                         timeout: float = 60.0) -> None:
        """Start a detached command (a helper daemon); it lives until the sandbox is removed.

        With `ready_port`, return once something accepts on that loopback port in the
        sandbox (SandboxError if nothing does within `timeout`).
        """
        environment = {**self.config.env, **(env or {})}
        user = user or self.config.user
        helper = (cmd, env, user, ready_port)
        if helper in self._prestarted:  # the spare this sandbox was started it already
            self._prestarted.remove(helper)
            return
        if self.config.spares and env is None:
            SPARES.note_helper(self.config, helper)
        with self._docker_errors(f"starting {describe_command(cmd)}"):
            if self.warden is not None:
                answer = self.warden.spawn(cmd, user=user, env=environment, port=ready_port,
                                           timeout=timeout)
                if answer is None:
                    self._warden_lost("no answer to starting a helper")
                    answer = {"error": "the sandbox was restarted"}
                problem = answer.get("error") or (
                    None if answer.get("ready", True) else "nothing listens")
            else:
                api = docker_client().api
                exec_id = api.exec_create(self._require_running(), cmd, user=user,
                                          workdir="/", environment=environment)
                api.exec_start(exec_id["Id"], detach=True)
                problem = None
                if ready_port is not None:
                    waited = self.exec(["python3", "-c", PORT_WAIT_SCRIPT, str(ready_port),
                                        str(timeout)], timeout=timeout + 30, workdir="/")
                    problem = None if waited.ok else (
                        f"{waited.describe()}: {waited.output.strip()[-300:]}")
        if helper not in self._background:
            self._background.append(helper)
        if problem:
            raise SandboxError(f"{describe_command(cmd)[:120]} did not start in sandbox "
                               f"{self.name}" + (f" on port {ready_port}" if ready_port else "")
                               + f" ({problem})")

    def _restart_background(self) -> None:
        for background in list(self._background):
            cmd, env, user, port = background
            self.start_background(cmd, env=env, user=user, ready_port=port)

    def _new_oom_kill(self) -> bool:
        """True if the kernel's OOM killer fired in this sandbox since the last check."""
        count = oom_kills(docker_client().api, self._require_running(), self.config.user)
        fired, self._oom_seen = count > self._oom_seen, max(count, self._oom_seen)
        return fired

    def _require_running(self) -> str:
        if self.container_id is None:
            raise SandboxError(f"sandbox {self.name} is not running; use it inside `with`")
        return self.container_id


_warned_unbounded = False


def _warn_if_unbounded(disk: SandboxDisk) -> None:
    global _warned_unbounded
    if disk.choice.mechanism == NONE and disk.config.disk_limit and not _warned_unbounded:
        _warned_unbounded = True
        log.warning("sandbox %s: %s (see `agentforge doctor`)", disk.name, disk.choice.reason)


def _mode(target: str) -> str:
    parts = target.split(":")
    return parts[1] if len(parts) > 1 else "ro"


def describe_command(cmd: list[str] | str) -> str:
    return cmd if isinstance(cmd, str) else shlex.join(cmd)
