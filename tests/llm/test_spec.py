"""Model specs resolve to endpoints; bad specs say what would be accepted."""

from __future__ import annotations

import openai
import pytest

from agentforge.errors import ConfigError
from agentforge.llm.config import LLMConfig, RoleModel
from agentforge.llm.spec import resolve_endpoint, role_endpoint, split_spec


def test_split_spec_keeps_slashes_and_colons_in_names():
    assert split_spec("vllm:Qwen/Qwen2.5-Coder-32B-Instruct") == (
        "vllm", "Qwen/Qwen2.5-Coder-32B-Instruct")
    assert split_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_spec("llama3:8b") == (None, "llama3:8b")


def test_vllm_uses_the_configured_base_url_and_needs_no_key():
    endpoint = resolve_endpoint("vllm:Qwen/Qwen2.5-Coder-32B-Instruct",
                                config=LLMConfig(vllm_base_url="http://127.0.0.1:9001/v1/"))
    assert endpoint.base_url == "http://127.0.0.1:9001/v1"
    assert endpoint.model == "Qwen/Qwen2.5-Coder-32B-Instruct"
    assert endpoint.api_key == "EMPTY"


def test_default_vllm_base_url():
    assert resolve_endpoint("vllm:m").base_url == "http://127.0.0.1:8000/v1"


def test_openai_needs_its_key_variable(monkeypatch):
    # The environment is the host's input here, not our code: clearing it is the scenario.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resolve_endpoint("openai:gpt-4o-mini")
    monkeypatch.setenv("MY_KEY", "sk-test")
    endpoint = resolve_endpoint("openai:gpt-4o-mini", api_key_env="MY_KEY")
    assert endpoint.api_key == "sk-test" and "sk-test" not in repr(endpoint)


def test_explicit_endpoint_with_bare_name():
    endpoint = resolve_endpoint("my-model", endpoint="http://127.0.0.1:1234/v1")
    assert (endpoint.base_url, endpoint.model, endpoint.provider) == (
        "http://127.0.0.1:1234/v1", "my-model", "endpoint")


def test_bare_name_without_endpoint_lists_providers():
    with pytest.raises(ConfigError, match="openai:NAME, vllm:NAME, scripted:NAME"):
        resolve_endpoint("gpt-4o-mini")


def test_roles_are_configured_separately(tmp_path):
    script = tmp_path / "s.toml"
    script.write_text('models = ["scripted-diag"]\n[[rules]]\nrespond = { content = "ok" }\n')
    config = LLMConfig(diagnose=RoleModel(spec=f"scripted:{script}"),
                       agent=RoleModel(spec="vllm:coder"))
    diagnose = role_endpoint("diagnose", config)
    assert diagnose.provider == "scripted" and diagnose.model == "scripted-diag"
    assert role_endpoint("agent", config).model == "coder"
    reply = openai.OpenAI(base_url=diagnose.base_url, api_key="x").chat.completions.create(
        model=diagnose.model, messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "ok"
    with pytest.raises(ConfigError, match="diagnose, agent"):
        role_endpoint("critic", config)


def test_missing_script_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_endpoint(f"scripted:{tmp_path / 'nope.toml'}")
