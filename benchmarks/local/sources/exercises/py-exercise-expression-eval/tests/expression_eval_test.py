from pathlib import Path

import pytest
from expression_eval import evaluate


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 ^ 3 ^ 2", 512),
        ("-2 ^ 2", -4),
        ("(-2) ^ 2", 4),
        ("2 ^ -1 + 1", None),
        ("-7 / 2", -3),
        ("-7 % 2", -1),
        ("7 % -3", 1),
        ("100 / 7 / 2", 7),
        ("--3", 3),
        ("+4 - -4", 8),
        ("2*(3+4)^2", 98),
        ("  8/  (3 -1)  ", 4),
        ("3 - 2 ^ 2 * 2", -5),
    ],
)
def test_values(text, value):
    if value is None:
        with pytest.raises(ValueError):
            evaluate(text)
    else:
        assert evaluate(text) == value


def test_variables():
    assert evaluate("rate * hours_2 + _bonus", {"rate": 30, "hours_2": 4, "_bonus": 5}) == 125


@pytest.mark.parametrize(
    "text",
    ["", "1 +", "(1 + 2", "1 + 2)", "2 3", "1 / 0", "5 % (2 - 2)", "x + 1", "3 $ 4", "* 2",
     "()"],
)
def test_errors(text):
    with pytest.raises(ValueError):
        evaluate(text)


def test_no_eval_used():
    source = Path("expression_eval.py").read_text(encoding="utf-8")
    assert "eval(" not in source.replace("def evaluate(", "").replace("evaluate(", "")
    assert "import ast" not in source
