import pytest
from tinyconf.errors import ConfigError
from tinyconf.values import to_bool, to_int, to_list


@pytest.mark.parametrize("text", ["yes", "on", "true", "1"])
def test_true_words(text):
    assert to_bool(text) is True


@pytest.mark.parametrize("text", ["no", "off", "false", "0"])
def test_false_words(text):
    assert to_bool(text) is False


def test_bad_bool():
    with pytest.raises(ConfigError):
        to_bool("maybe")


def test_int():
    assert to_int(" 42 ") == 42
    assert to_int("1_000") == 1000
    with pytest.raises(ConfigError):
        to_int("4.5")


def test_list():
    assert to_list("a, b ,c") == ["a", "b", "c"]
    assert to_list("") == []
