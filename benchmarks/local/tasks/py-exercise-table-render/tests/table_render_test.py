import pytest
from table_render import render


def test_documented_example():
    text = render(["name", "qty", "price"], [["apple", 3, 0.5], ["kiwi", 12, None]])
    assert text == (
        "name  | qty | price\n"
        "------+-----+------\n"
        "apple |   3 |  0.50\n"
        "kiwi  |  12 |\n"
    )


def test_header_wider_than_cells():
    assert render(["identifier"], [["a"]]) == "identifier\n----------\na\n"


def test_no_rows():
    assert render(["a", "bb"], []) == "a | bb\n--+---\n"


def test_mixed_column_is_left_aligned():
    text = render(["v"], [[1], ["x"], [22]])
    assert text == "v\n--\n1\nx\n22\n"


def test_bool_is_not_a_number():
    text = render(["flag", "n"], [[True, 1], [False, 100]])
    assert text == "flag  |   n\n------+----\nTrue  |   1\nFalse | 100\n"


def test_float_formatting():
    assert render(["x"], [[2.0], [10.125]]) == "    x\n-----\n 2.00\n10.12\n"


def test_none_everywhere():
    assert render(["a", "b"], [[None, None]]) == "a | b\n--+--\n  |\n"


def test_no_trailing_spaces():
    text = render(["first", "second"], [["x", ""], ["longer", "y"]])
    assert all(line == line.rstrip() for line in text.splitlines())


def test_row_length_mismatch():
    with pytest.raises(ValueError):
        render(["a", "b"], [[1]])
