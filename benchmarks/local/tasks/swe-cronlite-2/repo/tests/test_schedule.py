from datetime import datetime

import pytest
from cronlite import CronSyntaxError, Schedule


def test_wrong_number_of_fields():
    with pytest.raises(CronSyntaxError):
        Schedule("* * * *")


def test_matches_weekday_schedule():
    nightly = Schedule("30 2 * * MON-FRI")
    assert nightly.matches(datetime(2024, 3, 4, 2, 30))
    assert not nightly.matches(datetime(2024, 3, 9, 2, 30))


def test_next_after_skips_weekend():
    nightly = Schedule("30 2 * * MON-FRI")
    assert nightly.next_after(datetime(2024, 3, 8, 3, 0)) == datetime(2024, 3, 11, 2, 30)


def test_next_after_is_strictly_later():
    every = Schedule("*/5 * * * *")
    assert every.next_after(datetime(2024, 1, 1, 0, 5)) == datetime(2024, 1, 1, 0, 10)
    assert every.next_after(datetime(2024, 1, 1, 0, 5, 30)) == datetime(2024, 1, 1, 0, 10)


def test_next_after_month_rollover():
    monthly = Schedule("0 0 1 * *")
    assert monthly.next_after(datetime(2024, 12, 15)) == datetime(2025, 1, 1)


def test_leap_day():
    leap = Schedule("0 12 29 FEB *")
    assert leap.next_after(datetime(2024, 3, 1)) == datetime(2028, 2, 29, 12, 0)


def test_sunday_as_zero():
    assert Schedule("0 9 * * 0").matches(datetime(2024, 3, 10, 9, 0))
    assert Schedule("0 9 * * SUN").matches(datetime(2024, 3, 10, 9, 0))
