"""Diagnosis against the scripted model over real HTTP: schema, retry, recorded failure."""

from __future__ import annotations

import json

import pytest

from agentforge.evolve.operators.diagnose import (
    AgentFacts,
    FailureCase,
    diagnose,
    parse_proposal,
)
from agentforge.evolve.operators.structured import ReplyFailed
from agentforge.llm.client import ModelClient
from agentforge.llm.config import RetryPolicy
from agentforge.llm.ledger import CallContext, Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

GOOD = {"summary": "Run the tests before submitting", "diagnosis": "It never ran the tests.",
        "change": "Add a rule to the coder prompt: run the tests before submit.",
        "files": ["coding_agent/config.toml"]}
FACTS = AgentFacts(name="base", description="seed", files=["coding_agent/config.toml"],
                   successes=1, failures=2)
CASES = [FailureCase(task_id="t1", reason="unresolved", problem="Fix the parser",
                     test_output="FAILED test_parse", trajectory="[assistant] submit")]


def _client(server: ScriptedServer, ledger: Ledger | None = None) -> ModelClient:
    return ModelClient(Endpoint(base_url=server.base_url, model="scripted"), ledger=ledger,
                       retry=RetryPolicy(attempts=1),
                       context=CallContext(run_id="r", node_id=1, role="diagnose"))


def test_a_valid_reply_becomes_a_proposal_and_the_prompt_holds_the_failures(tmp_path):
    rules = [{"system_contains": "diagnostician", "respond": {
        "content": "Here it is:\n```json\n" + json.dumps(GOOD) + "\n```"}}]
    with ScriptedServer({"rules": rules}) as server:
        ledger = Ledger(tmp_path / "ledger.sqlite")
        proposal = diagnose(_client(server, ledger), FACTS, CASES)
        prompt = json.dumps(server.requests[0]["messages"])
    assert proposal.summary == GOOD["summary"] and proposal.files == GOOD["files"]
    assert "Fix the parser" in prompt and "FAILED test_parse" in prompt and "1/3" in prompt
    assert [c.role for c in ledger.calls(run_id="r")] == ["diagnose"]


def test_an_invalid_reply_is_retried_with_the_error():
    rules = [{"last_message_contains": "could not be used",
              "respond": {"content": json.dumps(GOOD)}},
             {"system_contains": "diagnostician",
              "respond": {"content": json.dumps({"summary": "x"})}}]
    with ScriptedServer({"rules": rules}) as server:
        proposal = diagnose(_client(server), FACTS, CASES, attempts=2)
        retry = server.requests[1]["messages"][-1]["content"]
    assert proposal.change == GOOD["change"]
    assert "diagnosis" in retry and "change" in retry  # the missing fields are named


def test_a_model_that_never_answers_in_the_schema_fails_with_its_text():
    rules = [{"system_contains": "diagnostician", "respond": {"content": "I would refactor."}}]
    with ScriptedServer({"rules": rules}) as server, pytest.raises(ReplyFailed) as failed:
        diagnose(_client(server), FACTS, [], attempts=3)
        assert len(server.requests) == 3
    assert failed.value.text == "I would refactor." and "no JSON object" in str(failed.value)


def test_parse_takes_the_first_valid_object():
    assert parse_proposal("noise " + json.dumps(GOOD) + " trailing").summary == GOOD["summary"]
    with pytest.raises(ValueError, match="summary"):
        parse_proposal(json.dumps({**GOOD, "summary": ""}))
