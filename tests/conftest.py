"""Shared fixtures. Tests marked `docker` need a real engine and the built sandbox images:
a laptop without them skips with the reason; CI (CI=true) fails instead of skipping."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# A suite started in the background of a script (`scripts/test.sh &`) inherits SIGINT
# ignored, and so would every `agentforge` process the tests start: the tests that stop
# `web` or `model serve-vllm` with Ctrl-C then waited forever. The tests need Ctrl-C's
# meaning in their children, so the suite restores it for itself (children inherit it).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Ray clusters the tests start stay on loopback: without this, Ray publishes (and dials) this
# machine's network address even for a cluster on 127.0.0.1. Set before anything imports Ray.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must not skip: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def missing():
    """`missing(reason)`: skip on a laptop, fail in CI, for a test whose prerequisite is absent."""
    return _missing


@pytest.fixture(scope="session")
def docker_engine():
    """The shared Docker client, or a skip (a failure in CI) when no engine answers."""
    from agentforge.errors import EngineUnavailable
    from agentforge.sandbox.engine import docker_client

    try:
        return docker_client()
    except EngineUnavailable as exc:
        _missing(str(exc))


@pytest.fixture(scope="session")
def agent_image(docker_engine) -> str:
    """Tag of the agent runtime image built for the current sources."""
    from agentforge.errors import ImageMissing
    from agentforge.sandbox.images import require_image

    try:
        return require_image("agent-runtime")
    except ImageMissing as exc:
        _missing(str(exc))


# Images that fixtures need beyond the agent runtime. They are built once, right after
# collection and only for the tests selected, so that a first build (the Polyglot image:
# ~1.7 GB, 10-25 min on 2 cores) runs outside every test's timeout, with its steps shown.
_BUILT_AFTER_COLLECTION = {"toolchains_image": "toolchains", "polyglot_image": "polyglot",
                           "agentforge_image": "agentforge"}
IMAGE_BUILD_TIMEOUT = float(os.environ.get("AGENTFORGE_TEST_IMAGE_BUILD_TIMEOUT", 3600))
"""Seconds the images of the session may take to build: a slow, loaded machine's time."""
_image_builds: dict[str, str | BaseException] = {}


def pytest_collection_finish(session):
    selected = {f for item in session.items for f in getattr(item, "fixturenames", ())}
    wanted = [name for fixture, name in _BUILT_AFTER_COLLECTION.items() if fixture in selected]
    if not wanted or session.config.option.collectonly:
        return
    import threading

    from agentforge.sandbox.images import build_images

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    say = reporter.write_line if reporter is not None else print
    say(f"building the images these tests need: {', '.join(wanted)} (unless up to date)")

    def build() -> None:
        try:
            _image_builds.update(build_images(wanted, log=say))
        except BaseException as exc:  # reported by the fixture, on each test that needs it
            _image_builds.update(dict.fromkeys(wanted, exc))

    worker = threading.Thread(target=build, name="image-build", daemon=True)
    worker.start()
    worker.join(IMAGE_BUILD_TIMEOUT)
    if worker.is_alive():
        _image_builds.update(dict.fromkeys(wanted, TimeoutError(
            f"building {', '.join(wanted)} took over {IMAGE_BUILD_TIMEOUT:.0f}s "
            "(AGENTFORGE_TEST_IMAGE_BUILD_TIMEOUT); build them first with agentforge images "
            f"build {' '.join(wanted)}")))


def _built_image(name: str) -> str:
    """The tag built after collection; the build's error on each test that needs it."""
    from agentforge.errors import EngineUnavailable, ImageMissing

    found = _image_builds.get(name)
    if found is None:  # not seen at collection (a fixture asked for by another fixture)
        from agentforge.sandbox.images import build_image

        found = build_image(name, log=lambda _msg: None)
    if isinstance(found, EngineUnavailable | ImageMissing):
        _missing(str(found))
    if isinstance(found, BaseException):
        pytest.fail(f"the image {name} could not be built: {found}")
    return found


@pytest.fixture(scope="session")
def toolchains_image(agent_image) -> str:
    """The Go image (agent runtime + golang-go): about a minute the first time."""
    return _built_image("toolchains")


@pytest.fixture(scope="session")
def polyglot_image(toolchains_image) -> str:
    """The six-language image (Rust, Node + Jest, C++, Java on top of Go)."""
    return _built_image("polyglot")


@pytest.fixture(scope="session")
def agentforge_image(agent_image) -> str:
    """agentforge itself (the top-level Dockerfile): a few minutes the first time."""
    return _built_image("agentforge")


def pytest_collection_modifyitems(config, items):
    # Tests that use the docker fixtures are marked `docker` even if their author forgot.
    for item in items:
        if {"docker_engine", "agent_image"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)


# A throwaway PostgreSQL server (started once per session, unix socket only, no TCP), for
# the store tests and the cluster runs.
_PORT = 54329  # names the socket file only: the server listens on no TCP address


def _postgres_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


@pytest.fixture(scope="session")
def postgres_server(missing):
    """Admin connection info of a private PostgreSQL server, or a skip saying how to get one."""
    bindir = _postgres_bindir()
    if bindir is None:
        missing("PostgreSQL server binaries not found: apt-get install postgresql")
    try:
        import psycopg
    except ImportError:
        missing("psycopg is not installed: pip install 'agentforge[postgres]'")
    root = Path(tempfile.mkdtemp(prefix="agentforge-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root and there is no postgres user to run the server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, socket_dir = root / "data", root
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    log = open(root / "server.log", "wb")  # noqa: SIM115  (open for the server's lifetime)
    server = subprocess.Popen(
        [
            *prefix,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-k",
            str(socket_dir),
            "-p",
            str(_PORT),
            "-c",
            "listen_addresses=",
            "-c",
            "fsync=off",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    conninfo = f"host={socket_dir} port={_PORT} user=postgres dbname=postgres"
    deadline = time.monotonic() + 120
    while True:
        try:
            psycopg.connect(conninfo).close()
            break
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"PostgreSQL did not start: {(root / 'server.log').read_text()}")
            time.sleep(0.2)
    yield {"conninfo": conninfo, "host": str(socket_dir), "port": _PORT}
    # Fast shutdown: open pooled connections must not hold the session's end.
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "stop", "-m", "fast"],
        capture_output=True,
    )
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
    shutil.rmtree(root, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A URL of a new, empty database on the private server."""
    import psycopg

    name = f"agentforge_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server["conninfo"], autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return (
        f"postgresql://postgres@/{name}?host={postgres_server['host']}"
        f"&port={postgres_server['port']}"
    )
