"""The gateway's upstream honours HTTP_PROXY / HTTPS_PROXY / NO_PROXY: plain HTTP through a
forwarding proxy, HTTPS through a CONNECT tunnel (a proxy process of the test's own)."""

from __future__ import annotations

import base64
import ssl
import subprocess

import openai
import pytest
from http_proxy import ProxyProcess

from agentforge.llm.config import RetryPolicy
from agentforge.llm.gateway import Gateway
from agentforge.llm.ledger import Ledger
from agentforge.llm.scripted import ScriptedServer
from agentforge.llm.spec import Endpoint

SCRIPT = {"rules": [{"respond": {"content": "through"}}]}
FAST = RetryPolicy(attempts=2, initial_backoff=0.01, timeout=30)
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@pytest.fixture()
def proxy(tmp_path, monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with ProxyProcess(tmp_path) as process:
        yield process


def ask_both_ways(base_url: str, tmp_path) -> list[str]:
    """A plain and a streamed call through a gateway to `base_url`."""
    endpoint = Endpoint(base_url=base_url, model="m", api_key="sk-real")
    with Gateway(endpoint, Ledger(tmp_path / "ledger.db"), retry=FAST, tcp_port=0) as gw:
        grant = gw.grant(run_id="r")
        # The test's own client talks to the gateway directly, whatever the environment says.
        client = openai.OpenAI(base_url=gw.tcp_base_url, api_key=grant.token, max_retries=0,
                               http_client=openai.DefaultHttpxClient(trust_env=False))
        plain = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
        return [plain, "".join(c.choices[0].delta.content or "" for c in stream if c.choices)]


def test_plain_http_upstream_goes_through_http_proxy(proxy, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("//", "//agent:s3cret@"))
    with ScriptedServer(SCRIPT) as upstream:
        assert ask_both_ways(upstream.base_url, tmp_path) == ["through", "through"]
    credentials = base64.b64encode(b"agent:s3cret").decode()
    assert proxy.lines() == [
        f"POST {upstream.base_url}/chat/completions HTTP/1.1 auth=Basic {credentials}"] * 2


def test_no_proxy_exempts_a_host(proxy, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.1")
    with ScriptedServer(SCRIPT) as upstream:
        assert ask_both_ways(upstream.base_url, tmp_path) == ["through", "through"]
    assert proxy.lines() == []


def test_https_upstream_is_tunnelled_with_connect(proxy, monkeypatch, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # our upstream's certificate is trusted
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with ScriptedServer(SCRIPT) as upstream:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        upstream._httpd.socket = context.wrap_socket(upstream._httpd.socket, server_side=True)
        base_url = f"https://localhost:{upstream.port}/v1"
        assert ask_both_ways(base_url, tmp_path) == ["through", "through"]
    lines = proxy.lines()  # one tunnel, kept alive for both calls
    assert lines and all(line.startswith(f"CONNECT localhost:{upstream.port} ") for line in lines)


def test_an_unreachable_proxy_is_named_in_the_error(proxy, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with ScriptedServer(SCRIPT) as upstream, pytest.raises(openai.APIStatusError) as caught:
        ask_both_ways(upstream.base_url, tmp_path)
    assert "through the proxy 127.0.0.1:9" in str(caught.value)
    assert caught.value.status_code == 502
