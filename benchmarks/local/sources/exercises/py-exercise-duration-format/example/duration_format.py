import re

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
TOKEN = re.compile(r"\s*(\d+)([a-z])\s*")


def format_duration(seconds: int) -> str:
    if seconds < 0:
        raise ValueError("duration cannot be negative")
    parts = []
    for unit, size in UNITS.items():
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts) or "0s"


def parse_duration(text: str) -> int:
    position, total, seen = 0, 0, set()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.group(2) not in UNITS or match.group(2) in seen:
            raise ValueError(f"bad duration: {text!r}")
        seen.add(match.group(2))
        total += int(match.group(1)) * UNITS[match.group(2)]
        position = match.end()
    if not seen:
        raise ValueError("empty duration")
    return total
