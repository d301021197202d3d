import itertools

import pytest
from version_compare import compare, latest


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.2", "1.2.0", 0),
        ("v1.2.3", "1.2.3", 0),
        ("1.10.0", "1.9.0", 1),
        ("0.9.12", "0.10.0", -1),
        ("2", "1.99.99", 1),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0", "1.0.0-rc.1", 1),
        ("1.0.1-alpha", "1.0.0", 1),
        ("1.0.0-beta.11", "1.0.0-beta.2", 1),
        ("1.0.0-alpha.beta", "1.0.0-alpha.1", 1),
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("1.0.0-rc.1", "1.0.0-rc.1", 0),
    ],
)
def test_compare(a, b, expected):
    assert compare(a, b) == expected


def test_documented_chain():
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
             "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    for lower, higher in itertools.pairwise(chain):
        assert compare(lower, higher) == -1
        assert compare(higher, lower) == 1


@pytest.mark.parametrize("bad", ["", "1..2", "1.2.3.4", "1.x", "1.0-", "v", "-1.0"])
def test_invalid(bad):
    with pytest.raises(ValueError):
        compare(bad, "1.0.0")


def test_latest():
    assert latest(["1.2.0", "1.10.0-rc.1", "1.9.9", "1.10.0-beta"]) == "1.10.0-rc.1"
    assert latest(["v3", "2.9.9"]) == "v3"


def test_latest_empty():
    with pytest.raises(ValueError):
        latest([])
