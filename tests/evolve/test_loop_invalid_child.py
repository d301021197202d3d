"""A child whose entry point is broken passes its own tests but not the framework's
contract check: it is archived `invalid` before any task runs."""

from __future__ import annotations

import json

import pytest
from loop_fixtures import demo_config

from agentforge.evolve.config import load_run_config
from agentforge.evolve.loop.context import open_run
from agentforge.evolve.loop.run import EvolutionRun
from agentforge.store.records import NodeStatus

pytestmark = pytest.mark.slow
# Importing the module (as the agent's own tests do) is fine; running the agent is not.
MAIN_GUARD = 'if __name__ == "__main__":\n'
BROKEN_GUARD = MAIN_GUARD + '    raise SystemExit("the entry point was broken on purpose")\n'



def test_a_broken_entry_point_makes_the_child_invalid_at_validation(
        agent_image, tiny_suite, tmp_path):
    path = demo_config(tmp_path, tiny_suite)
    script = json.loads((tmp_path / "model.json").read_text())
    for rule in script["rules"]:
        if rule.get("name") == "implement":  # the change breaks the contract's entry point
            rule["respond"] = {"tool_calls": [{"name": "str_replace", "arguments": {
                "path": "coding_agent/__main__.py", "old_str": MAIN_GUARD,
                "new_str": BROKEN_GUARD}}]}
        if rule.get("name") == "implemented":
            rule["last_message_contains"] = "coding_agent/__main__.py"
    (tmp_path / "model.json").write_text(json.dumps(script))
    config = load_run_config(path, ["evaluation.stages=[{tasks = 1}, {}]",
                                    "finalize.enabled=false"])
    with open_run(tmp_path / "run", config) as run:
        report = EvolutionRun(run).run()
        nodes = run.store.list_nodes(run.run_id)
        child = next(n for n in nodes if n.parent_id is not None)
        child_evaluations = run.store.list_evaluations(run.run_id, node_id=child.id)
    assert report.stop_reason == "iterations"
    # Its own (quick) tests pass; the contract check runs the entry point and sees it fail.
    assert child.status == NodeStatus.invalid
    assert child.reason.startswith("contract check failed"), child.reason
    assert "broken on purpose" in child.reason
    assert child_evaluations == []
    assert "coding_agent/__main__.py" in run.repo.patch(child.commit)
