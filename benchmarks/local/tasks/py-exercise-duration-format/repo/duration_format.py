def format_duration(seconds: int) -> str:
    raise NotImplementedError("format seconds as '1h 2m 5s'")


def parse_duration(text: str) -> int:
    raise NotImplementedError("parse '1h 2m 5s' back into seconds")
