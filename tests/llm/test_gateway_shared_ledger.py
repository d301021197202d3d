"""A run budget across a cluster: each node's gateway books into the one ledger and reads
the run's total back from it before each call, so calls through other gateways count."""

from __future__ import annotations

import openai

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Budget, Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

FAST = RetryPolicy(attempts=2, initial_backoff=0.01, max_backoff=0.05, timeout=5)
SCRIPT = {"rules": [{"last_message_contains": "hello", "respond": {
    "content": "hi", "usage": {"prompt_tokens": 40, "completion_tokens": 10}}}]}


def ask(gateway: Gateway, token: str, text: str) -> None:
    client = openai.OpenAI(base_url=gateway.tcp_base_url, api_key=token, max_retries=0,
                           timeout=30)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}],
                                   max_tokens=10)


def answered_by_second_node(tmp_path, shared: bool) -> int:
    """Node A spends 150 of the run's 200 tokens; how many 50-token calls node B answers."""
    ledger_path = tmp_path / f"shared-{shared}.db"
    with ScriptedServer(SCRIPT) as upstream:
        endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="k")
        budget = Budget(tokens=200)
        with Gateway(endpoint, Ledger(ledger_path), retry=FAST, tcp_port=0,
                     shared_ledger=shared) as node_a, \
             Gateway(endpoint, Ledger(ledger_path), retry=FAST, tcp_port=0,
                     shared_ledger=shared) as node_b:
            # Both grants are made before any spend: B's start-of-task view of the run is 0.
            grant_a = node_a.grant(run_id="r", node_id=1, task_id="a", run_budget=budget)
            grant_b = node_b.grant(run_id="r", node_id=2, task_id="b", run_budget=budget)
            for i in range(3):
                ask(node_a, grant_a.token, f"hello {i}")
            node_a.flush()
            answered = 0
            for i in range(6):
                try:
                    ask(node_b, grant_b.token, f"hello b{i}")
                except openai.APIStatusError as exc:
                    assert exc.status_code == 402 and "budget of run r" in str(exc)
                    break
                answered += 1
            node_b.flush()
    return answered


def test_a_node_gateway_counts_what_other_nodes_spent_before_each_call(tmp_path):
    assert answered_by_second_node(tmp_path, shared=True) == 1  # 150 + 50 = the budget


def test_without_the_shared_read_a_second_node_would_overspend(tmp_path):
    # The control: a gateway that only counts its own calls answers B's whole run budget.
    assert answered_by_second_node(tmp_path, shared=False) == 4


def test_the_ledger_holds_every_nodes_calls(tmp_path):
    answered_by_second_node(tmp_path, shared=True)
    assert Ledger(tmp_path / "shared-True.db").spend(run_id="r").tokens == 200


def test_a_hostile_sandbox_flooding_its_node_cannot_spend_past_the_run_budget(tmp_path):
    """Node A spends 150 of 200; on node B an agent fires 12 calls at once with a huge cap:
    B sees A's spend, holds the rest for one call, refuses the others (429/402)."""
    from concurrent.futures import ThreadPoolExecutor

    ledger_path = tmp_path / "flood.db"
    with ScriptedServer(SCRIPT) as upstream:
        endpoint = Endpoint(base_url=upstream.base_url, model="gpt-4o-mini", api_key="k")
        budget = Budget(tokens=200)
        with Gateway(endpoint, Ledger(ledger_path), retry=FAST, tcp_port=0,
                     shared_ledger=True) as node_a, \
             Gateway(endpoint, Ledger(ledger_path), retry=FAST, tcp_port=0,
                     shared_ledger=True) as node_b:
            grant_a = node_a.grant(run_id="r", node_id=1, task_id="a", run_budget=budget)
            grant_b = node_b.grant(run_id="r", node_id=2, task_id="b", run_budget=budget)
            for i in range(3):
                ask(node_a, grant_a.token, f"hello {i}")
            node_a.flush()
            client = openai.OpenAI(base_url=node_b.tcp_base_url, api_key=grant_b.token,
                                   max_retries=0, timeout=30)

            def flood(i: int) -> int:
                try:
                    client.chat.completions.create(
                        model="m", messages=[{"role": "user", "content": f"hello f{i}"}],
                        max_tokens=1_000_000)
                except openai.APIStatusError as exc:
                    return exc.status_code
                return 200

            with ThreadPoolExecutor(12) as pool:
                statuses = list(pool.map(flood, range(12)))
            node_b.flush()
    assert statuses.count(200) <= 1 and set(statuses) <= {200, 402, 429}, statuses
    assert Ledger(ledger_path).spend(run_id="r").tokens <= 200
