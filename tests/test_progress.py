"""Progress lines of long steps: said at the start, repeated while the step is silent, quiet
while it speaks, and nothing at all without a listener."""

from __future__ import annotations

import logging
import time

from agentforge.progress import hushed, long_step, say, shown_on_stderr


def test_a_silent_step_says_it_is_still_at_work_and_a_talking_one_does_not():
    lines: list[str] = []
    with long_step("building x", say_line=lines.append, every=0.4) as tell:
        time.sleep(1.1)  # silent: two or so reminders
        for n in range(6):  # talking every 0.2 s: no reminder
            tell(f"step {n}")
            time.sleep(0.2)
    reminders = [line for line in lines if "still at work" in line]
    assert lines[0] == "building x"
    assert reminders and all(line.startswith("building x: still at work (") for line in reminders)
    assert lines[-6:] == [f"step {n}" for n in range(6)]


def test_without_a_listener_nothing_is_said(caplog):
    with caplog.at_level(logging.WARNING, logger="agentforge.progress"), \
            long_step("quiet", every=0.1) as tell:
        tell("a line")
        time.sleep(0.3)
    assert caplog.records == []


def test_hushed_silences_the_lines_the_cli_would_print(capfd):
    """`evolve --quiet` promised no progress lines, yet finalize's and the seed's long steps
    still printed theirs."""
    with shown_on_stderr():
        say("heard")
        with hushed(), long_step("finalizing", every=0.1) as tell:
            tell("held-out: 1/4 done")
            say("not heard either")
            time.sleep(0.3)
        say("heard again")
    err = capfd.readouterr().err
    assert "heard" in err and "heard again" in err
    assert "finalizing" not in err and "held-out" not in err and "not heard" not in err
