"""The guards: loopback Host or token, read-only, files only from inside the run directory."""

from __future__ import annotations

import os

from fastapi.testclient import TestClient

from agentforge.web.app import create_app


def test_every_answer_carries_a_strict_content_security_policy(client):
    for url in ("/", "/api/runs", "/api/runs/hostile/nodes", "/api/runs/nope"):
        answer = client.get(url)
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, url
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_no_route_writes(client, hostile_run):
    database = hostile_run.path / "archive.sqlite"
    before = database.stat().st_mtime_ns
    for method in ("post", "put", "delete", "patch"):
        for url in ("/api/runs/hostile", "/api/runs/hostile/nodes/1"):
            assert getattr(client, method)(url).status_code == 405, (method, url)
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404
    assert database.stat().st_mtime_ns == before


def test_the_database_is_opened_read_only(client):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    archive = client.app.state.catalog.archive("hostile")
    refused = pytest.raises(OperationalError, match="readonly|read-only|attempt to write")
    with refused, archive.engine.begin() as connection:
        connection.execute(text("DELETE FROM agentnode"))


def test_a_foreign_host_is_refused_without_a_token(hostile_run):
    app = create_app([hostile_run.path.parent])
    with TestClient(app, base_url="http://evil.example:8765") as foreign:
        answer = foreign.get("/api/runs")
        assert answer.status_code == 403 and "loopback" in answer.json()["error"]
    with TestClient(app, base_url="http://localhost:8765") as local:
        assert local.get("/api/runs").status_code == 200


def test_with_a_token_every_request_must_carry_it(hostile_run):
    app = create_app([hostile_run.path.parent], token="s3cret-token")
    with TestClient(app, base_url="http://10.1.2.3:8765") as remote:
        assert remote.get("/").status_code == 401
        assert remote.get("/api/runs").status_code == 401
        assert remote.get("/api/runs?token=wrong").status_code == 401
        assert remote.get("/static/app.css").status_code == 401
        page = remote.get("/?token=s3cret-token")
        assert page.status_code == 200 and "agentforge_token" in page.headers["set-cookie"]
        assert "httponly" in page.headers["set-cookie"].lower()
        assert remote.get("/api/runs").status_code == 200  # the cookie now carries it
    with TestClient(app, base_url="http://10.1.2.3:8765") as other:
        assert other.get("/api/runs",
                         headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_files_are_served_as_plain_text_from_inside_the_run(client, hostile_run):
    node = client.get(f"/api/runs/hostile/nodes/{hostile_run.hostile_node}").json()
    path = next(f for t in node["evaluations"] for f in t["files"] if f.endswith(".json"))
    answer = client.get(f"/api/runs/hostile/files/{path}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "window.__pwned" in answer.text  # served as text: the payload is only data here


def test_file_routes_refuse_everything_outside_the_run(client, hostile_run, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    node_dir = hostile_run.path / "nodes" / "1"
    os.symlink(secret, node_dir / "leak.txt")
    os.symlink(tmp_path, node_dir / "leakdir")
    try:
        attempts = [
            "../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
            "nodes/../../secret.txt", "%252e%252e/etc/passwd", "nodes/1/leak.txt",
            "nodes/1/leakdir/secret.txt", str(secret), "/" + str(secret), "archive.sqlite",
            "config.json/..", "nodes/1/%00.txt", "nodes\\..\\..\\etc\\passwd", "agents.git/HEAD",
            "nodes/1", "",
        ]
        for attempt in attempts:
            answer = client.get(f"/api/runs/hostile/files/{attempt}")
            assert answer.status_code == 404, (attempt, answer.status_code)
            assert "top secret" not in answer.text and "root:" not in answer.text
        raw = client.get("/api/runs/hostile/files/" + "%2E%2E/" * 6 + "etc/passwd")
        assert raw.status_code == 404
    finally:
        (node_dir / "leak.txt").unlink()
        (node_dir / "leakdir").unlink()


def test_a_broken_archive_is_a_clear_error_not_a_traceback(tmp_path):
    broken = tmp_path / "runs" / "broken"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{}")
    (broken / "archive.sqlite").write_bytes(b"this is not a database" * 100)
    with TestClient(create_app([tmp_path / "runs"]), base_url="http://127.0.0.1") as client:
        runs = client.get("/api/runs").json()
        assert runs[0]["status"] == "unreadable" and "cannot be read" in runs[0]["error"]
        answer = client.get("/api/runs/broken")
        assert answer.status_code == 404 and "cannot be read" in answer.json()["error"]
        assert "Traceback" not in answer.text


def test_an_internal_error_is_one_json_line(tmp_path):
    import sqlite3

    from agentforge.store import SqlStore

    odd = tmp_path / "runs" / "odd"
    odd.mkdir(parents=True)
    (odd / "config.json").write_text("{}")
    store = SqlStore.open(odd / "archive.sqlite")
    store.create_run("x")
    store.close()
    with sqlite3.connect(odd / "archive.sqlite") as db:  # an archive that lost a table
        db.execute("DROP TABLE taskresult")
        db.execute("DROP TABLE evaluation")
    with TestClient(create_app([tmp_path / "runs"]), base_url="http://127.0.0.1",
                    raise_server_exceptions=False) as client:
        assert client.get("/api/runs").json()[0]["status"] == "unreadable"
        answer = client.get("/api/runs/odd/nodes")
        assert answer.status_code == 500
        assert answer.json() == {"error": "internal error (see the server's log)"}
        assert "content-security-policy" in answer.headers


def test_an_older_archive_says_how_to_upgrade_it(tmp_path):
    import sqlite3

    from agentforge.web.synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "runs" / "old", 3, files_for=0)
    with sqlite3.connect(run.path / "archive.sqlite") as db:  # as an older agentforge left it
        db.execute("UPDATE schemaversion SET version = 0 WHERE id = 1")
    with TestClient(create_app([tmp_path / "runs"]), base_url="http://127.0.0.1") as client:
        answer = client.get("/api/runs/old")
        assert answer.status_code == 404
        assert f"agentforge status {run.path}" in answer.json()["error"]
