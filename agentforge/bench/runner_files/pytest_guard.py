"""The grader's pytest plugin (copied into the sandbox, outside the repository).

Two ways out for what it sees:
- events (AGENTFORGE_EVENTS_FD set, the grader's own test runs): every collected test, every
  phase's outcome and every sign of tampering goes to the grader's driver the moment it is
  known, through a pipe; nothing is kept here for the code under test to change, and what
  arrives after the run's end does not count (runner_files/outcome_driver.py);
- a report file (AGENTFORGE_TEST_REPORT: SWE-bench's eval script, a child agent's own tests):
  one JSON report written when the session ends; a run that ends before leaves none.

It fingerprints pytest's and pluggy's internals, the assertion machinery and a few
builtins when it is imported (before any repository code runs) and compares them after
every test and at the end: code under test that patches the runner, registers its own
hooks (checked before every test), swaps a collected test's code (for another test's, or
for code from the solution's own files), rewires this plugin's hooks or sets a tracer
makes the run count as tampered. Its hooks are closures registered once: rebinding this
module's names changes nothing. Standard library only, and Python 3.6+ with any pytest
from 4.x on: SWE-bench loads it into old environments through PYTEST_PLUGINS.
"""

import ast
import builtins
import contextlib
import importlib
import json
import os
import sys

REPORT = os.environ.get("AGENTFORGE_TEST_REPORT", "/task/report/pytest.json")
# Strict: the conftest files belong to the code under test (a child agent's own tests), so
# their outcome hooks count as tampering too.
STRICT = os.environ.get("AGENTFORGE_GUARD_STRICT") == "1"
GUARDED = (
    "_pytest.runner", "_pytest.reports", "_pytest.python", "_pytest.main", "_pytest.fixtures",
    "_pytest.nodes", "_pytest.outcomes", "_pytest.skipping", "_pytest.unittest",
    "_pytest.assertion", "_pytest.assertion.rewrite", "_pytest.assertion.util",
    "_pytest.terminal", "_pytest.config", "_pytest.capture", "_pytest.python_api",
    "pluggy", "pluggy._hooks", "pluggy._callers", "pluggy._manager", "pluggy._result",
    "unittest", "unittest.case", "json", "os", "sys", "builtins", "atexit", "strict_compare",
)
# Hooks through which a plugin could rewrite outcomes; only pytest's own plugins, this one
# and the repository's original conftest files may implement them.
OUTCOME_HOOKS = (
    "pytest_runtest_protocol", "pytest_runtest_makereport", "pytest_runtest_logreport",
    "pytest_report_teststatus", "pytest_runtest_call", "pytest_pyfunc_call",
    "pytest_runtest_setup", "pytest_runtest_teardown", "pytest_collection_modifyitems",
    "pytest_collectreport", "pytest_make_collect_report", "pytest_sessionfinish",
    "pytest_assertrepr_compare", "pytest_itemcollected", "pytest_deselected",
)
_VOLATILE = {"excepthook", "displayhook", "unraisablehook", "breakpointhook", "settrace",
             "setprofile", "_", "__loader__", "__spec__"}


def _owner(value):
    return getattr(value, "__module__", None) or ""


def _fingerprint():
    """{dotted name: (id, defining module)} of the guarded modules' functions and classes."""
    seen = {}
    for name in GUARDED:
        try:  # older pytest and pluggy releases (SWE-bench environments) lack some modules
            module = sys.modules.get(name) or importlib.import_module(name)
        except ImportError:
            continue
        seen[f"module {name}"] = (id(module), name)
        for attr, value in list(vars(module).items()):
            if attr in _VOLATILE or not callable(value):
                continue
            seen[f"{name}.{attr}"] = (id(value), _owner(value))
            if isinstance(value, type) and value.__module__ == name:
                for key, member in list(vars(value).items()):
                    if callable(member) or isinstance(member, (property, staticmethod,
                                                               classmethod)):
                        seen[f"{name}.{attr}.{key}"] = (id(member), _owner(member))
    return seen


def _code_of(item):
    func = getattr(item, "obj", None)
    func = getattr(func, "__func__", func)
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return getattr(func, "__code__", None)


