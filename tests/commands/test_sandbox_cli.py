"""`agentforge sandbox run|reap`, `agentforge images build|list` and `agentforge doctor`,
run as real subprocesses the way a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentforge.sandbox.engine import docker_client


def agentforge(*args: str, env: dict[str, str] | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agentforge", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def containers_owned_by(pid: int) -> list:
    return docker_client().containers.list(
        all=True, filters={"label": f"agentforge.owner-pid={pid}"})


# -- sandbox run -----------------------------------------------------------------------------


def test_run_prints_output_and_exits_with_the_commands_status(agent_image: str):
    done = agentforge("sandbox", "run", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 7")
    assert done.returncode == 7
    assert "to-out" in done.stdout and "to-err" in done.stdout
    assert "[sandbox] exit code 7" in done.stderr


def test_run_exits_124_on_timeout(agent_image: str):
    started = time.monotonic()
    done = agentforge("sandbox", "run", "--timeout", "2", "--", "sleep", "60")
    assert done.returncode == 124
    assert "timed out after" in done.stderr
    assert time.monotonic() - started < 60


def test_run_reports_out_of_memory(agent_image: str):
    done = agentforge("sandbox", "run", "--memory", "128m", "--",
                      "python3", "-c", "x = b'x' * (1 << 30)")
    assert done.returncode == 137
    assert "out of memory" in done.stderr


def test_run_copies_a_directory_in_and_is_isolated(agent_image: str, tmp_path: Path):
    (tmp_path / "hello.txt").write_text("from the host\n")
    done = agentforge("sandbox", "run", "--copy", str(tmp_path), "--",
                      "sh", "-c", "cat hello.txt; id -u; ls /sys/class/net")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["from", "the", "host", "1000", "lo"]


def test_run_leaves_no_container_behind(agent_image: str):
    proc = subprocess.Popen([sys.executable, "-m", "agentforge", "sandbox", "run", "--",
                             "sh", "-c", "sleep 3; echo done"], stdout=subprocess.PIPE, text=True)
    seen = []
    for _ in range(100):
        seen = containers_owned_by(proc.pid)
        if seen or proc.poll() is not None:
            break
        time.sleep(0.1)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out == "done\n"
    assert len(seen) == 1, "the sandbox of the run was never seen"
    assert containers_owned_by(proc.pid) == []


def test_run_with_a_missing_image_says_what_to_do(docker_engine):
    done = agentforge("sandbox", "run", "--image", "agentforge/no-such-image:0", "--", "true")
    assert done.returncode == 2
    assert "could not start a sandbox" in done.stderr
    assert "Traceback" not in done.stderr


# -- sandbox reap (the crash case is in tests/sandbox/test_lifecycle.py) ---------------------


def test_reap_dry_run_on_a_run_without_leftovers(docker_engine):
    done = agentforge("sandbox", "reap", "--run", "no-such-run", "--dry-run")
    assert done.returncode == 0
    assert done.stdout.strip() == "would remove 0 container(s)"


# -- images ----------------------------------------------------------------------------------


def test_images_list_shows_the_built_agent_runtime(agent_image: str):
    done = agentforge("images", "list")
    assert done.returncode == 0, done.stderr
    line = next(row for row in done.stdout.splitlines() if row.startswith("agent-runtime "))
    assert line.split()[1] == agent_image


def test_images_build_reuses_an_up_to_date_image(agent_image: str):
    done = agentforge("images", "build", "agent-runtime")
    assert done.returncode == 0, done.stderr
    assert f"agent-runtime: up to date ({agent_image})" in done.stdout


def test_images_build_of_an_unknown_image_lists_the_known_ones(docker_engine):
    done = agentforge("images", "build", "no-such-image")
    assert done.returncode == 2
    assert "unknown sandbox image 'no-such-image'" in done.stderr
    assert "agent-runtime" in done.stderr


# -- doctor ----------------------------------------------------------------------------------


def test_doctor_exit_status_matches_its_checks(agent_image: str):
    done = agentforge("doctor")
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok   docker engine: Docker ") for line in lines)
    assert f"ok   image agent-runtime: {agent_image}" in lines
    assert any(line.startswith(("ok   disk space", "FAIL disk space")) for line in lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert done.returncode == (1 if failed else 0), done.stdout
    assert lines[-1] == ("all checks passed" if not failed else f"{len(failed)} check(s) failed")


def test_doctor_without_an_engine_fails_and_says_how_to_start_it(tmp_path: Path):
    done = agentforge("doctor", env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert done.returncode == 1
    assert "FAIL docker engine" in done.stdout
    assert "Start it" in done.stdout


@pytest.mark.parametrize("command", [["sandbox", "run"], ["sandbox", "reap"], ["images", "build"],
                                     ["images", "list"], ["doctor"]])
def test_every_command_has_help(command: list[str]):
    done = agentforge(*command, "--help")
    assert done.returncode == 0 and "Usage:" in done.stdout
