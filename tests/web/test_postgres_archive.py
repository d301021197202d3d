"""A cluster run keeps its archive in PostgreSQL: the web view reads it as it reads SQLite."""

from __future__ import annotations

import pytest

from agentforge.web.archive import NODE_FIELDS, RunArchive
from agentforge.web.synthetic import write_synthetic_run

pytestmark = pytest.mark.slow
CREATED = NODE_FIELDS.index("created_at")


def comparable(archive: RunArchive) -> dict:
    rows = [row[:CREATED] + row[CREATED + 1:] for row in archive.nodes()["rows"]]
    summary = archive.summary()
    details = {}
    for row in archive.nodes()["rows"]:
        detail = archive.node_detail(row[0])
        details[row[0]] = {key: value for key, value in detail.items()
                           if key not in ("created_at", "updated_at", "node", "evaluations",
                                          "model_calls")}
        # Times differ between the two writes; everything else must not.
        details[row[0]]["evaluations"] = [
            {k: v for k, v in e.items() if k not in ("started_at", "finished_at")}
            for e in detail["evaluations"]]
        calls = detail["model_calls"]
        at = calls["fields"].index("started_at")
        details[row[0]]["model_calls"] = [r[:at] + r[at + 1:] for r in calls["rows"]]
    spend = summary["spend"]
    return {"rows": rows, "best": summary["best_id"], "lineage": summary["best_lineage"],
            "spend": (spend["calls"], spend["tokens"], spend["usd"],
                      [step[1:] for step in spend["over_time"]]),
            "in_flight": summary["in_flight"], "details": details}


def test_the_same_run_reads_the_same_from_postgresql_and_sqlite(tmp_path, postgres_url):
    on_sqlite = write_synthetic_run(tmp_path / "sqlite", 25, seed=5, files_for=0, in_flight=0)
    on_postgres = write_synthetic_run(tmp_path / "postgres", 25, seed=5, files_for=0,
                                      in_flight=0, store_url=postgres_url)
    assert not (on_postgres.path / "archive.sqlite").exists()
    sqlite_view, postgres_view = RunArchive(on_sqlite.path), RunArchive(on_postgres.path)
    try:
        assert comparable(postgres_view) == comparable(sqlite_view)
        assert postgres_view.version() and postgres_view.version() == postgres_view.version()
    finally:
        sqlite_view.close()
        postgres_view.close()


def test_the_web_views_postgresql_connection_cannot_write(tmp_path, postgres_url):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    run = write_synthetic_run(tmp_path / "run", 3, files_for=0, in_flight=0,
                              store_url=postgres_url)
    view = RunArchive(run.path)
    try:
        with pytest.raises(DBAPIError, match="read-only"), view.engine.begin() as connection:
            connection.execute(text("DELETE FROM agentnode"))
    finally:
        view.close()