def _defined_functions(path, cache):
    """Names of the functions a source file defines (any depth), read from the file."""
    if path not in cache:
        try:
            with open(path, "rb") as source:
                tree = ast.parse(source.read())
            cache[path] = {node.name for node in ast.walk(tree)
                           if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        except (OSError, SyntaxError, ValueError):
            cache[path] = set()
    return cache[path]


def _sender(fd, write=os.write, dumps=json.dumps, suppress=contextlib.suppress):
    def send(event):
        with suppress(OSError):  # the driver is gone: it reports the run as ended early
            write(fd, (dumps(event) + "\n").encode())

    return send


def _guard(events_fd, solution_files):
    """The plugin's hooks, as closures over its state (nothing a module name points to)."""
    baseline = _fingerprint()
    send = _sender(events_fd) if events_fd is not None else None
    write_file, dump, real_open = open, json.dumps, builtins.open
    results, tampered, collection_errors = {}, [], []
    test_code, early_plugins, sources, state = {}, set(), {}, {}
    own = {}

    def note(what):
        if what in tampered:
            return
        tampered.append(what)
        if send is not None:
            send({"event": "tampered", "what": what})

    def check(where):
        swapped = [nodeid for nodeid, (item, code) in test_code.items()
                   if _code_of(item) is not code]
        if swapped:
            note(f"test functions replaced ({where}): {', '.join(swapped[:5])}")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            note(f"a tracer or profiler was set ({where})")
        now = _fingerprint()
        # pytest patches itself in places (its legacypath plugin); a replacement defined
        # outside pytest and pluggy is someone else's.
        changed = sorted(k for k in baseline if now.get(k) != baseline[k]
                         and not (now.get(k) or (0, ""))[1].startswith(("_pytest", "pluggy")))
        if changed:
            note(f"runner internals replaced ({where}): {', '.join(changed[:5])}")

    def check_hooks(config, where):
        foreign, rewired = [], []
        manager = config.pluginmanager
        for hook_name in OUTCOME_HOOKS:
            caller = getattr(manager.hook, hook_name, None)
            for impl in caller.get_hookimpls() if caller else []:
                if hook_name in own and impl.plugin is sys.modules.get(__name__) and (
                        impl.function is not own[hook_name][0]
                        or impl.function.__code__ is not own[hook_name][1]):
                    rewired.append(hook_name)
                module = getattr(impl.plugin, "__name__", "") or type(impl.plugin).__module__
                if module.startswith("_pytest") or id(impl.plugin) in early_plugins:
                    continue
                if not STRICT and impl.plugin in getattr(manager, "_conftest_plugins", ()):
                    continue  # the repository's own conftest files (patches cannot add any)
                foreign.append(f"{hook_name} from {impl.plugin_name}")
        if foreign:
            note(f"hooks registered by code under test: {', '.join(foreign[:5])}")
        if rewired:
            note(f"the grader's hooks were rewired ({where}): {', '.join(rewired[:5])}")

    def origin(item, code, root):
        """Why a collected test's code is not the test's own (None when it is)."""
        name = getattr(item, "originalname", None) or item.name.split("[")[0]
        path = str(getattr(item, "path", None) or item.fspath)
        defines = name in _defined_functions(path, sources)
        if code is None:
            return "it is not a function" if defines else None
        filename = code.co_filename
        if not os.path.isfile(filename):
            return f"its code was made at run time ({filename})"
        if os.path.relpath(os.path.realpath(filename), root) in solution_files:
            return f"its code comes from the solution ({os.path.relpath(filename, root)})"
        if defines and code.co_name != name and code.co_name.startswith("test"):
            return f"it runs {code.co_name} instead"
        return None

    def pytest_addoption(parser, pluginmanager):
        # Called as soon as this plugin registers, before any conftest or test module is
        # imported: the plugins present now (pytest's own, installed entry points) are the
        # environment's, not the code under test's.
        early_plugins.update(id(plugin) for plugin in pluginmanager.get_plugins())

    def pytest_configure(config):
        state["config"] = config

    def pytest_collection_finish(session):
        # The code of every collected test, so that a test whose code is swapped later (by
        # code under test, e.g. through `func.__code__`) is noticed.
        from _pytest.python import Function as function_item

        root = os.path.realpath(str(session.config.rootdir))
        for item in session.items:
            code = _code_of(item)
            if code is not None:
                test_code[item.nodeid] = (item, code)
            if solution_files is not None and isinstance(item, function_item):
                why = origin(item, code, root)
                if why:
                    note(f"the collected test {item.nodeid} was replaced: {why}")
        if send is not None:
            send({"event": "collected", "ids": [item.nodeid for item in session.items]})

    def pytest_collectreport(report):
        if report.failed:
            where = report.nodeid or "<session>"
            collection_errors.append(where)
            if send is not None:
                send({"event": "collection_error", "where": where})

    def pytest_runtest_logstart(nodeid, location):
        if "config" in state:
            check_hooks(state["config"], f"before {nodeid}")

    def pytest_runtest_logreport(report):
        if send is not None:
            send({"event": "report", "id": report.nodeid, "when": report.when,
                  "outcome": report.outcome, "xfail": hasattr(report, "wasxfail")})
        else:
            status = results.get(report.nodeid)
            if report.when == "call":
                outcome = "xfail" if hasattr(report, "wasxfail") else report.outcome
                status = status if status in ("failed", "error") else outcome
            elif report.failed:
                status = "error"
            elif report.skipped and status is None:
                status = "skipped"
            results[report.nodeid] = status
        if report.when == "teardown" and not tampered:
            check(f"after {report.nodeid}")

    def pytest_sessionfinish(session, exitstatus):
        check("at the end")
        check_hooks(session.config, "at the end")
        if builtins.open is not real_open:
            note("builtins.open replaced")
        if send is not None:
            send({"event": "end", "exitstatus": int(exitstatus)})
            return
        os.makedirs(os.path.dirname(REPORT), exist_ok=True)
        with write_file(REPORT, "w") as out:
            out.write(dump({"complete": True, "exitstatus": int(exitstatus), "tests": results,
                            "collection_errors": collection_errors, "tampered": tampered}))

    scope = locals()
    hooks = {name: value for name, value in scope.items() if name.startswith("pytest_")}
    own.update({name: (hook, hook.__code__) for name, hook in hooks.items()})
    return hooks


def _solution_files():
    listed = os.environ.pop("AGENTFORGE_SOLUTION_FILES", None)
    return frozenset(json.loads(listed)) if listed is not None else None


_events = os.environ.pop("AGENTFORGE_EVENTS_FD", None)
globals().update(_guard(int(_events) if _events else None, _solution_files()))
del _events
