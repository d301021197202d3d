"""Older schema shapes made by hand, for the migration tests."""

from __future__ import annotations

from sqlalchemy import Connection, text


def drop_copy_column(conn: Connection) -> None:
    """Undo v5 (a node's copy_of)."""
    conn.execute(text("ALTER TABLE agentnode DROP COLUMN copy_of"))


def drop_step_columns(conn: Connection) -> None:
    """Undo v4 (step ids on nodes and model calls) and what came after it, indexes first
    (SQLite wants that)."""
    drop_copy_column(conn)
    conn.execute(text("DROP INDEX ix_agentnode_step_id"))
    conn.execute(text("DROP INDEX ix_modelcall_step_id"))
    for table, column in (("agentnode", "step_id"), ("agentnode", "step_seconds"),
                          ("modelcall", "step_id")):
        conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
