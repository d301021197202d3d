"""Opening the run database: SQLite (WAL, foreign keys, busy timeout) by default, or PostgreSQL.

The one engine set-up of agentforge: the archive (`SqlStore`) and the model-call ledger
(`llm.ledger.Ledger`) both open their database here, and every table is created here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import create_engine

# Importing the table modules registers every table on SQLModel.metadata.
from agentforge.store import ledger_tables, tables  # noqa: F401
from agentforge.store.errors import StoreError
from agentforge.store.migrations import MIGRATIONS, Migration, upgrade

BUSY_TIMEOUT_MS = 30_000


def database_url(path_or_url: str | Path) -> str:
    """A SQLAlchemy URL: URLs pass through, a plain path becomes a SQLite file URL."""
    text = str(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Autocommit at the driver level so that our own BEGIN below is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that later writes
        # can fail with "database is locked" without waiting, whatever the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(path_or_url: str | Path, migrations: Sequence[Migration] = MIGRATIONS) -> Engine:
    """Open (creating or upgrading as needed) the database at a path or URL."""
    url = database_url(path_or_url)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
    elif url.startswith("postgresql"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"PostgreSQL needs its driver ({exc.name}): pip install 'agentforge[postgres]'"
            ) from exc
    else:
        raise StoreError(
            f"unsupported database URL {url!r}: use a SQLite path or a postgresql:// URL"
        )
    upgrade(engine, url, migrations)
    return engine
