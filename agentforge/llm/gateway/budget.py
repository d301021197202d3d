"""The gateway's budgets: reserve a request's worst case before it is forwarded, settle after.

A request may cost its prompt plus `n` completions of up to its completion cap. Before it is
forwarded, that worst case is reserved against its task's and run's budgets (with every call
still in flight counted), and the cap and `n` are lowered to what is left, so concurrent or
greedy calls cannot spend past a budget. When the answer is booked, the reservation is
replaced by what the call really cost.

The prompt is every field the model reads, not only the messages: tools, `response_format`'s
schema and the rest of the body count as text, and each image part at the most an image costs,
whatever its bytes (a few bytes of PNG can be a large image). A `prediction`'s rejected tokens
are billed as completion, so each choice reserves them on top of its cap. Parts whose cost
cannot be known are refused before this (params.request_problem).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from agentforge.llm.ledger import CallContext, Spend
from agentforge.llm.params import MAX_TOKENS, TOKEN_PARAMS, content_parts, requested_cap

UNCAPPED_RESERVE = 32_768
"""Completion tokens reserved for a request without a cap while more than this is left. Such a
request stays uncapped: a cap larger than a server's context makes it refuse the request."""
IMAGE_PART_TOKENS = 48_169
"""Prompt tokens reserved per image part: the most one image costs on OpenAI's price list
(gpt-4o-mini at high detail: 2,833 + 8 tiles of 5,667), on top of its bytes counted as text."""
_CHARS_PER_PROMPT_TOKEN = 3  # deliberately low (English averages ~4): prompts are estimated high


@dataclass(frozen=True)
class Budget:
    """A spending limit; None means unlimited. Tokens count prompt plus completion."""

    tokens: int | None = None
    usd: float | None = None


@dataclass
class Reservation:
    """What one request in flight holds against its task's and run's budgets."""

    scopes: tuple[tuple, ...]
    tokens: int = 0
    usd: float = 0.0


