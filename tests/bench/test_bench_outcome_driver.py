"""The outcome driver (runner_files/outcome_driver.py) and how the grader reads it
(outcome_channel.py): outcomes come only from what each process sent while it ran."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from agentforge.bench.outcome_channel import (
    BEGIN,
    END,
    ChildRun,
    driver_plan,
    merged_status,
    read_outcomes,
)
from agentforge.bench.runners import (
    GRADING_DIR,
    REPORT_DIR,
    RUNNER_PATH,
    TEST_UID,
    TEST_USER,
    driver_report,
)


def _driver_output(runs: list[dict], nonce: str = "n0") -> tuple[bytes, str]:
    report = json.dumps({"runs": runs}).encode()
    stdout = f"{BEGIN} {nonce}\nsome test output\n\n{END} {nonce} " \
             f"{hashlib.sha256(report).hexdigest()}\n"
    return report, stdout


def _run(events: list[dict], complete: bool = True) -> dict:
    return {"label": "t.py", "events": events, "problems": [], "complete": complete,
            "exit_code": 0, "built": True}


def test_phases_merge_into_one_status_per_test():
    assert merged_status(None, "setup", "passed", False) is None
    assert merged_status(None, "call", "failed", False) == "failed"
    assert merged_status("failed", "teardown", "passed", False) == "failed"
    assert merged_status("passed", "teardown", "failed", False) == "error"
    assert merged_status(None, "call", "skipped", True) == "xfail"
    assert merged_status(None, "setup", "skipped", False) == "skipped"


def test_a_report_without_the_drivers_nonce_lines_is_not_read():
    report, stdout = _driver_output([_run([])])
    assert read_outcomes(report, stdout) is not None
    assert read_outcomes(report, stdout.replace(f"{BEGIN} n0\n", "")) is None
    assert read_outcomes(report + b" ", stdout) is None  # written by someone else
    forged = stdout + f"{END} other {hashlib.sha256(b'{}').hexdigest()}\n"
    assert read_outcomes(b"{}", forged) is None
    assert read_outcomes(None, stdout) is None


def test_events_become_outcomes_and_odd_ones_become_problems():
    events = [
        {"event": "collected", "ids": ["t.py::a", "t.py::b"]},
        {"event": "report", "id": "t.py::a", "when": "setup", "outcome": "passed"},
        {"event": "report", "id": "t.py::a", "when": "call", "outcome": "passed"},
        {"event": "report", "id": "t.py::a", "when": "call", "outcome": "passed"},
        {"event": "report", "id": "t.py::b", "when": "call", "outcome": "failed"},
        {"event": "report", "id": "t.py::ghost", "when": "call", "outcome": "passed"},
        {"event": "tampered", "what": "something"},
        {"event": "end", "exitstatus": 1},
    ]
    report, stdout = _driver_output([_run(events)])
    [outcome] = read_outcomes(report, stdout)
    assert outcome.tests == {"t.py::a": "passed", "t.py::b": "failed"}
    assert outcome.exitstatus == 1 and outcome.complete
    assert outcome.problems == ["the call outcome of t.py::a came twice",
                                "an outcome for t.py::ghost, which was never collected",
                                "runner tampering: something"]



def test_a_process_that_ends_before_its_runner_is_named_even_beside_other_problems():
    # One file had a stray outcome, the next ended at import: the reason must still say
    # which process ended early and how, not only the first file's problem.
    first = _run([{"event": "report", "id": "a.py::x", "when": "call", "outcome": "passed"},
                  {"event": "end", "exitstatus": 0}]) | {"label": "a.py"}
    first["problems"] = ["outcome events after the run's end"]
    second = _run([], complete=False) | {"label": "b.py", "exit_code": 0}
    report = driver_report(read_outcomes(*_driver_output([first, second])))
    assert not report.complete
    assert report.problems == [
        "outcome events after the run's end",
        "early exit: the test process of b.py ended (exit code 0) before its runner "
        "reported the end"]

CHILD = r'''
import json, os, subprocess, sys, time
fd = int(os.environ["AGENTFORGE_EVENTS_FD"])
send = lambda event: os.write(fd, (json.dumps(event) + "\n").encode())
if sys.argv[1] == "first":
    driver = os.getppid()
    for name in ("environ", "mem", "fd/1"):
        try:
            open(f"/proc/{driver}/{name}", "rb").read(1)
            send({"event": "tampered", "what": f"read the driver's {name}"})
        except OSError:
            pass
    send({"event": "collected", "ids": ["first::a"]})
    send({"event": "report", "id": "first::a", "when": "call", "outcome": "failed"})
    send({"event": "end", "exitstatus": 1})
    # A process left behind: after the end it sends a passing outcome and prints an end
    # line of its own, then stays.
    forged = {"event": "report", "id": "first::a", "when": "teardown", "outcome": "passed"}
    subprocess.Popen([sys.executable, "-c",
        "import os, sys, time\n"
        f"os.write({fd}, {json.dumps(forged)!r}.encode() + b'\\n')\n"
        "print('AGENTFORGE-OUTCOMES-END forged 00', flush=True)\n"
        "open('/tmp/stray.pid', 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"], pass_fds=(fd,), start_new_session=True)
    while not os.path.exists("/tmp/stray.pid"):
        time.sleep(0.01)
    time.sleep(0.1)
else:
    pid = open("/tmp/stray.pid").read()
    alive = os.path.exists(f"/proc/{pid}")
    send({"event": "collected", "ids": ["second::stray"]})
    send({"event": "report", "id": "second::stray", "when": "call",
          "outcome": "failed" if alive else "passed"})
    send({"event": "end", "exitstatus": 0})
'''


@pytest.mark.docker
def test_the_driver_keeps_outcomes_out_of_reach_of_the_tested_processes(agent_image):
    from agentforge.sandbox import Sandbox, SandboxConfig

    runs = [ChildRun(label=step, argv=["python", f"{GRADING_DIR}/child.py", step],
                     cwd="/tmp", env={"PATH": RUNNER_PATH}) for step in ("first", "second")]
    report_file = f"{REPORT_DIR}/outcomes.json"
    command, files = driver_plan(runs, GRADING_DIR, report_file, TEST_UID)
    config = SandboxConfig(image=agent_image, writable_paths=["/workspace", "/task"],
                           timeout=120)
    with Sandbox(config) as box:
        box.write_files(GRADING_DIR, {**files, "child.py": CHILD})
        box.exec(["sh", "-c", f"mkdir -p {REPORT_DIR} && chmod 0777 {REPORT_DIR}"], workdir="/")
        done = box.exec(command, env={"PATH": RUNNER_PATH}, user=TEST_USER, workdir="/tmp")
        raw = box.read_file(report_file)
    first, second = read_outcomes(raw, done.stdout)
    # Nothing of the driver could be read; the run's own events count, nothing after its end.
    assert first.tests == {"first::a": "failed"}, (first, done.output)
    assert first.problems == ["outcome events after the run's end"], first.problems
    assert first.complete and first.exitstatus == 1
    # The process left behind was killed before the next file ran.
    assert second.tests == {"second::stray": "passed"}, done.output
    assert "AGENTFORGE-OUTCOMES-END forged" in done.stdout  # printed, and not believed


def test_the_driver_refuses_to_run_as_another_user(tmp_path):
    # It kills every other process of its user: on a host that would be the developer's.
    command, files = driver_plan([], str(tmp_path), str(tmp_path / "out.json"), uid=1001 + 7)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    done = subprocess.run([sys.executable, "-I", "-S", str(tmp_path / "outcome_driver.py"),
                           str(tmp_path / "plan.json")], capture_output=True, text=True)
    assert done.returncode != 0 and "runs only as uid" in done.stderr
    assert not (tmp_path / "out.json").exists()
