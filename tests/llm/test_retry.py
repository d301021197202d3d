"""retry_call and backoff_delay: how often a call is tried, how long between tries, what
the caller gets when it stops (real exceptions; the sleep is a recorder passed in)."""

from __future__ import annotations

import httpx
import openai
import pytest

from agentforge.llm.config import RetryPolicy
from agentforge.llm.retry import GaveUp, backoff_delay, retry_call

POLICY = RetryPolicy(attempts=4, initial_backoff=1.0, max_backoff=5.0)


class Flaky(Exception):
    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Script:
    """A call that raises the given exceptions in turn, then returns 'done'."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def run(call: Script, policy: RetryPolicy = POLICY) -> tuple[str, list[float]]:
    waits: list[float] = []
    result = retry_call(call, policy, failures=Flaky, retryable=lambda f: f.retryable,
                        sleep=waits.append)
    return result, waits


def test_retryable_failures_are_tried_again_with_growing_waits():
    call = Script(Flaky("one"), Flaky("two"), Flaky("three"))
    result, waits = run(call)
    assert (result, call.calls) == ("done", 4)
    # 1, 2, 4 seconds, each within the +-25 % jitter.
    for wait, base in zip(waits, (1.0, 2.0, 4.0), strict=True):
        assert 0.75 * base <= wait <= 1.25 * base


def test_the_last_failure_is_given_up_with_the_number_of_attempts():
    failures = [Flaky(f"try {n}") for n in range(1, 5)]
    call = Script(*failures, Flaky("never reached"))
    with pytest.raises(GaveUp) as caught:
        run(call)
    assert caught.value.failure is failures[-1]
    assert caught.value.__cause__ is failures[-1]
    assert caught.value.attempts == call.calls == 4
    assert "4 attempt(s)" in str(caught.value) and "try 4" in str(caught.value)


def test_a_failure_not_worth_retrying_stops_at_once_without_a_wait():
    call = Script(Flaky("transient"), Flaky("bad request", retryable=False))
    waits: list[float] = []
    with pytest.raises(GaveUp) as caught:
        retry_call(call, POLICY, failures=Flaky, retryable=lambda f: f.retryable,
                   sleep=waits.append)
    assert (caught.value.attempts, str(caught.value.failure)) == (2, "bad request")
    assert len(waits) == 1


def test_other_exceptions_pass_through_untouched():
    bug = KeyError("a bug, not a failure of the call")
    call = Script(Flaky("transient"), bug)
    with pytest.raises(KeyError) as caught:
        run(call)
    assert caught.value is bug and call.calls == 2


def test_one_attempt_means_no_retry():
    call = Script(Flaky("once"))
    with pytest.raises(GaveUp) as caught:
        run(call, RetryPolicy(attempts=1))
    assert caught.value.attempts == call.calls == 1


def rate_limited(retry_after: str | None) -> openai.RateLimitError:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    response = httpx.Response(429, headers=headers,
                              request=httpx.Request("POST", "http://127.0.0.1/v1/chat"))
    return openai.RateLimitError("slow down", response=response, body=None)


def test_retry_after_is_honoured_up_to_max_backoff():
    assert backoff_delay(rate_limited("2"), 3, POLICY) == 2.0
    assert backoff_delay(rate_limited("0"), 1, POLICY) == 0.0
    assert backoff_delay(rate_limited("3600"), 1, POLICY) == POLICY.max_backoff


def test_an_http_date_or_no_header_falls_back_to_the_schedule():
    for failure in (rate_limited("Wed, 21 Oct 2015 07:28:00 GMT"), rate_limited(None)):
        assert 0.75 * 2.0 <= backoff_delay(failure, 2, POLICY) <= 1.25 * 2.0
    assert backoff_delay(Flaky("no response at all"), 10, POLICY) == POLICY.max_backoff
