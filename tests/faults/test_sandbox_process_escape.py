"""A timed-out command whose children leave its session and clear their environment."""

from __future__ import annotations

import threading
import time

import pytest

from agentforge.errors import SandboxError
from agentforge.sandbox import TIMEOUT_EXIT_CODE, Sandbox, SandboxConfig

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ESCAPE = "setsid env -i sh -c 'sleep 1001' & sleep 60"


def test_an_escaping_tree_dies_on_time_and_spares_its_neighbours_and_files(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        box.exec("echo home > /tmp/kept; echo work > /workspace/kept", timeout=60)
        neighbour: dict[str, object] = {}

        def run_neighbour() -> None:
            try:
                neighbour["result"] = box.exec("sleep 25; echo neighbour finished", timeout=120)
            except BaseException as exc:  # noqa: BLE001 - asserted below, whatever it is
                neighbour["error"] = exc

        thread = threading.Thread(target=run_neighbour)
        thread.start()
        time.sleep(1)  # the neighbour is running
        started = time.monotonic()
        escaped = box.exec(ESCAPE, timeout=3)
        returned_after = time.monotonic() - started

        assert escaped.timed_out and escaped.exit_code == TIMEOUT_EXIT_CODE
        # About a second of slack on an idle machine; far more allowed for a loaded one, but
        # well under the 7.2 s the container restart took.
        assert returned_after < 3 + 3.0, f"returned after {returned_after:.1f}s"
        left = box.exec(["ps", "-eo", "args"], timeout=60).output
        assert "sleep 1001" not in left and "sleep 60" not in left, left

        thread.join(120)
        assert "error" not in neighbour, f"the neighbour got {neighbour.get('error')!r}"
        result = neighbour["result"]
        assert result.ok and result.output == "neighbour finished\n", result
        assert box.exec("cat /tmp/kept /workspace/kept", timeout=60).output == "home\nwork\n"


def test_a_fork_bomb_that_escapes_its_session_is_ended_without_a_restart(agent_image: str):
    # Every process leaves its session and clears its environment, then forks forever.
    bomb = "b() { setsid env -i sh -c 'while :; do sleep 1 & done' & }; b; b; b; sleep 60"
    with Sandbox(SandboxConfig(image=agent_image, pids_limit=64)) as box:
        box.exec("echo home > /tmp/kept", timeout=60)
        ended = box.exec(bomb, timeout=4)
        assert ended.timed_out
        left = box.exec(["ps", "-eo", "args"], timeout=60).output.splitlines()
        assert not [args for args in left if args in ("sleep 1", "sleep 60")
                    or "while :" in args], left
        # No restart: the tmpfs home kept its file.
        assert box.exec("cat /tmp/kept", timeout=60).output == "home\n"


def left_running(box: Sandbox, *tags: str) -> list[str]:
    rows = box.exec(["ps", "-eo", "args"], timeout=60).output.splitlines()
    return [row for row in rows if any(tag in row for tag in tags)]


@pytest.mark.parametrize("user", ["1000:1000", "0:0"], ids=["sandbox-user", "root"])
@pytest.mark.parametrize("attack", ["kill -9 $PPID", "kill -STOP $PPID", "kill -9 1",
                                    "pkill -9 -f agentforge; pkill -9 -f python"])
def test_a_command_cannot_remove_its_own_deadline(agent_image: str, attack: str, user: str):
    # What enforces the deadline is out of the command's reach: killing or stopping its
    # parent (the old per-command supervisor ran as the command's own uid) changes nothing.
    with Sandbox(SandboxConfig(image=agent_image, user=user)) as box:
        started = time.monotonic()
        done = box.exec(f"setsid env -i sh -c 'sleep 1011' & {attack}; sleep 1012", timeout=4)
        returned_after = time.monotonic() - started
        assert done.timed_out and done.exit_code == TIMEOUT_EXIT_CODE, done
        assert returned_after >= 3.5, f"returned after {returned_after:.1f}s, before its deadline"
        assert returned_after < 4 + 6.0, f"returned after {returned_after:.1f}s"
        assert not left_running(box, "sleep 1011", "sleep 1012")
        assert box.exec(["echo", "usable"], timeout=60).output == "usable\n"


def test_what_a_command_detached_dies_at_its_deadline_even_after_it_returned(agent_image: str):
    # A helper that let go of the output may outlive the command's return, not its deadline.
    with Sandbox(SandboxConfig(image=agent_image)) as box:
        done = box.exec("setsid env -i sh -c 'sleep 1013' >/dev/null 2>&1 </dev/null & "
                        "echo started", timeout=3)
        assert done.ok and done.output == "started\n"
        assert left_running(box, "sleep 1013"), "the helper did not even start"
        time.sleep(3 + 2.0)
        assert not left_running(box, "sleep 1013")


def test_engine_errors_become_sandbox_errors(agent_image: str):
    from agentforge.sandbox.engine import docker_client

    with Sandbox(SandboxConfig(image=agent_image)) as box:
        docker_client().api.stop(box.container_id, timeout=0)
        with pytest.raises(SandboxError, match="is it running"):
            box.exec(["true"], timeout=30)
        with pytest.raises(SandboxError):
            box.start_background(["sleep", "5"])


def test_without_the_warden_a_restart_gives_neighbours_results_or_sandbox_errors(
        agent_image: str, caplog):
    # The last resort (no Python in the image, or the warden switched off): a fork bomb
    # at the PID limit leaves the killer no room, so the container restarts. A command running
    # next to it must end with a result or a SandboxError, never a raw Docker error.
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        0\n"
    config = SandboxConfig(image=agent_image, pids_limit=64, warden=False)
    with Sandbox(config) as box:
        neighbour: dict[str, object] = {}

        def run_neighbour() -> None:
            try:
                neighbour["result"] = box.exec("sleep 20; echo finished", timeout=120)
            except SandboxError as exc:
                neighbour["error"] = exc
            except BaseException as exc:  # noqa: BLE001 - the assertion names it
                neighbour["raw"] = exc

        thread = threading.Thread(target=run_neighbour)
        thread.start()
        time.sleep(1)
        ended = box.exec(["python3", "-c", bomb], timeout=4)
        thread.join(120)
        assert ended.timed_out
        assert "restarting it" in caplog.text  # this test is about the last resort
        assert "raw" not in neighbour, f"a raw error left the sandbox: {neighbour['raw']!r}"
        assert box.exec(["echo", "usable"], timeout=60).output == "usable\n"
