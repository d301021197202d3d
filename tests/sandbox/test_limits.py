"""Resource attacks that must be contained: fork bombs, memory, time, output floods."""

from __future__ import annotations

import re
import threading
import time

import pytest

from agentforge.sandbox import TIMEOUT_EXIT_CODE, Sandbox, SandboxConfig

pytestmark = pytest.mark.slow


class Ticker:
    """A host thread that ticks every 50 ms; long gaps would mean the host stalled."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ticks.append(time.monotonic())
            time.sleep(0.05)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def longest_gap(self) -> float:
        return max((b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False)), default=0)


def rss_bytes() -> int:
    """Resident memory of this test process right now."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def processes(box: Sandbox) -> str:
    return box.exec(["ps", "-eo", "pid,ppid,stat,args"], timeout=60).output


# -- fork bomb -------------------------------------------------------------------------------

# Every process keeps trying to fork forever, so the bomb holds every PID slot it gets
# (the hard case for cleaning up: nothing new can start in the sandbox).
FORK_BOMB = """
import os, sys, time
said = False
while True:
    try:
        os.fork()
    except OSError:
        if not said:
            said = True
            sys.stdout.write("pid limit reached\\n")
            sys.stdout.flush()
        time.sleep(0.01)
"""


def test_fork_bomb_hits_the_pid_limit_and_the_host_stays_responsive(agent_image: str):
    second: dict[str, object] = {}

    def use_another_sandbox() -> None:
        time.sleep(4)  # while the bomb is at its limit
        try:
            with Sandbox(SandboxConfig(image=agent_image)) as other:
                second["output"] = other.exec(["echo", "still serving"], timeout=120).output
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            second["output"] = f"second sandbox failed: {exc!r}"

    config = SandboxConfig(image=agent_image, pids_limit=128)
    with Ticker() as ticker, Sandbox(config) as box:
        box.start_background(["sleep", "4242"])  # a helper daemon the sandbox relies on
        helper = threading.Thread(target=use_another_sandbox)
        helper.start()
        started = time.monotonic()
        bomb = box.exec(["python3", "-c", FORK_BOMB], timeout=12)
        returned_after = time.monotonic() - started
        helper.join(180)

        assert bomb.timed_out and bomb.exit_code == TIMEOUT_EXIT_CODE
        assert "pid limit reached" in bomb.output
        assert returned_after < 12 + 30
        assert second.get("output") == "still serving\n", second
        assert ticker.longest_gap < 5.0, f"host thread stalled for {ticker.longest_gap:.1f}s"
        # The bomb is gone, the sandbox works again, and the helper daemon is (back) up.
        after = processes(box)
        assert "python3 -c" not in after, after
        assert "sleep 4242" in after, after
        assert box.exec(["echo", "usable"], timeout=60).output == "usable\n"


def test_pid_limit_is_enforced_exactly(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image, pids_limit=40)) as box:
        count = box.exec(
            ["python3", "-c", "import subprocess\nprocs = []\ntry:\n    while len(procs) < 200:"
             "\n        procs.append(subprocess.Popen(['sleep', '60']))\nexcept OSError:\n    pass"
             "\nprint(len(procs))\nfor p in procs:\n    p.kill()"],
            timeout=120,
        )
    started = int(count.stdout.strip())
    assert 10 < started < 40, count.output


# -- memory ---------------------------------------------------------------------------------


def test_allocating_far_past_the_memory_limit_is_killed_and_reported(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image, memory="256m")) as box:
        hog = box.exec(["python3", "-c", "x = b'x' * (1 << 30); print('allocated', len(x))"],
                       timeout=180)
        assert "allocated" not in hog.output
        assert hog.exit_code == 137 and not hog.timed_out
        assert hog.oom_killed is True
        assert "out of memory" in hog.describe()
        # A plain SIGKILL is not mistaken for the OOM killer, and the sandbox lives on.
        killed = box.exec("kill -9 $$", timeout=60)
        assert killed.exit_code == 137 and killed.oom_killed is False
        assert "out of memory" not in killed.describe()
        assert box.exec(["echo", "alive"], timeout=60).output == "alive\n"


def test_memory_limit_is_the_configured_one(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image, memory="300m")) as box:
        limit = box.exec("cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes"
                         " 2>/dev/null").output.split()
    assert int(limit[0]) == 300 * 1024 * 1024


# -- time -----------------------------------------------------------------------------------

# A shell that ignores SIGTERM, a child that ignores SIGTERM, a grandchild that detached
# from the output stream, one in its own session, and a python that ignores SIGTERM.
STUBBORN_TREE = """
trap '' TERM
(trap '' TERM; exec sleep 1001) &
sh -c 'sleep 1002 >/dev/null 2>&1 &'
setsid sleep 1003 >/dev/null 2>&1 &
echo started
exec python3 -c 'import signal as s, time; s.signal(s.SIGTERM, s.SIG_IGN); time.sleep(1004)'
"""


