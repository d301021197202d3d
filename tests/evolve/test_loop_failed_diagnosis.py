"""A diagnosis that never fits the schema becomes a `failed` node holding the model's text."""

from __future__ import annotations

import json

from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.operators.self_edit import self_edit
from agentforge.evolve.selection.base import can_be_parent
from agentforge.evolve.step import StepPlan
from agentforge.store.records import NodeStatus


def test_an_invalid_diagnosis_is_retried_then_archived_as_failed(tiny_suite, tmp_path):
    path = demo_config(tmp_path, tiny_suite)
    script = json.loads((tmp_path / "model.json").read_text())
    for rule in script["rules"]:
        if rule.get("name") == "diagnose":
            rule["respond"] = {"content": "Refactor everything, trust me."}
    (tmp_path / "model.json").write_text(json.dumps(script))
    config = load_run_config(path, ["improve.diagnose_attempts=2"])
    with open_run(tmp_path / "run", config) as run:
        seed = run.store.list_nodes(run.run_id)[0]
        # fails before any sandbox is needed
        node_id = self_edit(run, StepPlan.new(seed.id)).node_id
        node = run.store.get_node(node_id)
        calls = run.ledger.calls(run_id=run.run_id, role="diagnose")
        summary = next(s for s in run.store.node_summaries(run.run_id) if s.id == node_id)
    assert node.parent_id == seed.id and node.status == NodeStatus.failed
    assert node.commit is None
    assert "Refactor everything, trust me." in node.reason
    assert json.loads(node.proposal_json) == {"invalid_reply": "Refactor everything, trust me."}
    assert len(calls) == 2  # the first reply and one retry
    assert not can_be_parent(summary)
