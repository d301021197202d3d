"""Schema v5: a node may be a copy of another. A v4 database is upgraded in place and keeps
its rows; the store never starts an evaluation of a copy."""

from __future__ import annotations

import pytest
from schema_shapes import drop_copy_column
from sqlalchemy import inspect, text

from agentforge.store import SqlStore
from agentforge.store.errors import StoreError
from agentforge.store.migrations import latest_version, read_version
from agentforge.store.records import NodeStatus


def test_a_v4_archive_gains_copies_and_keeps_its_rows(db_url):
    store = SqlStore.open(db_url)
    store.create_run("old")
    seed = store.add_node("old", parent_id=None, commit="abc", status=NodeStatus.evaluated)
    with store.engine.begin() as conn:  # the shape before this migration
        drop_copy_column(conn)
        conn.execute(text("UPDATE schemaversion SET version = 4"))
    store.engine.dispose()

    store = SqlStore.open(db_url)
    with store.engine.connect() as conn:
        assert read_version(conn) == latest_version() >= 5
        assert "copy_of" in {c["name"] for c in inspect(conn).get_columns("agentnode")}
    assert store.get_node(seed.id).copy_of is None
    child = store.add_node("old", parent_id=seed.id, commit="abc2", status=NodeStatus.pending)
    store.mark_copy(child.id, seed.id)
    again = store.get_node(child.id)
    assert (again.copy_of, again.status) == (seed.id, NodeStatus.evaluated)
    with pytest.raises(StoreError, match="is a copy of node"):
        store.start_evaluation(child.id, "t")
    with pytest.raises(StoreError, match="no copy"):
        store.mark_copy(seed.id, child.id)  # a copy is never an original
    store.close()