class BudgetRefused(Exception):
    """The request cannot be forwarded: 402 when a budget is spent, 429 while calls in flight
    hold what is left."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def task_scope(context: CallContext) -> tuple:
    """The budget scope of a task: its run, node and task."""
    return ("task", context.run_id, context.node_id, context.task_id)


def run_scope(run_id: str | None) -> tuple:
    """The budget scope of a whole run."""
    return ("run", run_id)


def estimate_prompt_tokens(body: dict) -> int:
    """An upper-leaning estimate of a request's prompt tokens: every field but the prediction
    as text (non-ASCII escaped, so a character counts as its \\uXXXX), plus its images."""
    read = {name: value for name, value in body.items() if name != "prediction"}
    images = sum(isinstance(part, dict) and part.get("type") == "image_url"
                 for part in content_parts(body))
    return (1 + len(json.dumps(read)) // _CHARS_PER_PROMPT_TOKEN
            + images * IMAGE_PART_TOKENS)


def estimate_prediction_tokens(body: dict) -> int:
    """Completion tokens a choice may cost beyond its cap: its predicted output, if rejected."""
    prediction = body.get("prediction")
    return 1 + len(json.dumps(prediction)) // _CHARS_PER_PROMPT_TOKEN if prediction else 0


class Budgets:
    """Spent and reserved tokens and dollars per task and run scope; thread-safe."""

    def __init__(self, cost: Callable[[int, int], float]) -> None:
        self._cost = cost  # dollars of (prompt tokens, completion tokens) of the upstream model
        self._spent: dict[tuple, list[float]] = {}
        self._reserved: dict[tuple, list[float]] = {}
        self._run_budgets: dict[str, Budget] = {}
        self._run_ended: dict[str, str] = {}  # run -> why its budget cannot pay for a call
        self._lock = threading.Lock()

    def seed(self, context: CallContext, task_spend: Spend, run_spend: Spend) -> None:
        """Start counting a task from what the ledger already holds (a resumed run)."""
        with self._lock:
            self._spent[task_scope(context)] = [task_spend.tokens, task_spend.cost_usd]
            run = run_scope(context.run_id)
            current = self._spent.get(run, [0, 0.0])
            self._spent[run] = [max(current[0], run_spend.tokens),
                                max(current[1], run_spend.cost_usd)]

    def has_run_budget(self, run_id: str | None) -> bool:
        """Whether a budget limits the run's total."""
        with self._lock:
            return (run_id or "") in self._run_budgets

    def raise_run_spend(self, run_id: str, spend: Spend) -> None:
        """Count at least `spend` for the run: what every gateway of a cluster booked, read
        from the shared ledger (this gateway's own calls not yet written stay counted)."""
        with self._lock:
            current = self._spent.setdefault(run_scope(run_id), [0, 0.0])
            current[0] = max(current[0], spend.tokens)
            current[1] = max(current[1], spend.cost_usd)

    def set_run_budget(self, run_id: str, budget: Budget) -> None:
        """Limit what all grants of a run may spend together."""
        with self._lock:
            self._run_budgets[run_id] = budget
            self._run_ended.pop(run_id, None)

    def run_exhausted(self, run_id: str) -> str | None:
        """Why the run's budget can pay for no more calls (also when a little is left, too
        little for a prompt), in the words of the run's own budget check; else None."""
        with self._lock:
            noted = self._run_ended.get(run_id)
            budget = self._run_budgets.get(run_id)
            tokens, usd = self._spent.get(run_scope(run_id), [0, 0.0])
        if noted or budget is None:
            return noted
        # Also before any call was refused (a resumed run): too little for the smallest call.
        if budget.tokens is not None and budget.tokens - tokens < SMALLEST_CALL + 1:
            return f"tokens: {int(tokens)} of {budget.tokens} used"
        if budget.usd is not None and budget.usd - usd < self._cost(SMALLEST_CALL, 1):
            return f"dollars: ${usd:.4f} of ${budget.usd:.4f} spent"
        return None

    def spent(self, scope: tuple) -> tuple[float, float]:
        """(tokens, dollars) booked so far in a scope."""
        with self._lock:
            tokens, usd = self._spent.get(scope, [0, 0.0])
        return tokens, usd

    def reserve(self, context: CallContext, budget: Budget, body: dict) -> Reservation:
        """Reserve the request's worst case, lowering its cap and `n` to fit; may refuse."""
        scopes = (task_scope(context), run_scope(context.run_id))
        limits = [(scopes[0], budget, f"task {context.task_id} (node {context.node_id}, "
                   f"run {context.run_id})"),
                  (scopes[1], self._run_budgets.get(context.run_id or ""),
                   f"run {context.run_id}")]
        wanted = body.get("n") if isinstance(body.get("n"), int) and body["n"] > 0 else 1
        # What the request costs whatever its cap: its prompt, and a rejected prediction for
        # each choice it asks for.
        fixed = (estimate_prompt_tokens(body), wanted * estimate_prediction_tokens(body))
        requested = requested_cap(body)
        with self._lock:
            room = self._room(limits, *fixed)
            if room is None:  # no budget applies: nothing to hold back
                return Reservation(scopes)
            choices = min(wanted, room)
            per_choice = room // choices
            cap = per_choice if requested is None else min(requested, per_choice)
            if requested is None and per_choice >= UNCAPPED_RESERVE:
                cap = None
            completion = fixed[1] + (cap or UNCAPPED_RESERVE) * choices
            reservation = Reservation(scopes, fixed[0] + completion,
                                      self._cost(fixed[0], completion))
            for scope in scopes:
                held = self._reserved.setdefault(scope, [0, 0.0])
                held[0] += reservation.tokens
                held[1] += reservation.usd
        if cap is not None:
            names = [name for name in TOKEN_PARAMS if name in body] or [MAX_TOKENS]
            for name in names:
                body[name] = cap
        if choices != wanted:
            body["n"] = choices
        return reservation

    def _room(self, limits: list, prompt: int, predicted: int) -> int | None:
        """Completion tokens left for a request with this prompt and these predicted
        completion tokens (None: unlimited)."""
        room: int | None = None
        fixed = prompt + predicted
        per_token = self._cost(0, 1_000_000) / 1_000_000
        for scope, budget, name in limits:
            if budget is None:
                continue
            tokens, usd = self._spent.get(scope, [0, 0.0])
            held_tokens, held_usd = self._reserved.get(scope, [0, 0.0])
            if budget.tokens is not None:
                if tokens >= budget.tokens:
                    self._note_end(scope, f"tokens: {int(tokens)} of {budget.tokens} used")
                    raise BudgetRefused(402, budget_message(
                        name, f"{int(tokens)} tokens used of {budget.tokens}"))
                left = int(budget.tokens - tokens - held_tokens) - fixed
                if left < 1:
                    if not held_tokens:
                        self._note_end(scope, f"tokens: {int(tokens)} of {budget.tokens} used, "
                                       f"too few left for a call's prompt (~{fixed})")
                    raise _short(name, f"{int(budget.tokens - tokens)} tokens",
                                 f"~{fixed} tokens", held_tokens > 0)
                room = left if room is None else min(room, left)
            if budget.usd is not None:
                if usd >= budget.usd:
                    self._note_end(scope, f"dollars: ${usd:.4f} of ${budget.usd:.4f} spent")
                    raise BudgetRefused(402, budget_message(
                        name, f"${usd:.4f} used of ${budget.usd:.4f}"))
                left_usd = budget.usd - usd - held_usd - self._cost(prompt, predicted)
                if left_usd <= 0 or (per_token > 0 and left_usd < per_token):
                    if not held_usd:
                        self._note_end(scope, f"dollars: ${usd:.4f} of ${budget.usd:.4f} "
                                       "spent, too little left for a call")
                    raise _short(name, f"${budget.usd - usd:.4f}",
                                 f"~${self._cost(prompt, predicted):.4f}", held_usd > 0)
                if per_token > 0:
                    left = math.floor(left_usd / per_token)
                    room = left if room is None else min(room, left)
        return room

    def _note_end(self, scope: tuple, reason: str) -> None:
        if scope[0] == "run":  # the run's loop stops on this, as on a spent budget
            self._run_ended[scope[1] or ""] = reason

    def settle(self, reservation: Reservation | None, scopes: tuple[tuple, ...],
               tokens: int, usd: float) -> None:
        """Replace a reservation (if any) by what the call really cost."""
        with self._lock:
            if reservation is not None:
                for scope in reservation.scopes:
                    held = self._reserved.get(scope)
                    if held is not None:
                        held[0] -= reservation.tokens
                        held[1] -= reservation.usd
                reservation.tokens, reservation.usd = 0, 0.0  # settling twice is harmless
            for scope in scopes:
                spent = self._spent.setdefault(scope, [0, 0.0])
                spent[0] += tokens
                spent[1] += usd


def _short(name: str, left: str, prompt: str, in_flight: bool) -> BudgetRefused:
    if in_flight:  # the rest is held by calls in flight: it may come back when they finish
        return BudgetRefused(429, f"agentforge gateway: the model budget of {name} is held by "
                             f"calls in flight ({left} left before them); retry when they "
                             "have finished, or make fewer calls at once.")
    return BudgetRefused(402, budget_message(
        name, f"{left} left, this request's prompt alone needs {prompt}"))


def budget_message(scope: str, used: str) -> str:
    """The 402 message telling an agent its budget is spent."""
    return (f"agentforge gateway: the model budget of {scope} is spent ({used}). No further "
            "model calls will be answered for it: stop calling the model and finish with the "
            "work you have.")


SMALLEST_CALL = estimate_prompt_tokens({"messages": [{"role": "user", "content": ""}]})
"""The prompt estimate of the shortest possible chat request."""
