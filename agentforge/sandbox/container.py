"""Sandbox: one hardened container, always removed, with files in/out and timed commands."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from docker.errors import APIError, DockerException, NotFound
from docker.types import LogConfig
from requests.exceptions import RequestException

from agentforge.errors import SandboxError
from agentforge.sandbox import files
from agentforge.sandbox.config import SandboxConfig
from agentforge.sandbox.disk import NONE, SandboxDisk, storage_opt_failed
from agentforge.sandbox.engine import LABEL, docker_client
from agentforge.sandbox.execution import ExecResult, find_supervisor, stream_exec
from agentforge.sandbox.images import require_image

log = logging.getLogger(__name__)

KEEPALIVE = ["sleep", "infinity"]
"""The container's command under docker-init (pid 1): the container lives while it runs."""
KEEPALIVE_USER = "65534:65534"
"""uid:gid of docker-init and the keepalive (nobody): not the sandbox user's, so that its
commands (`kill -9 -1`, `pkill sleep`) cannot signal them and stop the container. Every
command names its user; this one runs nothing but the keepalive."""
# SIGKILL to every process but the container's own and this script's. docker-init and the
# keepalive are told apart by session, never by pid order: they are the only processes in
# session 1 (every exec starts a session of its own, and no process can move into a session
# it was not born in), whereas pids tell nothing: under load docker-init forks the keepalive
# after the first commands (a forwarder) have started, so a helper can hold the smaller pid.
# The script's own shell and its ancestors (the per-command supervisor) are spared too.
# Shell builtins only, but for `sleep` between passes, so that it works at the PID limit.
# Exits 0 once a pass finds nothing left to kill; else prints the survivors and exits 1.
_KILL_ALL = r"""
spare=" $$ "; a=$$
while [ "$a" -gt 1 ] 2>/dev/null; do
  read -r stat 2>/dev/null < "/proc/$a/stat" || break
  set -- ${stat##*) }
  a=$2; spare="$spare$a "
done
pass=0
while [ "$pass" -lt 300 ]; do
  pass=$((pass + 1)); live=""
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    case "$spare" in *" $pid "*) continue ;; esac
    read -r stat 2>/dev/null < "$p/stat" || continue
    set -- ${stat##*) }
    [ "$4" = 1 ] && continue
    [ "$1" = Z ] && continue
    kill -KILL "$pid" 2>/dev/null && live="$live $pid"
  done
  [ -z "$live" ] && exit 0
  sleep 0.05 2>/dev/null
done
echo "still alive:$live"
exit 1
"""
# Prints the cgroup's count of OOM kills (cgroup v2, then v1) with shell builtins only.
_OOM_PROBE = (
    "for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do"
    " [ -r \"$f\" ] && while read -r k v; do [ \"$k\" = oom_kill ] && { echo \"$v\"; exit 0; };"
    " done < \"$f\"; done; echo 0"
)