def test_timeout_kills_the_whole_tree_within_five_seconds(agent_image: str):
    timeout = 5.0
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        started = time.monotonic()
        stuck = box.exec(STUBBORN_TREE, timeout=timeout)
        elapsed = time.monotonic() - started
        assert stuck.timed_out and stuck.exit_code == TIMEOUT_EXIT_CODE == 124
        assert stuck.describe().startswith("timed out after")
        assert "started" in stuck.output  # output before the deadline is kept
        assert timeout <= stuck.duration < timeout + 5
        assert elapsed < timeout + 5
        left = processes(box)
        for leftover in ("sleep 1001", "sleep 1002", "sleep 1003", "time.sleep(1004)"):
            assert leftover not in left, f"{leftover!r} survived:\n{left}"


def test_timeout_kills_only_its_own_tree(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        box.start_background(["sleep", "4343"])
        daemon_before = box.exec(["pgrep", "-f", "sleep 4343"]).output.split()
        neighbour: dict[str, object] = {}
        thread = threading.Thread(target=lambda: neighbour.update(
            result=box.exec("sleep 8; echo neighbour finished", timeout=120)))
        thread.start()
        stuck = box.exec(["sleep", "1006"], timeout=3)
        thread.join(180)
        assert stuck.timed_out
        assert neighbour["result"].ok and neighbour["result"].output == "neighbour finished\n"
        # Same pid: the daemon was neither killed nor restarted with the container.
        assert len(daemon_before) == 1
        assert box.exec(["pgrep", "-f", "sleep 4343"]).output.split() == daemon_before


def test_timeout_holds_for_a_command_that_closed_its_output(agent_image: str):
    # The output stream ends at once; the deadline must still hold until the process exits.
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        quiet = box.exec("exec >/dev/null 2>&1; exec sleep 1005", timeout=4)
        assert quiet.timed_out and quiet.exit_code == TIMEOUT_EXIT_CODE
        assert 4 <= quiet.duration < 4 + 5
        assert "sleep 1005" not in processes(box)


def test_fast_commands_are_not_timeouts_and_keep_their_exit_code(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        done = box.exec("echo out; echo err >&2; exit 3", timeout=60)
    assert done.exit_code == 3 and not done.timed_out and not done.ok
    assert done.stdout == "out\n"
    assert sorted(done.output.split()) == ["err", "out"]


# -- output floods ---------------------------------------------------------------------------


def test_output_flood_keeps_host_memory_bounded(agent_image: str):
    limit = 1_000_000
    peak = [rss_bytes()]
    baseline = peak[0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.append(rss_bytes())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    with Sandbox(SandboxConfig(image=agent_image, output_limit=limit)) as box:
        sampler.start()
        try:
            flood = box.exec(["yes", "agentforge flood"], timeout=15)
        finally:
            stop.set()
            sampler.join(5)
    assert flood.timed_out
    assert flood.output_bytes > 20 * limit, f"only {flood.output_bytes} bytes flowed"
    assert flood.output_truncated
    growth = max(peak) - baseline
    assert growth < 64 * 1024 * 1024, f"host RSS grew by {growth / 1e6:.0f} MB"
    omitted = int(re.search(r"\[\.\.\. (\d+) bytes of output omitted \.\.\.\]", flood.output)[1])
    assert omitted == flood.output_bytes - limit
    assert flood.output.startswith("agentforge flood\n")


HEAD_AND_TAIL = """
import sys
out = sys.stdout.buffer
out.write(b"FIRST LINE\\n")
for i in range(200_000):
    out.write(b"filler %08d\\n" % i)
out.write(b"LAST LINE\\n")
"""


def test_truncated_output_keeps_head_and_tail_and_reports_the_gap(agent_image: str):
    config = SandboxConfig(image=agent_image, output_limit=64 * 1024)
    with Sandbox(config) as box:
        done = box.exec(["python3", "-c", HEAD_AND_TAIL], timeout=120)
    total = len(b"FIRST LINE\n") + 200_000 * len(b"filler 00000000\n") + len(b"LAST LINE\n")
    assert done.ok and done.output_bytes == total and done.output_truncated
    assert done.output.startswith("FIRST LINE\nfiller 00000000\n")
    assert done.output.endswith("filler 00199999\nLAST LINE\n")
    assert f"[... {total - 64 * 1024} bytes of output omitted ...]" in done.output
    assert done.stdout == done.output


def test_pkill_in_a_command_does_not_end_the_command_itself(agent_image: str):
    # The warden is a Python: killing "python" or matching the command line with pkill -f
    # must not take down the command that asked (nor the warden).
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        box.write_files("/workspace", {"kill.sh": "sleep 300 & sleep 0.2; pkill -f 'sleep 300'\n"
                                            "pkill python; pkill -f python; sleep 0.2\n"
                                            "echo alive\n"})
        done = box.exec(["sh", "/workspace/kill.sh"], timeout=60)
        assert done.ok and done.output == "alive\n", done
        assert "sleep 300" not in processes(box)


def test_a_detached_helper_outlives_a_command_that_ended_normally(agent_image: str):
    # A server started in the background with its output redirected is the agent's to keep;
    # only a timeout ends what a command started.
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        started = time.monotonic()
        done = box.exec("setsid sleep 4444 >/dev/null 2>&1 & echo started", timeout=60)
        assert done.ok and done.output == "started\n"
        assert time.monotonic() - started < 30
        assert "sleep 4444" in processes(box)
