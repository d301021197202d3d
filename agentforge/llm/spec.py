"""Model specs (`openai:gpt-4o-mini`, `vllm:Qwen/...`, `scripted:PATH`) resolved to endpoints."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from agentforge.errors import ConfigError
from agentforge.llm.config import LLMConfig, RoleModel

PROVIDERS = ("openai", "vllm", "scripted")
_scripted_servers: dict[Path, object] = {}
_scripted_lock = threading.Lock()


@dataclass(frozen=True)
class Endpoint:
    """Where a model is served: base URL (…/v1), model name, key (never printed)."""

    base_url: str
    model: str
    api_key: str = field(default="EMPTY", repr=False)
    provider: str = "endpoint"

    def describe(self) -> str:
        """`model at base_url`, for messages."""
        return f"{self.model!r} at {self.base_url}"


def split_spec(spec: str) -> tuple[str | None, str]:
    """`provider:name` -> (provider, name); a bare name (or a URL-less `a/b`) -> (None, name)."""
    provider, sep, name = spec.partition(":")
    if sep and provider in PROVIDERS:
        return provider, name
    return None, spec


def resolve_endpoint(
    spec: str,
    *,
    endpoint: str | None = None,
    api_key_env: str | None = None,
    config: LLMConfig | None = None,
) -> Endpoint:
    """Turn a spec (plus an optional explicit endpoint URL) into an Endpoint.

    `scripted:PATH` starts an in-process scripted server for PATH (once per process).
    """
    config = config or LLMConfig()
    provider, name = split_spec(spec)
    if not name:
        raise ConfigError(f"model spec {spec!r} names no model; e.g. openai:gpt-4o-mini")
    if provider == "scripted":
        return _scripted_endpoint(Path(name))
    if provider is None and endpoint is None:
        raise ConfigError(
            f"model spec {spec!r} has no provider: write one of "
            f"{', '.join(p + ':NAME' for p in PROVIDERS)}, or give --endpoint URL with the name"
        )
    if provider == "openai":
        base_url, key_env, fallback = config.openai_base_url, "OPENAI_API_KEY", None
    elif provider == "vllm":
        base_url, key_env, fallback = config.vllm_base_url, "VLLM_API_KEY", "EMPTY"
    else:
        base_url, key_env, fallback = endpoint, "OPENAI_API_KEY", "EMPTY"
    base_url = (endpoint or base_url).rstrip("/")
    key_env = api_key_env or key_env
    api_key = os.environ.get(key_env) or fallback
    if api_key is None:
        raise ConfigError(
            f"model {spec!r} needs an API key: set {key_env} in the environment "
            "(or name another variable with api_key_env)"
        )
    return Endpoint(base_url=base_url, model=name, api_key=api_key,
                    provider=provider or "endpoint")


def role_endpoint(role: str, config: LLMConfig) -> Endpoint:
    """The endpoint of a role (`diagnose` or `agent`) under a configuration."""
    chosen: RoleModel = config.role(role)
    return resolve_endpoint(chosen.spec, endpoint=chosen.endpoint,
                            api_key_env=chosen.api_key_env, config=config)


def _scripted_endpoint(path: Path) -> Endpoint:
    from agentforge.llm.scripted import ScriptedServer, ScriptError

    path = path.expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"scripted model script {path} does not exist; "
                          "write one (see agentforge/llm/README.md)")
    with _scripted_lock:
        server = _scripted_servers.get(path)
        if server is None:
            try:
                server = ScriptedServer(path).start()
            except ScriptError as exc:
                raise ConfigError(f"scripted model script {path}: {exc}") from exc
            _scripted_servers[path] = server
    return Endpoint(base_url=server.base_url, model=server.script.models[0], api_key="scripted",
                    provider="scripted")
