"""Sandbox images: built from the Dockerfiles in sandboxes/, tagged by a hash of their inputs.
The checkout's top-level Dockerfile (agentforge itself) builds the same way, when named.

An image is rebuilt only when its folder, its base image or its build arguments change.
Dockerfiles take `ARG BASE_IMAGE`: `python:3.12-slim` where a registry is reachable, a
local debootstrap image (sandboxes/base/make-base-image.sh) where none is.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from agentforge.errors import ImageMissing, SandboxError
from agentforge.paths import checkout_dir, sandboxes_dir
from agentforge.progress import long_step
from agentforge.sandbox.engine import docker_client

APP_IMAGE = "agentforge"
"""agentforge itself: the checkout's top-level Dockerfile (built only when named)."""
REGISTRY_BASE = "python:3.12-slim"
LOCAL_BASE = "agentforge/base:bookworm"
LOCAL_APP_BASE = "agentforge/base:trixie"
"""agentforge's own image where no registry is reachable: Debian 13, whose Python (3.13) has
the tarfile filters agentforge needs (Debian 12's 3.11.2 predates them)."""
AGENT_RUNTIME = "agent-runtime"
_LABEL_NAME = "agentforge.image"
_LABEL_FILES = "agentforge.files-hash"
_CA_CANDIDATES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")


