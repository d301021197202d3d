"""Transliteration of characters that Unicode decomposition does not reduce to ASCII."""

SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "œ": "oe",
    "Œ": "OE",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "þ": "th",
    "&": " and ",
}


def transliterate(text: str) -> str:
    """Replace the characters of SPECIAL; leave everything else alone."""
    return "".join(SPECIAL.get(char, char) for char in text)
