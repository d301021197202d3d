"""The vLLM launcher, with the scripted server standing in for `vllm serve` (same flags)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

from agentforge.llm import scripted
from agentforge.llm.errors import VllmError
from agentforge.llm.vllm import VllmConfig, VllmServer, require_vllm

MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct"
SCRIPTED = Path(scripted.__file__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def script(tmp_path) -> Path:
    path = tmp_path / "script.toml"
    path.write_text('[[rules]]\nlast_message_contains = "ping"\nrespond = { content = "pong" }\n')
    return path


def stand_in(script: Path, *, ready_after: float = 0.0, wrapper: bool = False,
             **fields) -> VllmConfig:
    """A VllmConfig whose command is the scripted server; MODEL and vLLM flags get appended."""
    command = [sys.executable, str(SCRIPTED), "--script", str(script),
               "--ready-after", str(ready_after)]
    if wrapper:  # a parent shell with the server as its child, like vLLM's worker processes
        command = ["sh", "-c", " ".join(command) + ' "$@" & wait', "sh"]
    return VllmConfig(command=command, port=free_port(), poll_interval=0.1, probe_timeout=2,
                      stop_grace=10, **fields)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def group_alive(pgid: int) -> bool:
    """True while a process of the group is running (zombies awaiting their reaper don't count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def test_command_line_carries_the_flags():
    server = VllmServer(MODEL, VllmConfig(port=8123, tensor_parallel_size=2, max_model_len=32768,
                                          tool_call_parser="hermes"))
    assert server.command() == [
        "vllm", "serve", MODEL, "--host", "127.0.0.1", "--port", "8123",
        "--tensor-parallel-size", "2", "--max-model-len", "32768",
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes"]


@pytest.mark.slow
def test_start_waits_for_the_model_then_serves_and_stops_the_group(script):
    config = stand_in(script, ready_after=1.5, wrapper=True, tensor_parallel_size=2,
                      tool_call_parser="hermes")
    started = time.monotonic()
    with VllmServer(MODEL, config) as server:
        # /health says 503 and /v1/models is empty for 1.5 s: we must not return before.
        assert time.monotonic() - started >= 1.5
        reply = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0).chat \
            .completions.create(model=MODEL, messages=[{"role": "user", "content": "ping"}])
        assert reply.choices[0].message.content == "pong"
        pgid = server.process.pid
        assert "ignoring arguments" in server.log_tail()  # the vLLM flags reached it
    assert server.process.poll() is not None
    assert not group_alive(pgid) and not port_open(config.port)


@pytest.mark.slow
def test_death_during_startup_reports_the_log(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("rules = [")
    config = stand_in(bad)
    with pytest.raises(VllmError) as caught, VllmServer(MODEL, config):
        pass
    message = str(caught.value)
    assert "exited with status 2" in message and "cannot parse script" in message


@pytest.mark.slow
def test_unexpected_death_after_start_is_reported(script):
    with VllmServer(MODEL, stand_in(script)) as server:
        server.check_alive()
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        with pytest.raises(VllmError, match="exited with status -9"):
            server.check_alive()


@pytest.mark.slow
def test_never_ready_times_out_and_stops_the_server(script):
    config = stand_in(script, ready_after=600, startup_timeout=1.5)  # "loading" for 10 minutes
    server = VllmServer(MODEL, config)
    with pytest.raises(VllmError, match="did not serve"), server:
        pass
    assert server.process.poll() is not None and not port_open(config.port)


def test_missing_vllm_names_the_extra():
    if subprocess.run(["which", "vllm"], capture_output=True).returncode == 0:
        pytest.skip("vllm is installed here")
    with pytest.raises(VllmError, match=r"pip install 'agentforge\[vllm\]'"):
        require_vllm(["vllm", "serve"])
    result = subprocess.run([sys.executable, "-m", "agentforge", "model", "serve-vllm", MODEL,
                             "--port", str(free_port())], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "agentforge[vllm]" in result.stderr


@pytest.mark.slow
def test_cli_serve_vllm_stops_cleanly_on_sigint(script):
    port = free_port()
    command = f"{sys.executable} {SCRIPTED} --script {script}"
    process = subprocess.Popen(
        [sys.executable, "-m", "agentforge", "model", "serve-vllm", MODEL, "--port", str(port),
         "--command", command], stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "serving" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
        assert "serving" in line and port_open(port)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        assert not port_open(port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
