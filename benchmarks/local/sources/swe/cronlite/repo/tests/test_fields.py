import pytest
from cronlite import CronSyntaxError, parse_field
from cronlite.schedule import SPECS

MINUTE, HOUR, DAY, MONTH, WEEKDAY = SPECS


def test_star():
    assert parse_field("*", HOUR) == set(range(24))


def test_list_and_range():
    assert parse_field("1,5-7", DAY) == {1, 5, 6, 7}


def test_star_step():
    assert parse_field("*/15", MINUTE) == {0, 15, 30, 45}


def test_range_step_from_zero():
    assert parse_field("0-30/10", MINUTE) == {0, 10, 20, 30}


def test_single_value_with_step_runs_to_the_end():
    assert parse_field("50/5", MINUTE) == {50, 55}


def test_names():
    assert parse_field("JAN,mar", MONTH) == {1, 3}
    assert parse_field("MON-FRI", WEEKDAY) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("text", ["", "60", "5-1", "*/0", "a", "1-", "*/x"])
def test_errors(text):
    with pytest.raises(CronSyntaxError):
        parse_field(text, MINUTE)
