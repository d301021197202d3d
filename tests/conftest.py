"""Shared fixtures. Tests marked `docker` need a real engine and the built sandbox images:
a laptop without them skips with the reason; CI (CI=true) fails instead of skipping."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

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
