import pytest
from word_frequency import top_words


def test_basic_counts():
    assert top_words("the cat and the hat", 2) == [("the", 2), ("and", 1)]


def test_case_insensitive():
    assert top_words("Go go GO stop", 1) == [("go", 3)]


def test_ties_alphabetical():
    assert top_words("pear apple fig", 3) == [("apple", 1), ("fig", 1), ("pear", 1)]


def test_punctuation_separates():
    assert top_words("one,two;three...one!", 10) == [("one", 2), ("three", 1), ("two", 1)]


def test_apostrophes():
    text = "'Hello' said he, 'don't go' -- don't!"
    assert top_words(text, 10) == [("don't", 2), ("go", 1), ("he", 1), ("hello", 1),
                                   ("said", 1)]


def test_lone_apostrophes_are_not_words():
    assert top_words("'' ' a", 5) == [("a", 1)]


def test_digits_and_unicode():
    assert top_words("Größe 42 größe 42 42", 2) == [("42", 3), ("größe", 2)]


def test_fewer_than_k():
    assert top_words("solo", 5) == [("solo", 1)]


def test_zero_and_empty():
    assert top_words("a b c", 0) == []
    assert top_words("", 3) == []


def test_negative_k():
    with pytest.raises(ValueError):
        top_words("a", -1)
