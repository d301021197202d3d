def compare(a: str, b: str) -> int:
    raise NotImplementedError


def latest(versions: list[str]) -> str:
    raise NotImplementedError
