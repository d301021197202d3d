"""Schema versions: a fresh database gets the current schema; an older one is upgraded step
by step; a newer one is refused.

To change the schema: edit the table in tables.py, then append a function to MIGRATIONS
that brings a database of the previous version to the new one (ALTER TABLE ...). A fresh
database never runs migrations: create_all builds the current shape and stamps LATEST.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, inspect, text
from sqlmodel import SQLModel

from agentforge.store.errors import SchemaTooNew

Migration = Callable[[Connection], None]
STEPS_BEFORE_V4 = "steps-before-v4"
"""The step id that v4 gives the self-improvement calls of older runs (no node has it)."""


def _add_agent_origins(conn: Connection) -> None:
    """v1 -> v2: nodes keep a foreign id and a seed's origin; a run may be an import."""
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN external_id VARCHAR"))
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN origin_json TEXT"))
    conn.execute(text("ALTER TABLE run ADD COLUMN origin_json TEXT"))


def _add_node_operators(conn: Connection) -> None:
    """v2 -> v3: a node records the operator that made it and crossover's second parent."""
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN operator VARCHAR"))
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN second_parent_id INTEGER"))


def _add_step_ids(conn: Connection) -> None:
    """v3 -> v4: a node and every model call of the step that made it share a step id; the
    node keeps the step's seconds."""
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN step_id VARCHAR"))
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN step_seconds FLOAT"))
    conn.execute(text("CREATE INDEX ix_agentnode_step_id ON agentnode (step_id)"))
    conn.execute(text("ALTER TABLE modelcall ADD COLUMN step_id VARCHAR"))
    conn.execute(text("CREATE INDEX ix_modelcall_step_id ON modelcall (step_id)"))
    # Which step an older call belonged to cannot be told any more (that was the bug): its
    # steps' calls are kept apart under one id of no node, so they count in the run's total
    # and never as an evaluation's.
    conn.execute(text(f"UPDATE modelcall SET step_id = '{STEPS_BEFORE_V4}' WHERE role = "
                      "'diagnose' OR task_id LIKE 'improve-%' OR task_id LIKE 'op:%'"))


def _add_copies(conn: Connection) -> None:
    """v4 -> v5: a node may be a copy of another (the same agent, evaluated once)."""
    conn.execute(text("ALTER TABLE agentnode ADD COLUMN copy_of INTEGER"))


# MIGRATIONS[i] upgrades version i+1 to version i+2; version 1 is the first released schema.
MIGRATIONS: list[Migration] = [_add_agent_origins, _add_node_operators, _add_step_ids,
                               _add_copies]


def _adopt_old_ledger(conn: Connection) -> None:
    """A ledger file from before the store owned it (a `modelcall` table, no version) gets
    the columns added since; create_all leaves an existing table as it is."""
    columns = {c["name"] for c in inspect(conn).get_columns("modelcall")}
    if "step_id" not in columns:
        conn.execute(text("ALTER TABLE modelcall ADD COLUMN step_id VARCHAR"))
        conn.execute(text("CREATE INDEX ix_modelcall_step_id ON modelcall (step_id)"))


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The schema version this code writes."""
    return 1 + len(migrations)


def read_version(conn: Connection) -> int | None:
    """The version stamped in the database, or None for a database without our tables."""
    if not inspect(conn).has_table("schemaversion"):
        return None
    row = conn.execute(text("SELECT version FROM schemaversion WHERE id = 1")).first()
    return None if row is None else int(row[0])


def _stamp(conn: Connection, version: int) -> None:
    updated = conn.execute(
        text("UPDATE schemaversion SET version = :v WHERE id = 1"), {"v": version}
    )
    if updated.rowcount == 0:
        conn.execute(text("INSERT INTO schemaversion (id, version) VALUES (1, :v)"), {"v": version})


def upgrade(engine: Engine, url: str, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database to the latest schema and return the version it had before (0 if new)."""
    latest = latest_version(migrations)
    with engine.begin() as conn:
        current = read_version(conn)
        if current is not None and current > latest:
            raise SchemaTooNew(
                f"the database {url} has schema version {current}, newer than the {latest} this "
                "agentforge understands: upgrade agentforge (pip install -U agentforge) or use "
                "another run directory"
            )
        if current is None:
            SQLModel.metadata.create_all(conn)
            _adopt_old_ledger(conn)
            _stamp(conn, latest)
            return 0
        for version in range(current, latest):
            migrations[version - 1](conn)
            _stamp(conn, version + 1)
        # A new table needs no migration: whatever this database lacks is created here.
        SQLModel.metadata.create_all(conn)
        return current
