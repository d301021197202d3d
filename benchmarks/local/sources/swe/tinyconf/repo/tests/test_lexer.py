import pytest
from tinyconf.errors import ConfigError
from tinyconf.lexer import Entry, strip_comment, tokenize


def test_sections_and_keys():
    entries = list(tokenize("a = 1\n[web]\nPort = 80\n"))
    assert entries == [Entry("DEFAULT", "a", "1", 1), Entry("web", "port", "80", 3)]


def test_comment_lines_and_blank_lines_are_skipped():
    assert list(tokenize("# c\n; c\n\n  \nk=v\n")) == [Entry("DEFAULT", "k", "v", 5)]


def test_colon_separator():
    assert list(tokenize("k: v")) == [Entry("DEFAULT", "k", "v", 1)]


def test_inline_comment():
    assert strip_comment("value   # note") == "value"


def test_hash_without_space_is_part_of_value():
    assert strip_comment("color#1") == "color#1"


def test_quoted_value_keeps_spaces():
    assert list(tokenize('k = "  padded  "'))[0].raw == "  padded  "


def test_bad_line():
    with pytest.raises(ConfigError) as error:
        list(tokenize("[ok]\nthis is not a pair\n"))
    assert error.value.line == 2


def test_unterminated_quote():
    with pytest.raises(ConfigError):
        list(tokenize('k = "abc'))
