import re

TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_]\w*)|(.))")


def _tokens(text: str) -> list[str]:
    tokens = []
    for number, name, other in TOKEN.findall(text.rstrip()):
        token = number or name or other
        if other and other not in "+-*/%^()":
            raise ValueError(f"unexpected character {other!r}")
        tokens.append(token)
    return tokens


class _Parser:
    def __init__(self, text: str, variables: dict[str, int]) -> None:
        self.tokens, self.position, self.variables = _tokens(text), 0, variables

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("unexpected end of expression")
        self.position += 1
        return token

    def parse(self) -> int:
        value = self.sum()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return value

    def sum(self) -> int:
        value = self.product()
        while self.peek() in ("+", "-"):
            value = value + self.product() if self.take() == "+" else value - self.product()
        return value

    def product(self) -> int:
        value = self.unary()
        while self.peek() in ("*", "/", "%"):
            operator, right = self.take(), self.unary()
            if operator == "*":
                value *= right
                continue
            if right == 0:
                raise ValueError("division by zero")
            quotient = abs(value) // abs(right) * (1 if (value >= 0) == (right >= 0) else -1)
            value = quotient if operator == "/" else value - quotient * right
        return value

    def unary(self) -> int:
        if self.peek() in ("+", "-"):
            return -self.unary() if self.take() == "-" else self.unary()
        return self.power()

    def power(self) -> int:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.unary()
        if exponent < 0:
            raise ValueError("negative exponent")
        return base**exponent

    def atom(self) -> int:
        token = self.take()
        if token.isdigit():
            return int(token)
        if token == "(":
            value = self.sum()
            if self.take() != ")":
                raise ValueError("expected ')'")
            return value
        if token[0].isalpha() or token[0] == "_":
            if token not in self.variables:
                raise ValueError(f"unknown variable {token!r}")
            return self.variables[token]
        raise ValueError(f"unexpected {token!r}")


def evaluate(text: str, variables: dict[str, int] | None = None) -> int:
    return _Parser(text, variables or {}).parse()
