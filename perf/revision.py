"""Another commit of this checkout, ready to run beside this tree (shared by the benchmarks
that measure side by side)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def short(ref: str) -> str:
    """The short commit id of `ref` (exits with git's message when it names nothing)."""
    done = subprocess.run(["git", "rev-parse", "--short", f"{ref}^{{commit}}"], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{ref}: {done.stderr.strip() or 'not a commit of this checkout'}")
    return done.stdout.strip()


def tree_env(tree: Path) -> dict[str, str]:
    """The environment that makes `python -m agentforge` import the package from `tree`."""
    return {**os.environ, "PYTHONPATH": str(tree)}


@contextlib.contextmanager
def checkout(ref: str, images: list[str]) -> Iterator[Path]:
    """`ref` checked out in a temporary worktree with its sandbox `images` built (images are
    named by their inputs, so both trees' images live side by side); removed afterwards."""
    commit = short(ref)
    with tempfile.TemporaryDirectory(prefix=f"agentforge-{commit}-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            build_images(tree, images)
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           capture_output=True)


def build_images(tree: Path, images: list[str]) -> None:
    """`agentforge images build` with `tree`'s code; its output only when it fails."""
    done = subprocess.run([sys.executable, "-m", "agentforge", "images", "build", *images],
                          env=tree_env(tree), cwd=tree, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"building {', '.join(images)} with {tree} failed:\n{done.stderr[-3000:]}")
