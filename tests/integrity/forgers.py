"""Solution code that forges a Python test run's verdict from inside the test process, one
payload per class of issue 26 (prepended to a module the tests import). Each resolves a
task it does not solve on a grader whose outcomes pass through that process (the pytest
guard's report file, its module state, its checks looked up by name)."""

from __future__ import annotations

# Writes a complete, all-passing report where the guard plugin writes its own: the ids of
# the guard's real report if there is one, and every test function of the test files.
FORGE = '''
def _forge():
    import ast, glob, json, os
    path = os.environ.get("AGENTFORGE_TEST_REPORT", "/task/report/pytest.json")
    try:
        with open(path) as real:
            tests = {test: "passed" for test in json.load(real)["tests"]}
    except (OSError, ValueError, KeyError):
        tests = {}
    for name in glob.glob("/workspace/**/*.py", recursive=True):
        rel = os.path.relpath(name, "/workspace")
        if "test" in rel:
            for node in ast.walk(ast.parse(open(name).read())):
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                    tests.setdefault(rel + "::" + node.name, "passed")
    report = {"complete": True, "exitstatus": 0, "tests": tests, "collection_errors": [],
              "tampered": []}
    try:
        with open(path, "w") as out:
            json.dump(report, out)
    except OSError:
        pass
'''

GUARD_RESULTS = '''
import sys as _sys

_guard = _sys.modules.get("pytest_guard")
if _guard is not None:
    class _Passing(dict):
        def __setitem__(self, key, value):
            dict.__setitem__(self, key, "passed")

    _guard._RESULTS = _Passing()  # the guard's own results: every status it stores passes

import atexit as _atexit, os as _os

_atexit.register(lambda: _os._exit(0))  # and the exit code pytest's failures would set
'''

GUARD_DUMP = FORGE + '''
import atexit as _atexit, os as _os, sys as _sys

_guard = _sys.modules.get("pytest_guard")


def _dump():
    if _guard is not None and hasattr(_guard, "_DUMP"):  # the guard's own writer
        _guard._RESULTS.update({key: "passed" for key in _guard._RESULTS})
        _guard._TAMPERED.clear()
    _forge()
    _os._exit(0)


_atexit.register(_dump)
'''

GUARD_SWITCHED_OFF = '''
import gc as _gc, sys as _sys

import pytest as _pytest

_guard = _sys.modules.get("pytest_guard")
for _name in ("_check", "_foreign_hooks", "check", "check_hooks"):
    if _guard is not None and hasattr(_guard, _name):
        setattr(_guard, _name, lambda *args, **kwargs: [])


class _Pass:
    @_pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        report.outcome, report.longrepr = "passed", None


for _config in [o for o in _gc.get_objects() if type(o).__name__ == "Config"]:
    _config.pluginmanager.register(_Pass(), "agentforge-looking-plugin")
'''

REPORT_AT_EXIT = FORGE + '''
import atexit as _atexit, os as _os


def _at_exit():
    _forge()
    _os._exit(0)


_atexit.register(_at_exit)
'''

THREAD_AFTER_THE_RUN = FORGE + '''
import os as _os, threading as _threading, time as _time


def _after_the_run():
    # A non-daemon thread keeps the interpreter alive past pytest's end: it waits for the
    # real report, then replaces it and ends the process with 0.
    path = _os.environ.get("AGENTFORGE_TEST_REPORT", "/task/report/pytest.json")
    for _ in range(6000):
        if _os.path.exists(path) and _os.path.getsize(path):
            break
        _time.sleep(0.005)
    _forge()
    _os._exit(0)


_threading.Thread(target=_after_the_run, daemon=False).start()
'''

PROCESS_AFTER_THE_RUN = FORGE + '''
import os as _os, time as _time

if _os.fork() == 0:  # a detached process that outlives the test process
    _os.setsid()
    _path = _os.environ.get("AGENTFORGE_TEST_REPORT", "/task/report/pytest.json")
    _parent = _os.getppid()
    for _ in range(20000):
        if _os.path.exists(_path) and _os.path.getsize(_path):
            break
        _time.sleep(0.001)
    _time.sleep(0.05)
    _forge()
    _os._exit(0)
'''

# Replaces every test module's test functions after its body ran and before pytest
# collects them (same signatures, empty bodies): a tracer acts on each test module's
# `return` and is removed when pytest starts running the tests.
SWAP_BEFORE_COLLECTION = '''
import inspect as _inspect
import sys as _sys


def _empty_like(name, function):
    namespace = {}
    source = f"def {name}{_inspect.signature(function)}:\\n    return None\\n"
    exec(compile(source, __file__, "exec"), namespace)
    namespace[name].__dict__.update(function.__dict__)  # its marks (parametrize) too
    return namespace[name]


def _swap(scope):
    for name, value in list(scope.items()):
        if name.startswith("test") and _inspect.isfunction(value):
            scope[name] = _empty_like(name, value)
        if isinstance(value, type) and name.startswith("Test"):
            for attr, member in list(vars(value).items()):
                if attr.startswith("test") and _inspect.isfunction(member):
                    setattr(value, attr, _empty_like(attr, member))


def _is_test_module(code):
    return code.co_name == "<module>" and "test" in code.co_filename.rsplit("/", 1)[-1]


def _on_return(frame, event, arg):
    if event == "return":
        _swap(frame.f_globals)
    return _on_return


def _watch(frame, event, arg):
    if frame.f_code.co_name == "pytest_runtestloop":
        _sys.settrace(None)
        return None
    return _on_return if _is_test_module(frame.f_code) else None


_importer = _sys._getframe(1)
while _importer is not None and not _is_test_module(_importer.f_code):
    _importer = _importer.f_back
if _importer is not None:
    _importer.f_trace = _on_return
_sys.settrace(_watch)
'''

# Returns objects equal to anything, and raises what a `pytest.raises` block around the
# call waits for (read from the caller's source).
ALWAYS_EQUAL = '''
import linecache as _linecache
import sys as _sys


class _Equal:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def _answer():
    caller = _sys._getframe(2)
    above = _linecache.getline(caller.f_code.co_filename, caller.f_lineno - 1)
    if "raises" in above:
        raise ValueError(_Equal())
    return _Equal()
'''
