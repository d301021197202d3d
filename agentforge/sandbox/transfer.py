"""Files in and out of a running sandbox: one tar stream per copy, never trusted coming out."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from docker.errors import APIError, DockerException, NotFound
from requests.exceptions import RequestException

from agentforge.errors import SandboxError
from agentforge.sandbox import files
from agentforge.sandbox.engine import docker_client


class FileTransfer:
    """The file methods of `Sandbox` (it provides config, name, container_id and exec)."""

    def copy_in(self, source: Path, target: str = "/workspace") -> None:
        """Copy the contents of a host directory into `target` (a writable path)."""
        source = Path(source)
        if not source.is_dir():
            raise SandboxError(f"copy_in expects a directory, got {source}")
        self.put(target, files.Upload().tree("", source))

    def write_files(self, target: str, contents: dict[str, bytes | str], mode: int = 0o644) -> None:
        """Write in-memory files (relative path -> contents) under `target`."""
        upload = files.Upload()
        for name, data in contents.items():
            upload.file(name, data, mode)
        self.put(target, upload)

    def put(self, target: str, upload: files.Upload) -> None:
        """Write host folders, files and folders under `target`, owned by the sandbox user, in
        one transfer (and no command, when `target` is in one of the writable paths)."""
        root = next((path for path in self.config.writable_paths
                     if target == path or target.startswith(path.rstrip("/") + "/")), None)
        if root is None:
            self._mkdir(target)
            root = target
        prefix = str(PurePosixPath(target).relative_to(root)) if target != root else ""
        with files.pack_upload(upload, uid=self.config.uid, gid=self.config.gid,
                               prefix="" if prefix == "." else prefix) as tar:
            self._put(root, tar)

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