@dataclass(frozen=True)
class ImageSpec:
    """One buildable image: a folder of sandboxes/ holding a Dockerfile."""

    name: str
    folder: Path
    ignored: tuple[str, ...] = ()
    """.dockerignore patterns: a name at the folder's top (`runs`, `*.egg-info`) or, after
    `**/`, anywhere (`**/__pycache__`)."""

    @property
    def repository(self) -> str:
        return f"agentforge/{self.name}"

    @property
    def options(self) -> dict:
        """The folder's optional image.toml: `base` (another of our images), `default`."""
        path = self.folder / "image.toml"
        return tomllib.loads(path.read_text()) if path.is_file() else {}

    @property
    def base(self) -> str | None:
        """Name of our image this one builds FROM, or None for the common base image."""
        return self.options.get("base")

    @property
    def built_by_default(self) -> bool:
        """False for big images that `agentforge images build` makes only when named."""
        return bool(self.options.get("default", True)) and self.name != APP_IMAGE

    def files(self) -> list[Path]:
        """The build context: every file of the folder that .dockerignore keeps, sorted."""
        kept = []
        for top, dirs, names in os.walk(self.folder):
            here = Path(top)
            dirs[:] = sorted(d for d in dirs if not self.is_ignored(here / d))
            kept += [here / n for n in names if not self.is_ignored(here / n)]
        return sorted(kept)

    def is_ignored(self, path: Path) -> bool:
        parts = path.relative_to(self.folder).parts
        for pattern in self.ignored:
            if pattern.startswith("**/"):
                if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                    return True
            elif fnmatch.fnmatch(parts[0], pattern):
                return True
        return False

    def copy_context(self, target: Path) -> None:
        """Copy the build context (what .dockerignore keeps) to `target`."""
        for path in self.files():
            dest = target / path.relative_to(self.folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest, follow_symlinks=False)

    def files_hash(self) -> str:
        """Hash of every file in the folder (names and contents), and of its base's sources."""
        digest = hashlib.sha256()
        if self.base:
            # A child must be rebuilt (and found stale) whenever its base's sources change.
            digest.update(b"base\0" + spec(self.base).files_hash().encode() + b"\0")
        for path in self.files():
            digest.update(path.relative_to(self.folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]


def image_specs() -> dict[str, ImageSpec]:
    """Every image folder under sandboxes/ (those with a Dockerfile), by name."""
    root = sandboxes_dir()
    specs = {d.name: ImageSpec(d.name, d) for d in sorted(root.iterdir())
             if (d / "Dockerfile").is_file()}
    checkout = checkout_dir()
    if checkout is not None:
        ignore_file = checkout / ".dockerignore"
        patterns = ignore_file.read_text().split() if ignore_file.is_file() else []
        specs[APP_IMAGE] = ImageSpec(APP_IMAGE, checkout, tuple(patterns))
    return specs


def spec(name: str) -> ImageSpec:
    specs = image_specs()
    if name not in specs:
        raise SandboxError(f"unknown sandbox image {name!r}; known: {', '.join(specs)}")
    return specs[name]


def find_built(name: str) -> str | None:
    """Tag of the newest image built from the current inputs of `name`, or None."""
    image_spec = spec(name)
    # The low-level listing, not `images.list`: that one inspects each image after listing,
    # and an image another run removes in between made it raise ImageNotFound.
    listed = docker_client().api.images(
        filters={"label": [f"{_LABEL_NAME}={name}", f"{_LABEL_FILES}={image_spec.files_hash()}"]}
    )
    # Images built FROM ours inherit our labels; only our own repository's tags count.
    ours = f"{image_spec.repository}:"
    tagged = [(image.get("Created", 0), tag) for image in listed
              for tag in image.get("RepoTags") or [] if tag.startswith(ours)]
    if not tagged:
        return None
    _newest, tag = max(tagged)
    return tag


def require_image(name: str = AGENT_RUNTIME) -> str:
    """Tag of the built image `name`, or an ImageMissing error saying how to build it."""
    tag = find_built(name)
    if tag is None:
        raise ImageMissing(
            f"sandbox image {name!r} is not built for the current sources; "
            f"run `agentforge images build {name}` (it takes a few minutes the first time)"
        )
    return tag


def _image_exists(name: str) -> bool:
    try:
        docker_client().images.get(name)
        return True
    except ImageNotFound:
        return False


def resolve_base_image(requested: str | None = None, log: Callable[[str], None] = print) -> str:
    """Pick the base image: the one asked for, else python:3.12-slim, else a local Debian one."""
    requested = requested or os.environ.get("AGENTFORGE_BASE_IMAGE")
    if requested:
        if not _image_exists(requested):
            log(f"pulling {requested} ...")
            try:
                docker_client().images.pull(requested)
            except APIError as exc:
                raise ImageMissing(
                    f"base image {requested!r} is neither local nor pullable ({exc.explanation})"
                ) from exc
        return requested
    if _image_exists(REGISTRY_BASE):
        return REGISTRY_BASE
    try:
        log(f"pulling {REGISTRY_BASE} ...")
        docker_client().images.pull(REGISTRY_BASE)
        return REGISTRY_BASE
    except APIError:
        log(f"no registry reachable for {REGISTRY_BASE}; using the local Debian base image "
            f"{LOCAL_BASE}")
    if not _image_exists(LOCAL_BASE):
        build_local_base(log)
    return LOCAL_BASE


def build_local_base(log: Callable[[str], None] = print, image: str = LOCAL_BASE) -> None:
    """Make a debootstrap base image (needs root and debootstrap); the tag names the suite."""
    script = sandboxes_dir() / "base" / "make-base-image.sh"
    suite = image.rpartition(":")[2]
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise ImageMissing(
            f"no registry is reachable and the local base image {image} is missing. Build it "
            f"as root with: sudo apt-get install -y debootstrap && sudo env DEBIAN_SUITE={suite} "
            f"bash {script} {image}")
    with long_step(f"building {image} with debootstrap (3-4 minutes on 2 cores, "
                   f"longer on a busy machine)", say_line=log) as tell:
        with subprocess.Popen(["bash", str(script), image], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "DEBIAN_SUITE": suite}) as proc:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                tell(f"  {line.rstrip()}")
        if proc.returncode != 0:
            raise ImageMissing(f"building {image} failed:\n{''.join(lines)[-2000:]}")


def _host_ca_bundle() -> bytes:
    for var in _CA_CANDIDATES:
        path = os.environ.get(var)
        if path and Path(path).is_file():
            return Path(path).read_bytes()
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default.read_bytes() if default.is_file() else b""


def build_images(names: list[str], base_image: str | None = None, *, force: bool = False,
                 log: Callable[[str], None] = print) -> dict[str, str]:
    """Build the named images and the images they build FROM, each once (the base image is
    resolved once); return their tags. An image of the same inputs is not built again."""
    session = _BuildSession(base_image, log)
    return {name: session.build(name, force) for name in names}


def build_image(name: str, base_image: str | None = None, *, force: bool = False,
                log: Callable[[str], None] = print) -> str:
    """Build sandboxes/<name> unless an image of the same inputs exists; return its tag."""
    return build_images([name], base_image, force=force, log=log)[name]


