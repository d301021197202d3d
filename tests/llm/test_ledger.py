"""The ledger on a real SQLite file: prices, spend per scope, the cache."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import inspect
from sqlmodel import SQLModel

from agentforge.llm.config import Price
from agentforge.llm.ledger import CachedResponse, Ledger, ModelCall, request_hash
from agentforge.store.database import open_engine
from agentforge.store.migrations import latest_version, read_version


def test_prices_exact_prefix_override_and_unknown(tmp_path):
    ledger = Ledger(tmp_path / "l.db", prices={"my-model": Price(input=1.0, output=2.0)})
    assert ledger.cost("gpt-4o-mini", 1_000_000, 0) == 0.15
    assert ledger.cost("gpt-4o-mini-2024-07-18", 0, 1_000_000) == 0.60  # longest prefix wins
    assert ledger.cost("gpt-4o-2024-08-06", 1_000_000, 0) == 2.50
    assert ledger.cost("my-model", 500_000, 500_000) == 1.5
    assert ledger.cost("Qwen/Qwen2.5-Coder-32B-Instruct", 10**6, 10**6) == 0.0


def test_spend_per_run_node_task_role(tmp_path):
    path = tmp_path / "runs.db"
    ledger = Ledger(path)
    rows = [("r1", 1, "t1", "agent", 100, 10), ("r1", 1, "t2", "agent", 200, 20),
            ("r1", 2, "t1", "agent", 300, 30), ("r1", None, None, "diagnose", 1000, 100),
            ("r2", 3, "t1", "agent", 5, 5)]
    for run, node, task, role, p, c in rows:
        ledger.record(ModelCall(run_id=run, node_id=node, task_id=task, role=role,
                                model="gpt-4o-mini", prompt_tokens=p, completion_tokens=c))
    ledger.record(ModelCall(run_id="r1", node_id=1, task_id="t1", role="agent",
                            model="gpt-4o-mini", prompt_tokens=999, cached=True, status="cached"))
    run = ledger.spend(run_id="r1")
    assert (run.calls, run.prompt_tokens, run.completion_tokens) == (4, 1600, 160)
    assert abs(run.cost_usd - (1600 * 0.15 + 160 * 0.60) / 1e6) < 1e-12
    assert ledger.spend(run_id="r1", node_id=1).tokens == 330
    assert ledger.spend(run_id="r1", task_id="t1").tokens == 440
    assert ledger.spend(run_id="r1", role="diagnose").tokens == 1100
    assert ledger.spend(run_id="nope").calls == 0
    assert len(ledger.calls(run_id="r1", node_id=1)) == 3  # cache hits are listed, not summed
    # It is a real SQLite file in WAL mode that another connection can read.
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM modelcall").fetchone()[0] == 6


def test_concurrent_writers(tmp_path):
    ledger = Ledger(tmp_path / "l.db")

    def write(i: int) -> None:
        ledger.record(ModelCall(run_id="r", task_id=f"t{i % 4}", model="m", prompt_tokens=1))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write, range(200)))
    assert ledger.spend(run_id="r").calls == 200


def test_shares_an_engine_and_metadata_with_other_tables(tmp_path):
    engine = open_engine(tmp_path / "shared.db")  # the store creates every table
    ledger = Ledger(engine)
    ledger.record(ModelCall(run_id="r", model="m"))
    assert ModelCall.__table__.metadata is SQLModel.metadata
    assert Ledger(f"sqlite:///{tmp_path / 'shared.db'}").spend(run_id="r").calls == 1


def test_a_path_is_opened_by_the_store_with_its_engine_set_up(tmp_path):
    """One engine set-up: a ledger file gets the store's schema, version and pragmas."""
    ledger = Ledger(tmp_path / "alone.db")
    with ledger.engine.connect() as conn:
        assert read_version(conn) == latest_version()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert {"modelcall", "cachedresponse", "run"} <= set(inspect(conn).get_table_names())


def test_a_ledger_file_written_before_the_store_owned_it_still_opens(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the ledger's own tables, no schema version
        db.executescript(
            "CREATE TABLE modelcall (id INTEGER PRIMARY KEY, run_id VARCHAR, node_id INTEGER,"
            " task_id VARCHAR, role VARCHAR, model VARCHAR NOT NULL, endpoint VARCHAR NOT NULL,"
            " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
            " cost_usd FLOAT NOT NULL, latency_s FLOAT NOT NULL, status VARCHAR NOT NULL,"
            " http_status INTEGER, error TEXT, cached BOOLEAN NOT NULL, streamed BOOLEAN NOT NULL,"
            " request_hash VARCHAR NOT NULL, created_at DATETIME NOT NULL);"
            "INSERT INTO modelcall VALUES (1, 'r', NULL, NULL, 'agent', 'm', '', 7, 3, 0.25, 0,"
            " 'ok', 200, NULL, 0, 0, '', '2026-01-01 00:00:00');")
    ledger = Ledger(path)
    assert ledger.spend(run_id="r").tokens == 10
    ledger.record(ModelCall(run_id="r", model="m", prompt_tokens=1))
    assert ledger.spend(run_id="r").calls == 2


def test_cache_round_trip_and_request_hash(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    same = {"messages": [{"content": "hi", "role": "user"}], "model": "m"}
    assert request_hash(body) == request_hash(same)
    assert request_hash(body) != request_hash({**body, "temperature": 0})
    key = request_hash(body)
    assert ledger.cached(key) is None
    ledger.remember(CachedResponse(request_hash=key, model="m", body='{"x": 1}'))
    ledger.remember(CachedResponse(request_hash=key, model="m", body='{"x": 2}'))
    assert ledger.cached(key).body == '{"x": 2}'
