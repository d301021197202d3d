"""The supervisor runs on the instance image's own Python: its text must stay old-Python safe."""

from __future__ import annotations

import ast

from agentforge.sandbox.execution import SUPERVISOR_SCRIPT

# Standard-library modules that every CPython 3.5+ has built in or ships; nothing else.
ALLOWED_IMPORTS = {"_ctypes", "ctypes", "errno", "os", "signal", "sys", "time"}


def test_the_supervisor_parses_as_python_3_5_without_f_strings():
    tree = ast.parse(SUPERVISOR_SCRIPT, feature_version=(3, 5))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.NamedExpr)]


def test_the_supervisor_imports_only_the_standard_library():
    tree = ast.parse(SUPERVISOR_SCRIPT)
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_the_supervisor_kills_an_escaped_tree_at_the_deadline_and_keeps_exit_codes():
    # Run on this (Linux) host: the same script, the same subreaper, no engine needed.
    import os
    import subprocess
    import sys
    import time
    import uuid

    from agentforge.sandbox.execution import supervised

    def run(cmd: list[str], timeout: float) -> tuple[int, float]:
        argv, env = supervised(sys.executable, cmd, time.monotonic() + timeout, timeout)
        started = time.monotonic()
        code = subprocess.run(argv, env={**os.environ, **env}, timeout=60,
                              stdout=subprocess.DEVNULL).returncode
        return code, time.monotonic() - started

    tag = f"98{uuid.uuid4().int % 10**6}"  # a sleep length no other process uses
    code, took = run(["sh", "-c", f"setsid env -i sh -c 'sleep {tag}' & sleep 60"], 2.0)
    assert code == 124 and took < 2.0 + 10
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", f"sleep {tag}"], capture_output=True, text=True)
    assert left.stdout == "", f"escaped process survived: {left.stdout}"
    assert run(["sh", "-c", "exit 7"], 30)[0] == 7
    assert run(["sh", "-c", "kill -9 $$"], 30)[0] == 137
    assert run(["no-such-command-here"], 30)[0] == 127