def standard_labels(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels that let `agentforge sandbox reap` find and judge a container."""
    return {
        LABEL: "1",
        "agentforge.host": socket.gethostname(),
        "agentforge.owner-pid": str(os.getpid()),
        "agentforge.created": str(int(time.time())),
        **(extra or {}),
    }


class Sandbox:
    """A running container under the policy of a SandboxConfig. Use it as a context manager."""

    def __init__(self, config: SandboxConfig | None = None, *, name: str | None = None) -> None:
        self.config = config or SandboxConfig()
        self.name = name or f"agentforge-{uuid.uuid4().hex[:12]}"
        self.image = self.config.image or require_image()
        self.container_id: str | None = None
        self.disk: SandboxDisk | None = None
        """What bounds the writable paths (`disk.choice` says which mechanism, and why)."""
        self._oom_seen = 0
        self._background: list[tuple[list[str], dict[str, str] | None, str | None]] = []
        self._supervisor: str | None = None
        self._supervisor_probed = False
        self._probe_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Create and start the container; on any failure nothing is left behind."""
        api = docker_client().api
        cfg = self.config
        labels = standard_labels(cfg.labels)
        binds = {host: {"bind": target.split(":")[0], "mode": _mode(target)}
                 for host, target in cfg.binds.items()}
        try:
            self.disk = SandboxDisk(self.name, cfg, labels)
            _warn_if_unbounded(self.disk)
            mounts = self.disk.mounts()
            storage_opt = self.disk.storage_opt()
            try:
                created = self._create(api, mounts, binds, labels, storage_opt)
            except APIError as exc:
                if storage_opt is None or "storage-opt" not in str(exc.explanation or exc):
                    raise
                # The driver looked able to bound a root filesystem but is not (overlay2 on
                # xfs without pquota): go on unbounded, as doctor says.
                storage_opt_failed(str(exc.explanation or exc))
                log.warning("the engine refused --storage-opt size (%s): writable root "
                            "filesystems are not bounded", exc.explanation or exc)
                created = self._create(api, mounts, binds, labels, None)
            self.container_id = created["Id"]
            api.start(self.container_id)
        except (APIError, SandboxError, OSError) as exc:
            self._remove_quietly()
            detail = exc.explanation if isinstance(exc, APIError) else exc
            raise SandboxError(
                f"could not start a sandbox from image {self.image!r}: {detail or exc}"
            ) from exc
        except BaseException:
            self._remove_quietly()
            raise
        return self

    def _create(self, api, mounts, binds, labels, storage_opt) -> dict:
        cfg = self.config
        host_config = api.create_host_config(
            network_mode=cfg.network,
            cap_drop=cfg.cap_drop,
            security_opt=["no-new-privileges:true"] if cfg.no_new_privileges else None,
            mem_limit=cfg.memory,
            memswap_limit=cfg.memory,
            nano_cpus=int(cfg.cpus * 1e9),
            pids_limit=cfg.pids_limit,
            read_only=cfg.read_only_root,
            tmpfs=cfg.tmpfs,
            mounts=mounts,
            binds=binds or None,
            init=True,
            log_config=LogConfig(type="none"),
            storage_opt=storage_opt,
        )
        return api.create_container(
            self.image,
            command=KEEPALIVE,
            name=self.name,
            user=KEEPALIVE_USER,
            working_dir=cfg.workdir,
            environment=cfg.env,
            labels=labels,
            host_config=host_config,
            network_disabled=cfg.network == "none",
        )

    def _remove_quietly(self) -> None:
        # Cleaning up after a failed start must not hide why the start failed.
        try:
            self.remove()
        except SandboxError as exc:
            log.warning("cleaning up the failed sandbox %s: %s", self.name, exc)

    def remove(self) -> None:
        """Remove the container, its volumes and its disk; safe to call twice."""
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

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info) -> None:
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
    ) -> ExecResult:
        """Run a command (a list, or a string for /bin/sh -c) and return how it ended."""
        cid = self._require_running()
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        api = docker_client().api
        with self._docker_errors(f"exec {describe_command(cmd)[:80]!r}"):
            outcome = stream_exec(
                api,
                cid,
                argv,
                timeout=timeout or self.config.timeout,
                user=user or self.config.user,
                workdir=workdir or self.config.workdir,
                env={**self.config.env, **(env or {})},
                output_limit=self.config.output_limit,
                supervisor=self._tree_supervisor(),
            )
            result = outcome.result
            if outcome.restarted:
                # Neither the supervisor nor the killer could end a timed-out tree, so the
                # container was restarted: bring back the helper daemons the sandbox relies on.
                for background in self._background:
                    self.start_background(background[0], env=background[1], user=background[2])
            # 137 is SIGKILL; the cgroup's OOM counter tells the kernel's OOM killer from a kill.
            if result.exit_code == 137 and not result.timed_out:
                result.oom_killed = self._new_oom_kill()
        return result

    def kill_processes(self) -> None:
        """SIGKILL every process the sandbox's commands left running, detached or not (and
        the helpers of `start_background`); SandboxError if some would not die.

        The container itself (docker-init and its keepalive) is spared, so the sandbox stays
        usable: files and volumes are untouched, and the next `exec` runs as usual.
        """
        done = self.exec(["/bin/sh", "-c", _KILL_ALL], timeout=60, workdir="/")
        if not done.ok:
            raise SandboxError(f"could not end the processes in sandbox {self.name} "
                               f"({done.describe()}): {done.output.strip()[-300:]}")
        self._background.clear()  # gone: a later restart must not bring them back

    def _tree_supervisor(self) -> str | None:
        """The container's Python that runs the tree supervisor (probed once), or None."""
        if not self.config.tree_supervisor:
            return None
        with self._probe_lock:
            if not self._supervisor_probed:
                self._supervisor = find_supervisor(docker_client().api, self._require_running(),
                                                   self.config.user)
                self._supervisor_probed = True
        return self._supervisor

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
                         user: str | None = None) -> None:
        """Start a detached command (a helper daemon); it lives until the sandbox is removed."""
        api = docker_client().api
        with self._docker_errors(f"starting {describe_command(cmd)}"):
            exec_id = api.exec_create(self._require_running(), cmd, user=user or self.config.user,
                                      workdir="/", environment={**self.config.env, **(env or {})})
            api.exec_start(exec_id["Id"], detach=True)
        if (cmd, env, user) not in self._background:
            self._background.append((cmd, env, user))

    def _new_oom_kill(self) -> bool:
        """True if the kernel's OOM killer fired in this sandbox since the last check."""
        probe = stream_exec(
            docker_client().api, self._require_running(), ["/bin/sh", "-c", _OOM_PROBE],
            timeout=10, user=self.config.user, workdir="/", env={}, output_limit=4096,
        ).result
        try:
            count = int(probe.stdout.strip() or 0)
        except ValueError:
            return False
        fired = count > self._oom_seen
        self._oom_seen = count
        return fired

    def _require_running(self) -> str:
        if self.container_id is None:
            raise SandboxError(f"sandbox {self.name} is not running; use it inside `with`")
        return self.container_id

    # -- files -----------------------------------------------------------------------------

    def copy_in(self, source: Path, target: str = "/workspace") -> None:
        """Copy the contents of a host directory into `target` (a writable path)."""
        source = Path(source)
        if not source.is_dir():
            raise SandboxError(f"copy_in expects a directory, got {source}")
        self._mkdir(target)
        with files.pack_directory(source, uid=self.config.uid, gid=self.config.gid) as tar:
            self._put(target, tar)

    def write_files(self, target: str, contents: dict[str, bytes | str], mode: int = 0o644) -> None:
        """Write in-memory files (relative path -> contents) under `target`."""
        encoded = {k: v.encode() if isinstance(v, str) else v for k, v in contents.items()}
        self._mkdir(target)
        data = files.pack_files(encoded, uid=self.config.uid, gid=self.config.gid, mode=mode)
        self._put(target, data)

    def copy_out(self, path: str, destination: Path, *, max_bytes: int = 512 * 1024 * 1024) -> Path:
        """Copy a file or directory out of the sandbox into `destination` (a host folder)."""
        chunks = self._archive_of(path)
        with self._docker_errors(f"copying {path} out"), files.spool_stream(
            chunks, max_bytes, path
        ) as archive:
            files.extract_safely(archive, Path(destination))
        return Path(destination) / PurePosixPath(path).name

    def read_file(self, path: str, *, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """Return the bytes of one file in the sandbox."""
        import tarfile

        chunks = self._archive_of(path)
        with self._docker_errors(f"reading {path}"), files.spool_stream(
            chunks, max_bytes, path
        ) as archive, tarfile.open(fileobj=archive) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise SandboxError(f"{path} in sandbox {self.name} is not a regular file")
            return tar.extractfile(member).read()

    def _archive_of(self, path: str):
        cid = self._require_running()
        try:
            chunks, _stat = docker_client().api.get_archive(cid, path)
        except NotFound as exc:
            raise SandboxError(f"{path} does not exist in sandbox {self.name}") from exc
        except (APIError, RequestException, DockerException) as exc:
            raise SandboxError(f"cannot copy {path} out of sandbox {self.name}: {exc}; "
                               f"check `docker inspect {self.name}` (is it running?)") from exc
        return chunks

    def _mkdir(self, target: str) -> None:
        done = self.exec(["mkdir", "-p", target], timeout=30, workdir="/")
        if not done.ok:
            raise SandboxError(f"cannot create {target} in sandbox: {done.output.strip()}")

    def _put(self, target: str, data) -> None:
        try:
            docker_client().api.put_archive(self._require_running(), target, data)
        except APIError as exc:
            raise SandboxError(
                f"cannot copy into {target} (is it one of writable_paths?): {exc.explanation}"
            ) from exc
        except (RequestException, DockerException) as exc:
            raise SandboxError(f"cannot copy into {target} in sandbox {self.name}: {exc}; "
                               "check `docker info` and the machine's load") from exc


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
