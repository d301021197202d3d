"""How per-test outcomes reach the grader without passing through a process under test.

The runners plan one fresh process per test file (pytest) or test package (Go). The
grader's driver (`runner_files/outcome_driver.py`) runs them one after another in the
grading sandbox, each with its own pipe for outcome events, and holds the outcomes itself,
in a process the tested code cannot read, trace or write into (only kill, which leaves no
report). What a process sends after its run ended, or any process sends after it was
killed, does not count. The grader accepts the report only if the driver's stdout begins
with its nonce line and ends with the nonce and the report's hash: nothing under test ever
sees the nonce.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

DRIVER = "outcome_driver.py"
BEGIN, END = "AGENTFORGE-OUTCOMES-BEGIN", "AGENTFORGE-OUTCOMES-END"


@dataclass
class ChildRun:
    """One fresh test process the driver starts."""

    label: str
    """What it runs (a test file, a Go package), as reported."""
    argv: list[str]
    cwd: str
    env: dict[str, str]
    requires: str | None = None
    """A file that must exist to run it (Go: the compiled test binary); else it did not build."""
    requires_log: str | None = None
    """Printed instead of running when `requires` is missing (the compiler's output)."""


@dataclass
class RunOutcome:
    """What one test process reported while it ran, as the driver kept it."""

    label: str
    tests: dict[str, str]
    problems: list[str] = field(default_factory=list)
    complete: bool = False
    """Its runner reported the end of the run before the process ended."""
    exitstatus: int | None = None
    """The status its runner reported at the end (pytest's exit status, Go's m.Run code)."""
    exit_code: int | None = None
    """How the process itself ended."""
    built: bool = True


def driver_plan(runs: list[ChildRun], grading_dir: str, report: str, uid: int
                ) -> tuple[list[str], dict[str, bytes]]:
    """The driver's command (run as the test user, `uid`) and the files it needs in
    grading_dir."""
    plan = {"report": report, "uid": uid, "runs": [run.__dict__ for run in runs]}
    files = {DRIVER: (Path(__file__).parent / "runner_files" / DRIVER).read_bytes(),
             "plan.json": json.dumps(plan).encode()}
    command = ["python", "-I", "-S", f"{grading_dir}/{DRIVER}", f"{grading_dir}/plan.json"]
    return command, files


def read_outcomes(report: bytes | None, stdout: str) -> list[RunOutcome] | None:
    """The driver's outcomes, or None when its nonce lines or the report's hash do not
    check out (it was killed, or something else wrote the report)."""
    lines = stdout.splitlines()
    if not lines or not lines[0].startswith(BEGIN + " ") or report is None:
        return None
    nonce = lines[0].split()[1]
    digest = hashlib.sha256(report).hexdigest()
    if f"{END} {nonce} {digest}" not in (line.strip() for line in lines[-3:]):
        return None
    try:
        return [_outcome(run) for run in json.loads(report)["runs"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _outcome(run: dict) -> RunOutcome:
    outcome = RunOutcome(label=str(run["label"]), tests={}, problems=list(run["problems"]),
                         complete=bool(run["complete"]), built=bool(run["built"]),
                         exit_code=run["exit_code"])
    collected: set[str] | None = None
    phases: dict[str, list[str]] = {}
    for event in run["events"]:
        kind = event.get("event")
        if kind == "collected":
            collected = {str(test) for test in event["ids"]}
        elif kind == "collection_error":
            outcome.problems.append(f"collection error in {event['where']}")
        elif kind == "tampered":
            outcome.problems.append(f"runner tampering: {event['what']}")
        elif kind == "report":
            test, when = str(event["id"]), event["when"]
            done = phases.setdefault(test, [])
            if collected is not None and test not in collected:
                outcome.problems.append(f"an outcome for {test}, which was never collected")
            elif when in done or when not in PHASES:
                outcome.problems.append(f"the {when} outcome of {test} came twice")
            else:
                done.append(when)
                outcome.tests[test] = merged_status(outcome.tests.get(test), when,
                                                    event["outcome"], bool(event.get("xfail")))
        elif kind == "end":
            outcome.exitstatus = int(event["exitstatus"])
        else:
            outcome.problems.append(f"an unknown outcome event {str(kind)[:40]!r}")
    return outcome


PHASES = ("setup", "call", "teardown")


def merged_status(status: str | None, when: str, outcome: str, xfail: bool) -> str | None:
    """A test's status after one more phase: a failing setup or teardown is an error, the
    call decides otherwise (xfail when expected to fail), skipped when nothing else ran."""
    if when == "call":
        return status if status in ("failed", "error") else ("xfail" if xfail else outcome)
    if outcome == "failed":
        return "error"
    if outcome == "skipped" and status is None:
        return "skipped"
    return status
