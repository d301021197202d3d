"""Running git over a tree an agent controls: its own git configuration never applies.

Shared by patch extraction (`agent_contract.py`) and patch acceptance (`bench/`), so it sits
below both.
"""

from __future__ import annotations

# Git settings that stop a repository's own config from running code or reshaping output:
# no hooks, no fsmonitor, no external diff or textconv, standard a/ b/ prefixes, no pager.
SAFE_GIT_CONFIG = (
    "core.hooksPath=/dev/null", "core.fsmonitor=false", "core.untrackedCache=false",
    "core.attributesFile=/dev/null", "core.autocrlf=false", "core.pager=cat",
    "core.quotePath=true", "diff.noprefix=false", "diff.mnemonicPrefix=false",
    "diff.relative=false", "diff.renames=false", "color.ui=false",
    "user.name=agentforge", "user.email=agentforge@localhost", "commit.gpgsign=false",
    "protocol.allow=never", "safe.directory=*",
)
SAFE_DIFF_FLAGS = ("--no-ext-diff", "--no-textconv", "--no-color", "--no-renames",
                   "--src-prefix=a/", "--dst-prefix=b/")
"""Flags for every `git diff` over a tree someone else controls."""


def safe_git_args() -> list[str]:
    """`git -c k=v ...` arguments that neutralize a repository's own git configuration."""
    return [arg for item in SAFE_GIT_CONFIG for arg in ("-c", item)]
