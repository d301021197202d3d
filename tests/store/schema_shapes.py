"""Older schema shapes made by hand, for the migration tests."""

from __future__ import annotations

from sqlalchemy import Connection, text


def drop_step_columns(conn: Connection) -> None:
    """Undo v4 (step ids on nodes and model calls), indexes first (SQLite wants that)."""
    conn.execute(text("DROP INDEX ix_agentnode_step_id"))
    conn.execute(text("DROP INDEX ix_modelcall_step_id"))
    for table, column in (("agentnode", "step_id"), ("agentnode", "step_seconds"),
                          ("modelcall", "step_id")):
        conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
