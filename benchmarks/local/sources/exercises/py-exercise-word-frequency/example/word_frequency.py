import re
from collections import Counter

# Letters and digits of any alphabet ([^\W_]) or apostrophes.
RUN = re.compile(r"(?:[^\W_]|')+")


def top_words(text: str, k: int) -> list[tuple[str, int]]:
    if k < 0:
        raise ValueError("k must not be negative")
    counts: Counter[str] = Counter()
    for run in RUN.findall(text):
        word = run.strip("'").lower()
        if word:
            counts[word] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
