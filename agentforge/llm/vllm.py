"""Launch a local `vllm serve` on 127.0.0.1, wait until the model is served, stop it cleanly.

The command comes from VllmConfig, so tests run the scripted server in vLLM's place and
exercise start, wait, unexpected death and stop exactly as with the real thing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field

from agentforge.llm.errors import VllmError
from agentforge.llm.spec import Endpoint

INSTALL_HINT = "pip install 'agentforge[vllm]' (on a machine with a CUDA GPU)"


class VllmConfig(BaseModel):
    """How `agentforge model serve-vllm` starts and watches the server."""

    model_config = ConfigDict(extra="forbid")

    command: list[str] = Field(default_factory=lambda: ["vllm", "serve"])
    """Program and leading arguments; MODEL and the flags below are appended."""
    host: str = "127.0.0.1"
    """Address to bind; loopback keeps the server private to this machine."""
    port: int = Field(8000, gt=0, lt=65536)
    """Port of the OpenAI-compatible API."""
    tensor_parallel_size: int | None = Field(None, ge=1)
    """GPUs to shard the model over (`--tensor-parallel-size`)."""
    max_model_len: int | None = Field(None, ge=256)
    """Context length cap (`--max-model-len`); lower it when the KV cache does not fit."""
    tool_call_parser: str | None = None
    """Tool-call parser (`hermes` for Qwen2.5, `llama3_json`, `mistral`, ...); enables tools."""
    extra_args: list[str] = Field(default_factory=list)
    """More flags passed through verbatim."""
    startup_timeout: float = Field(1800.0, gt=0)
    """Seconds to wait for the model to be served (large weights load slowly)."""
    poll_interval: float = Field(2.0, gt=0)
    """Seconds between readiness probes."""
    probe_timeout: float = Field(5.0, gt=0)
    """Timeout of one probe: the port opens long before the model answers."""
    stop_grace: float = Field(30.0, gt=0)
    """Seconds between SIGTERM and SIGKILL of the process group."""
    log_lines: int = Field(40, ge=1)
    """Lines of the server's log quoted when it dies."""


class VllmServer:
    """One `vllm serve` process group: `with VllmServer(model, config) as s: s.endpoint`."""

    def __init__(self, model: str, config: VllmConfig | None = None, *,
                 log_path: Path | None = None) -> None:
        self.model = model
        self.config = config or VllmConfig()
        self.log_path = log_path or Path(tempfile.mkdtemp(prefix="agentforge-vllm-")) / "vllm.log"
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        """http://HOST:PORT/v1."""
        return f"http://{self.config.host}:{self.config.port}/v1"

    @property
    def endpoint(self) -> Endpoint:
        """The served model as an Endpoint."""
        return Endpoint(base_url=self.base_url, model=self.model, provider="vllm")

    def command(self) -> list[str]:
        """The full command line."""
        cfg = self.config
        cmd = [*cfg.command, self.model, "--host", cfg.host, "--port", str(cfg.port)]
        if cfg.tensor_parallel_size:
            cmd += ["--tensor-parallel-size", str(cfg.tensor_parallel_size)]
        if cfg.max_model_len:
            cmd += ["--max-model-len", str(cfg.max_model_len)]
        if cfg.tool_call_parser:
            cmd += ["--enable-auto-tool-choice", "--tool-call-parser", cfg.tool_call_parser]
        return cmd + list(cfg.extra_args)

    def start(self) -> VllmServer:
        """Start the server in its own process group, logging to log_path."""
        require_vllm(self.config.command)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            try:
                self.process = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                raise VllmError(f"cannot run {self.config.command[0]!r}: {exc}; "
                                f"install vLLM with {INSTALL_HINT}") from exc
        return self

    def wait_ready(self) -> None:
        """Block until /health answers and the model is listed in /v1/models."""
        cfg = self.config
        deadline = time.monotonic() + cfg.startup_timeout
        root = self.base_url.removesuffix("/v1")
        with httpx.Client(timeout=cfg.probe_timeout) as probe:
            while True:
                self.check_alive()
                if _serves(probe, root, self.model):
                    return
                if time.monotonic() > deadline:
                    self.stop()
                    raise VllmError(
                        f"vLLM did not serve {self.model!r} on {self.base_url} within "
                        f"{cfg.startup_timeout:.0f}s; last log lines:\n{self.log_tail()}\n"
                        "Raise startup_timeout for large models, or check the log above.")
                time.sleep(cfg.poll_interval)

    def check_alive(self) -> None:
        """Raise VllmError with the last log lines if the server has exited."""
        if self.process is None:
            raise VllmError("the vLLM server was never started")
        code = self.process.poll()
        if code is not None:
            raise VllmError(
                f"the vLLM server for {self.model!r} exited with status {code}; "
                f"last lines of {self.log_path}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        """The last lines of the server's log."""
        try:
            with open(self.log_path, errors="replace") as log:
                return "".join(deque(log, maxlen=self.config.log_lines)).rstrip()
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM the whole process group, then SIGKILL after the grace period."""
        if self.process is None or self.process.poll() is not None:
            self._reap_group()
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=self.config.stop_grace)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=30)
        self._reap_group()

    def _reap_group(self) -> None:
        # Workers vLLM forked may outlive the main process; the group goes with it, and
        # stop() returns once it is gone (a GPU is free again), not when SIGKILL is sent.
        if self.process is not None:
            self._signal_group(signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.process.pid, 0)
                except (ProcessLookupError, PermissionError):
                    return
                time.sleep(0.05)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def __enter__(self) -> VllmServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def require_vllm(command: list[str]) -> None:
    """Raise VllmError naming the extra when the default `vllm` command is not installed."""
    if command[:1] != ["vllm"]:
        return  # a configured stand-in (or a full path): nothing to check
    if shutil.which("vllm") is None and importlib.util.find_spec("vllm") is None:
        raise VllmError(f"vLLM is not installed: {INSTALL_HINT}")


def _serves(probe: httpx.Client, root: str, model: str) -> bool:
    try:
        if probe.get(f"{root}/health").status_code != 200:
            return False
        listed = probe.get(f"{root}/v1/models").json().get("data") or []
    except (httpx.HTTPError, ValueError, AttributeError):
        return False  # not up yet, or answering garbage while loading
    return any(entry.get("id") == model for entry in listed if isinstance(entry, dict))
