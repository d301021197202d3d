"""Each node's cost read back from the ledger: a grouping of its calls by the step that made
the node, and by the node itself for its evaluations."""

from __future__ import annotations

from agentforge.evolve.report.costs import node_costs
from agentforge.llm.ledger import Ledger, ModelCall
from agentforge.store import SqlStore

PROPOSAL = {"summary": "Add a checklist line", "diagnosis": "It never runs the tests.",
            "change": "Add one line to the system prompt.", "files": ["config.toml"],
            "expected_effect": "more resolved"}


def test_improvement_and_evaluation_costs_land_on_the_right_nodes(tmp_path):
    store = SqlStore.open(tmp_path / "archive.sqlite")
    ledger = Ledger(store.engine)
    store.create_run("r")
    seed = store.add_node("r", parent_id=None)
    # Two siblings from the same proposal: each step books its own calls.
    first = store.add_node("r", parent_id=seed.id, proposal=PROPOSAL, step_id="step-a")
    second = store.add_node("r", parent_id=seed.id, proposal=PROPOSAL, step_id="step-b")
    improve = "improve-same-proposal"  # both implementations carry the same task id
    ledger.record_many([
        # each diagnosis and implementation, booked to the parent under its step
        ModelCall(run_id="r", node_id=seed.id, role="diagnose", prompt_tokens=200,
                  cost_usd=0.02, step_id="step-b"),
        ModelCall(run_id="r", node_id=seed.id, role="diagnose", prompt_tokens=100,
                  cost_usd=0.01, step_id="step-a"),
        ModelCall(run_id="r", node_id=seed.id, task_id=improve, role="agent",
                  prompt_tokens=1000, cost_usd=0.1, step_id="step-a"),
        ModelCall(run_id="r", node_id=seed.id, task_id=improve, role="agent",
                  prompt_tokens=3000, cost_usd=0.3, step_id="step-b"),
        # evaluations: the seed's own and the first child's
        ModelCall(run_id="r", node_id=seed.id, task_id="t1", role="agent", prompt_tokens=7,
                  cost_usd=0.007),
        ModelCall(run_id="r", node_id=first.id, task_id="t1", role="agent", prompt_tokens=50,
                  cost_usd=0.05),
        ModelCall(run_id="r", node_id=first.id, task_id="t1", role="agent", prompt_tokens=999,
                  cost_usd=9.0, cached=True),  # a cache hit costs nothing
        # a step still running (or one whose node was never written): nobody's cost yet
        ModelCall(run_id="r", node_id=seed.id, role="diagnose", prompt_tokens=5000,
                  step_id="step-in-flight"),
    ])
    costs = node_costs(store.engine, "r", store.list_nodes("r"))
    assert (costs[first.id].improve_tokens, costs[first.id].evaluate_tokens) == (1100, 50)
    assert (costs[second.id].improve_tokens, costs[second.id].evaluate_tokens) == (3200, 0)
    assert (costs[seed.id].improve_tokens, costs[seed.id].evaluate_tokens) == (0, 7)
    assert round(costs[first.id].total_usd, 6) == 0.16
    # a node read alone with its siblings costs the same as in the whole archive
    family = [n for n in store.list_nodes("r") if n.parent_id == seed.id]
    assert node_costs(store.engine, "r", family)[second.id] == costs[second.id]
    store.close()
