"""The warden runs on the instance image's own Python: its text must stay old-Python safe."""

from __future__ import annotations

import ast

from agentforge.sandbox.warden_link import BOOT_PYTHON, PROCESSES_SOURCE, WARDEN_SOURCE

# Standard-library modules that every CPython 3.5+ has built in or ships; nothing else.
ALLOWED_IMPORTS = {"_ctypes", "ctypes", "errno", "json", "os", "select", "signal", "socket",
                   "struct", "sys", "time", "types"}
OWN_MODULES = {"warden_processes"}  # sent in the same text (warden_link.WARDEN_SOURCE)


def test_the_warden_parses_as_python_3_5_without_f_strings():
    for text in (WARDEN_SOURCE, PROCESSES_SOURCE):
        tree = ast.parse(text, feature_version=(3, 5))
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.NamedExpr)]
    ast.parse(BOOT_PYTHON, feature_version=(3, 5))


def test_the_warden_imports_only_the_standard_library():
    imported = set()
    for text in (WARDEN_SOURCE, PROCESSES_SOURCE):
        tree = ast.parse(text)
        imported |= {alias.name.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= ALLOWED_IMPORTS | OWN_MODULES, imported - ALLOWED_IMPORTS - OWN_MODULES
