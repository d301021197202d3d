"""CappedOutput keeps the head and tail of a stream within its limit (pure Python)."""

from __future__ import annotations

import random

import pytest

from agentforge.sandbox.output import CappedOutput


def feed(limit: int, chunks: list[bytes]) -> CappedOutput:
    capped = CappedOutput(limit)
    for chunk in chunks:
        capped.write(chunk)
    return capped


def test_small_output_is_kept_whole_without_marker():
    capped = feed(100, [b"hello ", b"world\n"])
    assert capped.text() == "hello world\n"
    assert capped.omitted == 0
    assert capped.total == 12


def test_output_exactly_at_the_limit_is_not_truncated():
    data = bytes(range(97, 123)) * 4  # 104 bytes
    capped = feed(len(data), [data[:50], data[50:]])
    assert capped.omitted == 0
    assert capped.text() == data.decode()


def test_large_output_keeps_head_and_tail_and_counts_the_gap():
    lines = [f"line {i:06d}\n".encode() for i in range(100_000)]
    capped = feed(1000, lines)
    text = capped.text()
    total = sum(len(line) for line in lines)
    assert capped.total == total
    assert capped.omitted == total - 1000
    assert text.startswith("line 000000\nline 000001\n")
    assert text.endswith("line 099998\nline 099999\n")
    assert f"[... {total - 1000} bytes of output omitted ...]" in text
    head, _, tail = text.partition("\n[... ")
    assert len(head.encode()) == 500
    assert len(tail.split("omitted ...]\n", 1)[1].encode()) == 500


def test_one_huge_chunk_is_split_into_head_and_tail():
    data = b"A" * 10 + b"x" * 1_000_000 + b"Z" * 10
    capped = feed(40, [data])
    assert capped.text().startswith("A" * 10 + "x" * 10)
    assert capped.text().endswith("x" * 10 + "Z" * 10)
    assert capped.omitted == len(data) - 40


@pytest.mark.parametrize("seed", range(20))
def test_random_chunking_matches_head_and_tail_of_the_whole(seed: int):
    rng = random.Random(seed)
    limit = rng.randint(1024, 4096)
    data = rng.randbytes(rng.randint(0, 20_000))
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.choice([1, 7, 100, 2048, 5000, 30_000])
        chunks.append(data[pos : pos + size])
        pos += size
    capped = feed(limit, chunks)
    if len(data) <= limit:
        assert bytes(capped.head) + b"".join(capped.tail) == data
        assert capped.omitted == 0
    else:
        kept_tail = b"".join(capped.tail)[-capped.tail_limit :]
        assert bytes(capped.head) == data[: limit // 2]
        assert kept_tail == data[len(data) - (limit - limit // 2) :]
        assert capped.omitted == len(data) - limit


def test_memory_stays_bounded_while_gigabytes_pass_through():
    capped = CappedOutput(64 * 1024)
    chunk = b"y\n" * 32768
    for _ in range(20_000):  # 1.3 GB in total
        capped.write(chunk)
    held = len(capped.head) + sum(len(part) for part in capped.tail)
    assert held <= 64 * 1024 + len(chunk)
    assert capped.total == 20_000 * len(chunk)


def test_invalid_utf8_is_replaced_not_raised():
    capped = feed(1024, [b"ok \xff\xfe end"])
    assert capped.text().startswith("ok ")
    assert "\ufffd" in capped.text()
