import functools
import re

VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?$")


def _parse(text: str) -> tuple[tuple[int, int, int], list[str] | None]:
    match = VERSION.match(text)
    if not match:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch, tag = match.groups()
    numbers = (int(major), int(minor or 0), int(patch or 0))
    return numbers, tag.split(".") if tag else None


def _part_key(part: str) -> tuple[int, int, str]:
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


def _sign(a, b) -> int:
    return (a > b) - (a < b)


def compare(a: str, b: str) -> int:
    (numbers_a, tag_a), (numbers_b, tag_b) = _parse(a), _parse(b)
    if numbers_a != numbers_b:
        return _sign(numbers_a, numbers_b)
    if tag_a is None or tag_b is None:
        return _sign(tag_a is None, tag_b is None)
    return _sign([_part_key(p) for p in tag_a], [_part_key(p) for p in tag_b])


def latest(versions: list[str]) -> str:
    if not versions:
        raise ValueError("no versions given")
    return max(versions, key=functools.cmp_to_key(compare))
