"""Schema v2: nodes keep a foreign id and a seed's origin; a run may record that it is an
import. A v1 database is upgraded in place and keeps its rows."""

from __future__ import annotations

from schema_shapes import drop_step_columns
from sqlalchemy import inspect, text

from agentforge.store import SqlStore
from agentforge.store.migrations import latest_version, read_version


def test_a_v1_archive_gains_the_origin_columns_and_keeps_its_nodes(db_url):
    path = db_url
    store = SqlStore.open(path)
    store.create_run("old")
    store.add_node("old", parent_id=None, commit="abc")
    raw = store.engine
    # Make it a version-1 database: the shape before this migration.
    with raw.begin() as conn:
        drop_step_columns(conn)
        for table, column in [("agentnode", "external_id"), ("agentnode", "origin_json"),
                              ("run", "origin_json"), ("agentnode", "operator"),
                              ("agentnode", "second_parent_id")]:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("UPDATE schemaversion SET version = 1"))
    raw.dispose()

    store = SqlStore.open(path)
    with store.engine.connect() as conn:
        assert read_version(conn) == latest_version() >= 2
        assert {"external_id", "origin_json"} <= {
            c["name"] for c in inspect(conn).get_columns("agentnode")}
    node = store.list_nodes("old")[0]
    assert node.commit == "abc" and node.external_id is None
    store.set_node_origin(node.id, external_id="20250101_000000_1", origin={"kind": "folder"})
    store.update_run("old", origin_json='{"system": "dgm"}')
    again = store.get_node(node.id)
    assert again.external_id == "20250101_000000_1" and again.origin_json == '{"kind": "folder"}'
    assert store.get_run("old").origin_json == '{"system": "dgm"}'
    store.close()
