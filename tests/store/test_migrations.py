"""Schema versions: fresh databases are stamped, older ones upgraded, newer ones refused."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from agentforge.store import SchemaTooNew, SqlStore
from agentforge.store.database import open_engine
from agentforge.store.migrations import latest_version, read_version


def test_a_fresh_database_gets_the_latest_version_and_every_table(db_url):
    engine = open_engine(db_url)
    with engine.connect() as conn:
        assert read_version(conn) == latest_version()
        tables = set(inspect(conn).get_table_names())
    # Every table registered on the shared metadata (the ledger's too, when present) is there.
    assert set(SQLModel.metadata.tables) <= tables
    assert {"run", "agentnode", "evaluation", "taskresult", "event"} <= tables
    engine.dispose()


def test_an_older_database_is_upgraded_in_order_and_keeps_its_data(db_url):
    path = db_url
    store = SqlStore(open_engine(path, migrations=[]))  # stamped version 1
    store.create_run("r")
    store.add_event("r", "note", "written by version 1")
    store.close()
    applied: list[int] = []

    def to_v2(conn) -> None:
        applied.append(2)
        conn.execute(text("ALTER TABLE event ADD COLUMN severity TEXT DEFAULT 'info'"))

    def to_v3(conn) -> None:
        applied.append(3)
        conn.execute(text("UPDATE event SET severity = 'low'"))

    engine = open_engine(path, migrations=[to_v2, to_v3])
    with engine.connect() as conn:
        assert read_version(conn) == 3
        rows = conn.execute(text("SELECT message, severity FROM event")).all()
    assert applied == [2, 3]
    assert rows == [("written by version 1", "low")]
    engine.dispose()
    # Opening again runs nothing more.
    open_engine(path, migrations=[to_v2, to_v3]).dispose()
    assert applied == [2, 3]


def test_a_newer_database_is_refused_with_what_to_do(db_url):
    path = db_url
    engine = open_engine(path)
    with engine.begin() as conn:
        conn.execute(text("UPDATE schemaversion SET version = 99"))
    engine.dispose()
    with pytest.raises(SchemaTooNew, match="version 99.*upgrade agentforge"):
        open_engine(path)


def test_the_model_call_ledger_lives_in_the_same_database(db_url):
    ledger_module = pytest.importorskip("agentforge.llm.ledger")
    store = SqlStore.open(db_url)
    store.create_run("r")
    node = store.add_node("r", parent_id=None)
    with store.engine.connect() as conn:
        assert inspect(conn).has_table("modelcall")
    ledger = ledger_module.Ledger(store.engine)
    ledger.record(
        ledger_module.ModelCall(
            run_id="r",
            node_id=node.id,
            role="agent",
            model="m",
            prompt_tokens=10,
            completion_tokens=5,
            cost_usd=0.5,
        )
    )
    store.close()
    # Another process opening the file sees both the archive and the spend.
    again = SqlStore.open(db_url)
    assert ledger_module.Ledger(again.engine).spend(run_id="r").cost_usd == pytest.approx(0.5)
    assert again.get_node(node.id).run_id == "r"
    again.close()
