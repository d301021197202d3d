"""The contract check's task, drawn fresh for every validation.

A child must not be able to pass the check without relaying between the model and the
repository, so nothing of the task is fixed: the module, function and parameter names, the
bug, the values in the problem statement, how many files the model reads before it answers,
the tokens those files hold and the note the model's fix writes are all drawn here. The
scripted model only answers with the next step once the agent has shown it the previous
step's output (a token it can only have read through the tool call), and the expected file
is the one the model's last command writes, note included: a blind edit, a stub that calls
the model once, or a child that recognises a fixed task cannot produce it.

The script is handed to the scripted model server through its environment, as another
user (contract.py), so the child can neither read the expected output nor learn the tokens
from it.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

_MODULES = ("ledger", "pricing", "metrics", "geometry", "inventory", "scoring", "timing",
            "rates", "totals", "budget", "shipping", "grades", "weights", "tally")
_SUFFIXES = ("", "_rules", "_math", "_utils", "_core", "_calc", "_ops")
_VERBS = ("combine", "merge", "blend", "join", "pair", "fold", "apply", "settle", "mix")
_NOUNS = ("totals", "amounts", "counts", "scores", "values", "weights", "rates", "sizes")
_PARAMS = (("a", "b"), ("x", "y"), ("left", "right"), ("first", "second"), ("base", "extra"),
           ("lhs", "rhs"), ("old", "new"))
_HELPERS = ("NOTES.md", "CHANGELOG.md", "constants.py", "README.md", "settings.py")
# name -> (how the body computes it, how the problem describes it, the function itself)
_OPERATIONS = {
    "sum": ("{x} + {y}", "the sum of", lambda x, y: x + y),
    "difference": ("{x} - {y}", "{x} minus {y} for", lambda x, y: x - y),
    "product": ("{x} * {y}", "the product of", lambda x, y: x * y),
    "larger": ("max({x}, {y})", "the larger of", max),
    "smaller": ("min({x}, {y})", "the smaller of", min),
}
_PROBLEMS = (
    "`{call}` in `{path}` returns {wrong}, but it should return {right}. {function} must "
    "return {description} its two arguments; fix it.\n",
    "# Wrong result from {function}\n\n`{path}` defines `{function}`, which should return "
    "{description} its arguments. Right now `{call}` gives {wrong} instead of {right}.\n",
    "Bug report: calling `{call}` (defined in `{path}`) yields {wrong}; the expected value is "
    "{right}. Please correct `{function}`.\n",
)


@dataclass(frozen=True)
class ContractTask:
    """One drawn contract task: what the agent is given and what must come out."""

    problem: str
    repo: dict[str, str]
    """The repository's files (path -> text)."""
    script: dict
    """The scripted model's rules (secret: it names the expected output)."""
    expected: dict[str, str]
    """Files as they must be after the run (path -> exact text)."""
    reads: int
    """Files the model has the agent show it before it answers with the fix."""


def _token(rng: random.Random, length: int = 12) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _tool(name: str, **arguments) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def _printed(rng: random.Random) -> tuple[str, str]:
    """A marker and a command printing it without holding it (so the marker appears only in
    the command's output, never in the model's message)."""
    head, tail = _token(rng, 6), _token(rng, 6)
    return f"{head}-{tail}", f"printf '%s-%s\\n' {head} {tail}"


def _function_source(function: str, params: tuple[str, str], body: str, note: str = "") -> str:
    x, y = params
    comment = f"  # {note}" if note else ""
    return (f"def {function}({x}, {y}):\n"
            f"    return {body.format(x=x, y=y)}{comment}\n")


def draw_contract_task(rng: random.Random | None = None) -> ContractTask:
    """A fresh contract task (from the system's entropy unless `rng` is given)."""
    rng = rng or random.Random(secrets.randbits(64))
    module = rng.choice(_MODULES) + rng.choice(_SUFFIXES)
    path = f"{module}.py"
    function = f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}"
    params = rng.choice(_PARAMS)
    right_name, wrong_name = rng.sample(sorted(_OPERATIONS), 2)
    right, wrong = _OPERATIONS[right_name], _OPERATIONS[wrong_name]
    while True:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        if a != b and right[2](a, b) != wrong[2](a, b):
            break
    revision = _token(rng)
    header = f'"""{module.replace("_", " ").capitalize()} helpers."""\n\n__revision__ = ' \
             f'"{revision}"\n\n\n'
    repo = {path: header + _function_source(function, params, wrong[0])}
    helpers = rng.sample(_HELPERS, rng.randint(0, 2))
    tokens = [revision]
    for helper in helpers:
        tokens.append(_token(rng))
        repo[helper] = (f"# reviewed {tokens[-1]}\n" if helper.endswith(".py")
                        else f"Reviewed: {tokens[-1]}\n")
    note = f"checked {_token(rng, 8)}"
    fixed = header + _function_source(function, params, right[0], note)
    applied, print_applied = _printed(rng)
    fix = f"cat > {path} <<'EOF'\n{fixed}EOF\n{print_applied}"
    description = right[1].format(x=params[0], y=params[1])
    problem = rng.choice(_PROBLEMS).format(
        call=f"{function}({a}, {b})", path=path, function=function,
        wrong=wrong[2](a, b), right=right[2](a, b), description=description)
    marker = f"`{function}({a}, {b})`"
    # Most specific first: the scripted server answers with the first rule that matches.
    files = [path, *helpers]
    rules = [
        {"name": "rank", "system_contains": RANKER, "respond": {"content": RANKING}},
        {"name": "submit", "last_message_contains": applied, "tools_offered": "submit",
         "respond": _tool("submit", summary=f"fixed {function}")},
        {"name": "done", "last_message_contains": applied, "respond": {"content": "Done."}},
        {"name": "fix", "last_message_contains": tokens[-1], "tools_offered": "bash",
         "respond": _tool("bash", command=fix)},
    ]
    for step in range(len(files) - 1, 0, -1):
        rules.append({"name": f"read-{step + 1}", "last_message_contains": tokens[step - 1],
                      "tools_offered": "bash",
                      "respond": _tool("bash", command=f"cat {files[step]}")})
    rules += [
        {"name": "read-1", "any_message_contains": marker, "tools_offered": "bash",
         "respond": _tool("bash", command=f"cat {files[0]}")},
        {"name": "other", "respond": {"content": "Done."}},
    ]
    return ContractTask(problem=problem, repo=repo, script={"rules": rules},
                        expected={path: fixed}, reads=len(files))


RANKER = "You choose how a coding agent should approach"
"""What the seed agent's strategy ranking asks (its meta-reasoning step)."""
RANKING = ("@@ranking\ndirect-edit\nreproduce-first\ntest-driven\nplan-then-edit\n"
           "meta-prompting\n@@end")
