"""Schema v4: a node and every model call of the step that made it share a step id, and the
node keeps the step's seconds. A v3 database is upgraded in place and keeps its rows."""

from __future__ import annotations

from schema_shapes import drop_step_columns
from sqlalchemy import inspect, text

from agentforge.llm.ledger import CallContext, CallRecord, Ledger
from agentforge.store import SqlStore
from agentforge.store.migrations import latest_version, read_version


def test_a_v3_archive_gains_step_ids_on_nodes_and_calls_and_keeps_its_rows(db_url):
    store = SqlStore.open(db_url)
    store.create_run("old")
    seed = store.add_node("old", parent_id=None, commit="abc")
    ledger = Ledger(store.engine)
    ledger.store([CallRecord(run_id="old", node_id=seed.id, task_id="t", model="m",
                             prompt_tokens=3, completion_tokens=4)], [])
    with store.engine.begin() as conn:  # the shape before this migration
        drop_step_columns(conn)
        conn.execute(text("UPDATE schemaversion SET version = 3"))
    store.engine.dispose()

    store = SqlStore.open(db_url)
    with store.engine.connect() as conn:
        assert read_version(conn) == latest_version() >= 4
        columns = inspect(conn)
        assert {"step_id", "step_seconds"} <= {c["name"] for c in columns.get_columns("agentnode")}
        assert "step_id" in {c["name"] for c in columns.get_columns("modelcall")}
    ledger = Ledger(store.engine)
    (old_call,) = ledger.calls(run_id="old")
    assert (old_call.step_id, old_call.prompt_tokens) == (None, 3)
    child = store.add_node("old", parent_id=seed.id, commit="def", operator="self_edit",
                           step_id="step-1")
    store.set_step_seconds(child.id, 2.5)
    ledger.store([CallRecord(**CallContext(run_id="old", node_id=seed.id,
                                           step_id="step-1").fields(), model="m")], [])
    again = store.get_node(child.id)
    assert (again.step_id, again.step_seconds, again.operator) == ("step-1", 2.5, "self_edit")
    assert [c.step_id for c in ledger.calls(run_id="old")] == [None, "step-1"]
    store.close()
