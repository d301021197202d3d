"""The SQL store on a real SQLite file: runs, nodes, evaluations exactly once, events."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from agentforge.store import NodeStatus, SqlStore, StoreError, TaskResultData
from agentforge.store.tables import Evaluation


@pytest.fixture
def store(db_url):
    store = SqlStore.open(db_url)
    yield store
    store.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = SqlStore.open(tmp_path / "run.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.close()


def test_foreign_keys_are_enforced_by_the_database(store):
    store.create_run("r")
    with Session(store.engine) as session, pytest.raises(IntegrityError):
        session.add(Evaluation(run_id="r", node_id=999, task_id="t"))
        session.commit()


def test_nodes_form_a_tree_and_statuses_need_reasons(store):
    store.create_run("r", run_dir="/tmp/x", config={"selector": "dgm"})
    seed = store.add_node("r", parent_id=None, commit="a" * 40, status=NodeStatus.evaluating)
    child = store.add_node("r", parent_id=seed.id, proposal={"title": "add a tool"})
    assert [n.id for n in store.list_nodes("r")] == [seed.id, child.id]
    assert store.get_node(child.id).parent_id == seed.id
    with pytest.raises(StoreError, match="needs a reason"):
        store.update_node(child.id, status=NodeStatus.invalid)
    store.update_node(child.id, status=NodeStatus.invalid, reason="syntax error in agent.py")
    node = store.get_node(child.id)
    assert node.status == NodeStatus.invalid and node.reason == "syntax error in agent.py"
    with pytest.raises(StoreError, match="does not exist"):
        store.add_node("r", parent_id=12345)
    with pytest.raises(StoreError, match="already exists"):
        store.create_run("r")


def test_other_runs_nodes_cannot_be_parents(store):
    store.create_run("a")
    store.create_run("b")
    seed_a = store.add_node("a", parent_id=None)
    with pytest.raises(StoreError, match="belongs to run"):
        store.add_node("b", parent_id=seed_a.id)


def test_an_evaluation_finishes_exactly_once(store):
    store.create_run("r")
    node = store.add_node("r", parent_id=None)
    started = store.start_evaluation(node.id, "task-1")
    assert not started.finished
    done = store.finish_evaluation(
        started.id,
        resolved=True,
        reason="tests pass",
        cost_usd=0.25,
        tokens=1200,
        duration_s=3.5,
        result=TaskResultData(patch="diff --git a/x b/x", test_output="1 passed"),
    )
    assert done.finished and done.resolved and done.cost_usd == 0.25 and done.tokens == 1200
    assert store.task_result(started.id).test_output == "1 passed"
    with pytest.raises(StoreError, match="already finished"):
        store.finish_evaluation(started.id, resolved=False)
    with pytest.raises(StoreError, match="never repeated"):
        store.start_evaluation(node.id, "task-1")
    # A second attempt of the same task is a different evaluation.
    second = store.start_evaluation(node.id, "task-1", attempt=1)
    assert second.id != started.id
    assert store.get_node(node.id).id == node.id
    assert store.list_evaluations("r", finished=True)[0].resolved is True


def test_an_unfinished_evaluation_is_reused_after_a_crash(db_url):
    first = SqlStore.open(db_url)
    first.create_run("r")
    node = first.add_node("r", parent_id=None)
    crashed = first.start_evaluation(node.id, "t")
    first.close()
    # A new process (a resume) re-queues it: the same row, never a duplicate.
    second = SqlStore.open(db_url)
    assert [e.id for e in second.list_evaluations("r", finished=False)] == [crashed.id]
    again = second.start_evaluation(node.id, "t")
    assert again.id == crashed.id
    second.finish_evaluation(again.id, resolved=False, reason="timeout")
    assert len(second.list_evaluations("r")) == 1
    assert second.list_evaluations("r", finished=False) == []
    second.close()


def test_node_summaries_count_finished_validation_evaluations(store):
    store.create_run("r")
    seed = store.add_node("r", parent_id=None, status=NodeStatus.evaluated)
    child = store.add_node("r", parent_id=seed.id, status=NodeStatus.evaluating)
    outcomes = {"t1": True, "t2": False, "t3": True}
    for task, resolved in outcomes.items():
        e = store.start_evaluation(seed.id, task)
        store.finish_evaluation(e.id, resolved=resolved)
    store.start_evaluation(child.id, "t1")  # in flight: not counted
    held = store.start_evaluation(seed.id, "h1", split="heldout")
    store.finish_evaluation(held.id, resolved=True)
    summaries = {s.id: s for s in store.node_summaries("r")}
    assert (summaries[seed.id].successes, summaries[seed.id].failures) == (2, 1)
    assert summaries[seed.id].score == pytest.approx(2 / 3)
    assert summaries[child.id].evaluated_tasks == 0 and summaries[child.id].score is None
    assert summaries[child.id].parent_id == seed.id
    heldout = {s.id: s for s in store.node_summaries("r", split="heldout")}
    assert heldout[seed.id].successes == 1 and heldout[seed.id].failures == 0


def test_run_state_and_events_round_trip(store):
    store.create_run("r")
    store.update_run(
        "r", rng_state="[3, [1, 2], null]", iterations=7, status="stopped", stop_reason="wall time"
    )
    run = store.get_run("r")
    assert (run.rng_state, run.iterations, run.stop_reason) == ("[3, [1, 2], null]", 7, "wall time")
    with pytest.raises(StoreError, match="cannot update"):
        store.update_run("r", id="other")
    for i in range(5):
        store.add_event("r", "progress", f"step {i}", data={"i": i})
    assert [e.message for e in store.list_events("r", limit=2)] == ["step 3", "step 4"]


def test_concurrent_writers_from_threads_and_two_connections(db_url):
    store_a = SqlStore.open(db_url)
    store_b = SqlStore.open(db_url)  # a second engine, as a second process would have
    store_a.create_run("r")
    node = store_a.add_node("r", parent_id=None)
    errors: list[BaseException] = []

    def work(store: SqlStore, worker: int) -> None:
        try:
            for i in range(20):
                e = store.start_evaluation(node.id, f"w{worker}-t{i}")
                store.finish_evaluation(e.id, resolved=i % 2 == 0)
                store.add_event("r", "done", f"w{worker} {i}")
        except BaseException as exc:  # collected and re-raised below, in the test thread
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(s, w)) for w, s in enumerate([store_a, store_b] * 3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    finished = store_a.list_evaluations("r", finished=True)
    assert len(finished) == 6 * 20
    assert len({(e.node_id, e.task_id) for e in finished}) == 6 * 20
    with store_b.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event")).scalar() == 120
    store_a.close()
    store_b.close()


def test_the_store_hands_out_records_not_orm_rows(store):
    """What crosses the seam is plain data: immutable, with no session behind it, and each
    record has exactly its table's columns (a column added to one and not the other fails)."""
    from pydantic import ValidationError
    from sqlmodel import SQLModel

    from agentforge.store import records, tables

    run = store.create_run("r")
    root = store.add_node("r", parent_id=None, commit="c0")
    evaluation = store.start_evaluation(root.id, "t")
    store.finish_evaluation(evaluation.id, resolved=True,
                            result=TaskResultData(patch="p", test_output="o"))
    store.add_event("r", "note", "hello", node_id=root.id)
    handed = [run, store.get_run("r"), root, store.get_node(root.id), *store.list_nodes("r"),
              *store.list_evaluations("r"), store.task_result(evaluation.id),
              *store.list_events("r")]
    assert not any(isinstance(item, SQLModel) for item in handed)
    with pytest.raises(ValidationError):
        root.status = NodeStatus.invalid  # a record is read, never written back
    for table, record in [(tables.Run, records.RunRecord), (tables.AgentNode, records.NodeRecord),
                          (tables.Evaluation, records.EvaluationRecord),
                          (tables.EvaluationArtefacts, records.ArtefactsRecord),
                          (tables.Event, records.EventRecord)]:
        assert set(record.model_fields) == set(table.model_fields), table.__name__
