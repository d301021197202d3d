import pytest
from duration_format import format_duration, parse_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (3725, "1h 2m 5s"), (86400, "1d"),
     (90061, "1d 1h 1m 1s"), (7200, "2h"), (86460, "1d 1m")],
)
def test_format(seconds, text):
    assert format_duration(seconds) == text


def test_format_negative():
    with pytest.raises(ValueError):
        format_duration(-1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("1h 2m 5s", 3725), ("2m30s", 150), ("30s 2m", 150), ("1d", 86400),
     ("  4h  ", 14400)],
)
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "   ", "5", "3x", "1m 1m", "m5", "1h-2m"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_round_trip():
    for seconds in range(0, 200000, 997):
        assert parse_duration(format_duration(seconds)) == seconds
