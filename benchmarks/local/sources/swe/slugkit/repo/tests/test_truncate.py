import pytest
from slugkit import truncate


def test_short_text_unchanged():
    assert truncate("short", 10) == "short"


def test_cut_at_space():
    assert truncate("The quick brown fox", 12) == "The quick…"


def test_result_fits_width():
    for width in range(1, 30):
        assert len(truncate("The quick brown fox jumps over", width)) <= width


def test_trailing_punctuation_dropped():
    assert truncate("Hello, world and more", 8) == "Hello…"


def test_custom_ellipsis():
    assert truncate("abcdefghij", 6, ellipsis="...") == "abc..."


def test_width_too_small():
    with pytest.raises(ValueError):
        truncate("abc", 0, ellipsis="...")
