"""A throwaway PostgreSQL server for the store tests (started once per session, unix socket
only, no TCP), and the `db_url` fixture that runs a test on SQLite and on PostgreSQL."""

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def db_url(request, tmp_path) -> str:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "run.db")
    return request.getfixturevalue("postgres_url")
