def merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    raise NotImplementedError


def free_slots(
    intervals: list[tuple[int, int]], day_start: int, day_end: int
) -> list[tuple[int, int]]:
    raise NotImplementedError
