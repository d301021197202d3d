import pytest
import tinyconf
from tinyconf import ConfigError

SAMPLE = """
owner = ops
[server]
host = 0.0.0.0
port = 8080
debug = off
hosts = a, b,, c

[paths]
root = /srv/app
logs = ${paths.root}/logs
"""


@pytest.fixture
def config():
    return tinyconf.loads(SAMPLE)


def test_sections(config):
    assert config.sections() == ["server", "paths"]


def test_get_and_default_section(config):
    assert config.get("server", "host") == "0.0.0.0"
    assert config.get("server", "owner") == "ops"
    assert config.get("server", "missing", "x") == "x"


def test_missing_key_raises(config):
    with pytest.raises(ConfigError):
        config.get("server", "missing")


def test_typed_getters(config):
    assert config.get_int("server", "port") == 8080
    assert config.get_bool("server", "debug") is False
    assert config.get_list("server", "hosts") == ["a", "b", "c"]
    assert config.get_int("server", "workers", default=4) == 4


def test_interpolation(config):
    assert config.get("paths", "logs") == "/srv/app/logs"


def test_interpolation_cycle():
    config = tinyconf.loads("[a]\nx = ${a.y}\ny = ${a.x}\n")
    with pytest.raises(ConfigError):
        config.get("a", "x")


def test_duplicate_key():
    with pytest.raises(ConfigError):
        tinyconf.loads("[a]\nx = 1\nX = 2\n")


def test_load_file(tmp_path):
    path = tmp_path / "app.conf"
    path.write_text("[db]\nname = shop\n", encoding="utf-8")
    assert tinyconf.load(path).get("db", "name") == "shop"