class _BuildSession:
    """One `images build`: what it built or found up to date, so nothing is done (or said)
    twice when several images share a base."""

    def __init__(self, base_image: str | None, log: Callable[[str], None]) -> None:
        self.requested, self.log = base_image, log
        self.tags: dict[str, str] = {}
        self._base: str | None = None

    def base(self, name: str) -> str:
        if self._base is None:
            self._base = resolve_base_image(self.requested, self.log)
        if name == APP_IMAGE and self._base == LOCAL_BASE:
            if not _image_exists(LOCAL_APP_BASE):
                build_local_base(self.log, LOCAL_APP_BASE)
            return LOCAL_APP_BASE
        return self._base

    def build(self, name: str, force: bool = False) -> str:
        if name not in self.tags:
            image_spec = spec(name)
            base = self.build(image_spec.base) if image_spec.base else self.base(name)
            self.tags[name] = _build_spec(image_spec, base, force, self.log)
        return self.tags[name]


def _build_spec(image_spec: ImageSpec, base: str, force: bool,
                log: Callable[[str], None]) -> str:
    name = image_spec.name
    with long_step(f"{name}: reading its sources", say_line=log, announce=False):
        base_id = docker_client().images.get(base).id
        files_hash = image_spec.files_hash()
    inputs = hashlib.sha256(f"{files_hash}\0{base_id}".encode()).hexdigest()[:12]
    tag = f"{image_spec.repository}:{inputs}"
    if not force and _image_exists(tag):
        log(f"{name}: up to date ({tag})")
        return tag
    with tempfile.TemporaryDirectory(prefix=f"agentforge-build-{name}-") as tmp:
        context = Path(tmp) / "context"
        image_spec.copy_context(context)
        (context / "build-ca.pem").write_bytes(_host_ca_bundle())
        stream_build(context, tag, {"BASE_IMAGE": base},
                     {_LABEL_NAME: name, _LABEL_FILES: files_hash, "agentforge.base": base},
                     what=f"{name}: building {tag} from {base}", log=log)
    if name == APP_IMAGE:  # the name the README's `docker run` lines use
        docker_client().images.get(tag).tag(image_spec.repository, "latest")
    log(f"{name}: built {tag}")
    return tag


def _build_api() -> docker.APIClient:
    """A client of its own for builds, with no read timeout: a step may be silent for many
    minutes (apt, npm, a daemon busy with another build), and that is not a failure."""
    return docker.from_env(timeout=None).api


def stream_build(context: Path, tag: str, buildargs: dict[str, str], labels: dict[str, str],
                 *, what: str, log: Callable[[str], None] = print) -> None:
    """Build `context` as `tag`, saying each step as it starts (and every 10 s while one is
    silent); a failure raises SandboxError with the end of the build's output."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy"):
        if os.environ.get(var):
            buildargs = {**buildargs, var: os.environ[var]}
    output: list[str] = []
    last = [""]  # the latest line a step printed, shown while it is silent
    api = _build_api()
    try:
        with long_step(what, say_line=log, detail=lambda: last[0]) as tell:
            for chunk in api.build(path=str(context), tag=tag, buildargs=buildargs,
                                   labels=labels, rm=True, forcerm=True, pull=False,
                                   decode=True, timeout=None):
                text = str(chunk.get("stream", ""))
                output.append(text)
                step = _STEP.match(text)
                if step:
                    last[0] = ""
                    tell(f"  step {step['n']}: {' '.join(step['what'].split())[:100]}")
                elif text.strip() and not text.startswith(" ---> "):
                    last[0] = text.strip().splitlines()[-1]
                if "error" in chunk:
                    raise SandboxError(f"{what} failed: {chunk['error']}\n"
                                       f"{''.join(output)[-3000:]}")
    except APIError as exc:
        raise SandboxError(f"{what} failed: {exc.explanation}") from exc
    finally:
        api.close()
    if not _image_exists(tag):
        raise SandboxError(f"{what} ended without an image:\n{''.join(output)[-3000:]}")


_STEP = re.compile(r"^Step (?P<n>\d+/\d+) : (?P<what>.*)", re.S)
