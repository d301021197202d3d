"""Choosing how a sandbox's disk writes are bounded (no engine needed)."""

from __future__ import annotations

import pytest

from agentforge.errors import SandboxError
from agentforge.sandbox.config import DISK_LIMIT_VAR, SandboxConfig, size_bytes
from agentforge.sandbox.disk import LOOP, NONE, TMPFS, choose, loop_unavailable


def test_sizes_use_binary_units():
    assert size_bytes("64m") == 64 * 2**20
    assert size_bytes("4g") == 4 * 2**30
    assert size_bytes("1.5G") == 3 * 2**29
    assert size_bytes("4096") == 4096


def test_the_default_limit_is_4_gib_and_the_environment_overrides_it(monkeypatch):
    assert SandboxConfig().disk_limit == "4g"
    monkeypatch.setenv(DISK_LIMIT_VAR, "8g")
    assert SandboxConfig().disk_limit_bytes == 8 * 2**30
    monkeypatch.setenv(DISK_LIMIT_VAR, "none")
    assert SandboxConfig().disk_limit is None
    monkeypatch.setenv(DISK_LIMIT_VAR, "lots")
    with pytest.raises(ValueError, match=DISK_LIMIT_VAR):
        SandboxConfig()


def test_a_bad_limit_says_what_is_accepted():
    with pytest.raises(ValueError, match="64m or 4g"):
        SandboxConfig(disk_limit="4 GB")


def test_auto_prefers_loop_then_tmpfs_then_says_nothing_bounds_it():
    small = choose(SandboxConfig(disk_limit="64m", memory="2g"))
    large = choose(SandboxConfig(disk_limit="4g", memory="2g"))
    if loop_unavailable() is None:
        assert small.mechanism == large.mechanism == LOOP
    else:
        assert small.mechanism == TMPFS
        assert large.mechanism == NONE and "NOT bounded" in large.reason
        assert loop_unavailable() in large.reason
    assert choose(SandboxConfig(disk_limit=None)).mechanism == NONE


def test_a_named_mechanism_that_cannot_work_is_refused_with_the_reason():
    with pytest.raises(SandboxError, match="tmpfs would need 4g of memory"):
        choose(SandboxConfig(disk_limit="4g", memory="256m", disk_mechanism="tmpfs"))
