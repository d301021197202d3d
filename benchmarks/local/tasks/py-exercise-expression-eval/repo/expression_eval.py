def evaluate(text: str, variables: dict[str, int] | None = None) -> int:
    raise NotImplementedError
