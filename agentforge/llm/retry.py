"""Bounded retries with backoff: the one loop behind `ModelClient` and the gateway's relay.

The caller says which exceptions are failures of the call (the rest pass through at once)
and which of those are worth another try; `retry_call` tries up to `RetryPolicy.attempts`
times, waiting `backoff_delay` between tries, and when it stops it raises `GaveUp` with the
last failure and the number of attempts made, so each caller words its own error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from agentforge.llm.config import RetryPolicy

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


class GaveUp(Exception):
    """A call that will not be tried again: its last `failure`, after `attempts` tries."""

    def __init__(self, failure: Exception, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempt(s): {failure}")
        self.failure = failure
        self.attempts = attempts


def retry_call(call: Callable[[], T], policy: RetryPolicy, *,
               failures: type[E] | tuple[type[E], ...], retryable: Callable[[E], bool],
               sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`'s result, tried again while it raises a failure that is `retryable`.

    An exception of a `failures` type that is not retryable, or that ends the last attempt,
    is raised as `GaveUp` (from it); any other exception passes through untouched.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except failures as failure:
            if attempt == policy.attempts or not retryable(failure):
                raise GaveUp(failure, attempt) from failure
            sleep(backoff_delay(failure, attempt, policy))
    raise AssertionError("unreachable: attempts >= 1")


def backoff_delay(exc: BaseException, attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait before retry `attempt` (1-based): the server's Retry-After or 2^n.

    The Retry-After header is read from `exc.response.headers` when the failure carries a
    response (openai's errors, the gateway's `UpstreamFailure`).
    """
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        try:
            return min(float(header), policy.max_backoff)
        except ValueError:
            pass  # an HTTP date: fall back to our own schedule
    delay = policy.initial_backoff * 2 ** (attempt - 1)
    return min(delay * (0.75 + random.random() / 2), policy.max_backoff)  # jitter: no herds

