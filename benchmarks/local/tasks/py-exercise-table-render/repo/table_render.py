def render(headers: list[str], rows: list[list[object]]) -> str:
    raise NotImplementedError
