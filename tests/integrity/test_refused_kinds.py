"""Kinds of file no patch may add, whatever the benchmark: compiled code (recognised by its
content, whatever its name), `.pth` files and `*customize` modules, and any importable kind
(bytecode, extension module, package) named like a module the runner imports."""

from __future__ import annotations

import importlib.util

import pytest
from cheats import binary_cheat

from agentforge.bench.grading import patch_rules
from agentforge.bench.patches import accept_patch

BYTECODE = importlib.util.MAGIC_NUMBER + b"\0" * 12 + b"\xe3" + b"\0" * 40
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57
REFUSED = {
    "bytecode shadowing a stdlib module": ("cmd.pyc", BYTECODE, "compiled code (Python bytecode)"),
    "bytecode under another name": ("tinyconf/data.bin", BYTECODE,
                                    "compiled code (Python bytecode)"),
    "bytecode in __pycache__": ("tinyconf/__pycache__/values.cpython-311.pyc", BYTECODE,
                                "compiled code (Python bytecode)"),
    "extension module shadowing a stdlib module": (
        "json.cpython-311-x86_64-linux-gnu.so", ELF, "compiled code (an ELF binary"),
    "ELF under a text name": ("tinyconf/notes.txt", ELF, "compiled code (an ELF binary"),
    "sitecustomize package": ("sitecustomize/__init__.py", b"import os\n",
                              "a sitecustomize module"),
    "usercustomize in a package": ("tinyconf/usercustomize.py", b"import os\n",
                                   "a usercustomize module"),
    "pth file": ("tinyconf/extra.pth", b"import os\n", "a .pth file"),
    "source package shadowing a runner module": (
        "pdb/__init__.py", b"import os\n", "shadows the module 'pdb' the runner imports"),
}


@pytest.mark.parametrize("variant", sorted(REFUSED))
def test_refused_whatever_the_task_accepts(local, variant):
    path, data, why = REFUSED[variant]
    task = local.task("swe-tinyconf-1")
    patch = binary_cheat(task, {path: data}).model_patch
    with accept_patch(task.repo_dir, patch, patch_rules(task)) as result:
        assert result.error is None, result.error
        assert why in result.dropped.get(path, ""), result.dropped
        assert not (result.tree / path).exists()


def test_ordinary_files_of_a_fix_are_still_accepted(local):
    task = local.task("swe-tinyconf-1")
    files = {"tinyconf/helpers.py": b"def helper():\n    return 1\n",
             "tinyconf/logo.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
             "docs/customizing.md": b"# How to customize\n"}
    patch = binary_cheat(task, files).model_patch
    with accept_patch(task.repo_dir, patch, patch_rules(task)) as result:
        assert result.dropped == {}
        assert sorted(result.accepted) == sorted(files)
