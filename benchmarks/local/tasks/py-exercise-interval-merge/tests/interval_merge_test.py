import pytest
from interval_merge import free_slots, merge


def test_merge_empty():
    assert merge([]) == []


def test_merge_overlapping_unsorted():
    assert merge([(5, 8), (1, 3), (2, 4)]) == [(1, 4), (5, 8)]


def test_merge_touching():
    assert merge([(3, 5), (1, 3)]) == [(1, 5)]


def test_merge_contained():
    assert merge([(1, 10), (2, 3), (4, 5)]) == [(1, 10)]


def test_merge_does_not_modify_input():
    data = [(4, 6), (1, 2)]
    merge(data)
    assert data == [(4, 6), (1, 2)]


def test_merge_rejects_empty_interval():
    with pytest.raises(ValueError):
        merge([(1, 2), (5, 5)])


def test_free_slots_basic():
    assert free_slots([(10, 12), (14, 15)], 9, 17) == [(9, 10), (12, 14), (15, 17)]


def test_free_slots_clipped_to_day():
    assert free_slots([(7, 10), (16, 20)], 9, 17) == [(10, 16)]


def test_free_slots_none_free():
    assert free_slots([(8, 13), (12, 18)], 9, 17) == []


def test_free_slots_outside_day_ignored():
    assert free_slots([(1, 3), (20, 22)], 9, 17) == [(9, 17)]
