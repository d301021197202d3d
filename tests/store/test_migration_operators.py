"""Schema v3: a node records the operator that made it and crossover's second parent. A v2
database is upgraded in place; its nodes keep their rows with no operator."""

from __future__ import annotations

import pytest
from schema_shapes import drop_step_columns
from sqlalchemy import inspect, text

from agentforge.store import SqlStore
from agentforge.store.errors import StoreError
from agentforge.store.migrations import latest_version, read_version


def test_a_v2_archive_gains_the_operator_columns_and_keeps_its_nodes(db_url):
    store = SqlStore.open(db_url)
    store.create_run("old")
    seed = store.add_node("old", parent_id=None, commit="abc")
    store.add_node("old", parent_id=seed.id, commit="def")
    with store.engine.begin() as conn:  # the shape before this migration (and v4's)
        drop_step_columns(conn)
        for column in ("operator", "second_parent_id"):
            conn.execute(text(f"ALTER TABLE agentnode DROP COLUMN {column}"))
        conn.execute(text("UPDATE schemaversion SET version = 2"))
    store.engine.dispose()

    store = SqlStore.open(db_url)
    with store.engine.connect() as conn:
        assert read_version(conn) == latest_version() >= 3
        assert {"operator", "second_parent_id"} <= {
            c["name"] for c in inspect(conn).get_columns("agentnode")}
    old_seed, old_child = store.list_nodes("old")
    assert (old_child.commit, old_child.operator, old_child.second_parent_id) == \
        ("def", None, None)
    third = store.add_node("old", parent_id=old_child.id, commit="123", operator="crossover",
                           second_parent_id=old_seed.id)
    again = store.get_node(third.id)
    assert (again.operator, again.second_parent_id) == ("crossover", old_seed.id)
    store.close()


def test_a_second_parent_must_exist_in_the_same_run(db_url):
    store = SqlStore.open(db_url)
    store.create_run("a")
    store.create_run("b")
    mine = store.add_node("a", parent_id=None, commit="abc")
    theirs = store.add_node("b", parent_id=None, commit="def")
    with pytest.raises(StoreError, match="belongs to run 'b'"):
        store.add_node("a", parent_id=mine.id, operator="crossover", second_parent_id=theirs.id)
    with pytest.raises(StoreError, match="node 999"):
        store.add_node("a", parent_id=mine.id, operator="crossover", second_parent_id=999)
    assert [n.id for n in store.list_nodes("a")] == [mine.id]
    store.close()
