"""Configuration of the model layer: one model per role, endpoints, retries, prices, budgets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ROLES = ("diagnose", "agent")
"""`diagnose` proposes self-modifications; `agent` drives the agent on tasks and on itself."""


class RetryPolicy(BaseModel):
    """Bounded retries with exponential backoff on 429, 5xx, timeouts and connection errors."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(4, ge=1, le=20)
    """Total tries of one request (1 = no retry)."""
    initial_backoff: float = Field(1.0, ge=0)
    """Seconds before the first retry; doubled each time."""
    max_backoff: float = Field(30.0, ge=0)
    """Upper bound of one wait, also for a server's Retry-After."""
    timeout: float = Field(300.0, gt=0)
    """Seconds one request may take before it counts as timed out."""


class Price(BaseModel):
    """Dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(0.0, ge=0)
    """$ per 1M prompt tokens."""
    output: float = Field(0.0, ge=0)
    """$ per 1M completion tokens."""


class RoleModel(BaseModel):
    """The model one role uses."""

    model_config = ConfigDict(extra="forbid")

    spec: str = "openai:gpt-4o-mini"
    """Model spec: `openai:NAME`, `vllm:NAME`, `scripted:PATH`, or a bare NAME with `endpoint`."""
    endpoint: str | None = None
    """Base URL (…/v1) overriding the one the spec's provider implies."""
    api_key_env: str | None = None
    """Environment variable holding the API key; default depends on the provider."""
    temperature: float | None = None
    """Sampling temperature passed with every request (None: the server's default)."""
    max_tokens: int | None = None
    """Completion token cap passed with every request (None: the server's default)."""


class LLMConfig(BaseModel):
    """Everything the model layer reads from the run configuration (`[llm]` in TOML)."""

    model_config = ConfigDict(extra="forbid")

    diagnose: RoleModel = Field(default_factory=RoleModel)
    """Model that reads failed trajectories and proposes one change."""
    agent: RoleModel = Field(default_factory=RoleModel)
    """Model that the agents call (through the gateway) on tasks and on themselves."""
    openai_base_url: str = "https://api.openai.com/v1"
    """Base URL of the `openai:` provider."""
    vllm_base_url: str = "http://127.0.0.1:8000/v1"
    """Base URL of the `vllm:` provider (where `agentforge model serve-vllm` listens)."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    """How model requests are retried before an error is raised."""
    prices: dict[str, Price] = Field(default_factory=dict)
    """Model name -> price, overriding and extending the built-in table (ledger.PRICES)."""

    def role(self, name: str) -> RoleModel:
        """The RoleModel of `diagnose` or `agent`."""
        if name not in ROLES:
            from agentforge.errors import ConfigError

            raise ConfigError(f"unknown model role {name!r}; roles are {', '.join(ROLES)}")
        return getattr(self, name)
