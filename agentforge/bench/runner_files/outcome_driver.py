"""The grader's driver inside the grading sandbox: the per-test outcomes live here, outside
every process under test.

It runs as the test user but makes itself non-dumpable first, so processes of the same
user cannot read its memory, open its files through /proc or trace it (they can only kill
it, which leaves no report: an early exit). It prints `BEGIN <nonce>` before it starts any
test process, then runs each planned command in a fresh process with a pipe for outcome
events (fd in AGENTFORGE_EVENTS_FD; the test's output is passed through), keeps the events
that process sends while it runs, up to its end event and no further, kills every other
process of the test user before the next command, writes the events to the
report file and prints `END <nonce> <sha256 of the report>`. The grader trusts a report
only with that line; the nonce never leaves this process before the end.

Standard library only; `python -I -S outcome_driver.py PLAN.json`.
"""

import contextlib
import ctypes
import hashlib
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys

BEGIN, END = "AGENTFORGE-OUTCOMES-BEGIN", "AGENTFORGE-OUTCOMES-END"
MAX_EVENT_BYTES = 32 * 1024 * 1024
PR_SET_DUMPABLE = 4


def undumpable():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise SystemExit(f"outcome driver: prctl failed (errno {ctypes.get_errno()})")


def ancestors():
    pid, seen = os.getpid(), set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return seen


def kill_strays(keep):
    """SIGKILL every other process of this user (stopped first, so none forks away)."""
    uid = os.getuid()
    for _ in range(50):
        strays = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in keep:
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        strays.append(int(entry))
                except OSError:
                    continue
        if not strays:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in strays:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)


class Run:
    """The outcome events one test process sent through its pipe while it ran (the grader
    reads them; this process only keeps them, in order, and stops at the run's end)."""

    def __init__(self, label):
        self.label, self.events, self.problems = label, [], []
        self.ended, self.buffer, self.received = False, b"", 0

    def feed(self, data):
        self.received += len(data)
        if self.received > MAX_EVENT_BYTES:
            self.problem("more outcome events than any test run sends")
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                self.problem("a malformed outcome event")
            elif self.ended:
                self.problem("outcome events after the run's end")
            else:
                self.events.append(event)
                self.ended = event.get("event") == "end"

    def problem(self, text):
        if text not in self.problems:
            self.problems.append(text)

    def result(self, exit_code, built=True):
        return {"label": self.label, "events": self.events, "problems": self.problems,
                "complete": self.ended, "exit_code": exit_code, "built": built}


def run_one(spec, keep):
    """Run one planned command; its outcomes as the events pipe told them while it ran."""
    run = Run(spec["label"])
    needed = spec.get("requires")
    if needed and not os.path.exists(needed):
        log = spec.get("requires_log")
        if log and os.path.exists(log):
            with open(log, "rb") as text:
                sys.stdout.buffer.write(text.read()[-20000:])
        return run.result(None, built=False)
    read_end, write_end = os.pipe()
    env = dict(os.environ, **spec["env"], AGENTFORGE_EVENTS_FD=str(write_end))
    child = subprocess.Popen(spec["argv"], cwd=spec["cwd"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             pass_fds=(write_end,), start_new_session=True)
    os.close(write_end)
    streams = {read_end: run.feed, child.stdout.fileno(): _pass_through}
    for fd in streams:
        os.set_blocking(fd, False)
    selector = selectors.DefaultSelector()
    for fd in streams:
        selector.register(fd, selectors.EVENT_READ)
    while selector.get_map() and child.poll() is None:
        for key, _ in selector.select(timeout=0.5):
            _read(key.fd, streams, selector)
    child.wait()
    kill_strays(keep)  # nothing writes to the pipes from now on
    while selector.get_map():  # what the process wrote before it ended
        for key, _ in selector.select(timeout=0):
            _read(key.fd, streams, selector)
        if not selector.select(timeout=0):
            break
    for fd in list(selector.get_map()):
        selector.unregister(fd)
    os.close(read_end)
    child.stdout.close()
    return run.result(child.returncode)


def _read(fd, streams, selector):
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return
    except OSError:
        data = b""
    if data:
        streams[fd](data)
    else:
        selector.unregister(fd)


def _pass_through(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def main():
    with open(sys.argv[1]) as plan_file:
        plan = json.load(plan_file)
    if os.getuid() != plan["uid"]:  # it kills every other process of its user
        raise SystemExit(f"outcome driver: runs only as uid {plan['uid']}, not {os.getuid()}")
    undumpable()
    nonce = secrets.token_hex(16)
    print(f"{BEGIN} {nonce}", flush=True)
    keep = ancestors()
    runs = [run_one(spec, keep) for spec in plan["runs"]]
    report = json.dumps({"runs": runs}).encode()
    # A process of the test user may have left a link or a pipe at that name.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(plan["report"])
    out = os.open(plan["report"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(out, "wb") as stream:
        stream.write(report)
    print(f"\n{END} {nonce} {hashlib.sha256(report).hexdigest()}", flush=True)


if __name__ == "__main__":
    main()
