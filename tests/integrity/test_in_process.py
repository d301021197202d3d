"""Class 3: code in the solution that fakes the result from inside the test process. The
grader reads the framework's structured per-test report, requires every expected test in
it, and its guard notices runner internals being replaced; printed lines never count."""

from __future__ import annotations

import pytest
from cheats import cheat

from agentforge.bench.task import Outcome

STUB = 'def format_duration(seconds):\n    raise NotImplementedError\n\n\n' \
       'def parse_duration(text):\n    raise NotImplementedError\n'
PYTHON_CHEATS = {
    "atexit-exit-0": ("import atexit\nimport os\n\natexit.register(lambda: os._exit(0))\n",
                      "tests not passing"),
    "exit-at-import": ("import os\n\nos._exit(0)\n", "early exit"),
    "forged-passed-lines": (
        "import os\n\nfor name in ('test_format', 'test_parse'):\n"
        "    print(f'PASSED duration_format_test.py::{name}')\nos._exit(0)\n", "early exit"),
    "patched-report-objects": (
        "from _pytest.reports import TestReport\n\n_init = TestReport.__init__\n\n\n"
        "def _passing(self, *args, **kwargs):\n    _init(self, *args, **kwargs)\n"
        "    self.outcome, self.longrepr = 'passed', None\n\n\n"
        "TestReport.__init__ = _passing\n", "runner tampering"),
    "registered-hook": (
        "import gc\n\nimport pytest\nfrom _pytest.config import Config\n\n\n"
        "class _Pass:\n    @pytest.hookimpl(hookwrapper=True)\n"
        "    def pytest_runtest_makereport(self, item, call):\n        outcome = yield\n"
        "        report = outcome.get_result()\n"
        "        report.outcome, report.longrepr = 'passed', None\n\n\n"
        "next(o for o in gc.get_objects() if isinstance(o, Config))"
        ".pluginmanager.register(_Pass())\n", "hooks registered by code under test"),
    "swapped test code": (
        "import sys\n\n\ndef _swap():\n    tests = sys._getframe(2).f_globals\n"
        "    for name, value in list(tests.items()):\n"
        "        if name.startswith('test') and hasattr(value, '__code__'):\n"
        "            value.__code__ = (lambda *args, **kwargs: None).__code__\n",
        "test functions replaced"),
}


@pytest.mark.docker
@pytest.mark.parametrize("variant", sorted(PYTHON_CHEATS))
def test_python_solution_faking_its_result(local, agent_image, variant):
    prelude, reason = PYTHON_CHEATS[variant]
    task = local.task("py-exercise-duration-format")
    stub = STUB.replace("    raise", "    globals().get('_swap', lambda: None)()\n    raise")
    result = local.grade(task, cheat(task, {"duration_format.py": prelude + "\n\n" + stub}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert reason in result.reason


GO_STUB = "func Wrap(text string, width int) []string {\n\tpanic(\"no\")\n}\n"
GO_CHEATS = {
    "init-exit-0": ('import "os"\n\nfunc init() { os.Exit(0) }\n', "early exit"),
    "edited-os-args": ('import "os"\n\nfunc init() { os.Args = append(os.Args, "-test.run=^$") }\n',
                       "expected tests missing"),
    "forged-pass-lines": ('import (\n\t"fmt"\n\t"os"\n)\n\nfunc init() {\n'
                          '\tfmt.Println("=== RUN   TestWrap")\n'
                          '\tfmt.Println("--- PASS: TestWrap (0.00s)")\n'
                          '\tfmt.Println("PASS")\n\tos.Exit(0)\n}\n', "early exit"),
}


@pytest.mark.docker
@pytest.mark.parametrize("variant", sorted(GO_CHEATS))
def test_go_solution_faking_its_result(local, toolchains_image, variant):
    prelude, reason = GO_CHEATS[variant]
    task = local.task("go-exercise-word-wrap")
    source = f"package wordwrap\n\n{prelude}\n{GO_STUB}"
    result = local.grade(task, cheat(task, {"wordwrap.go": source}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert reason in result.reason


JS_CHEATS = {
    "global expect replaced": (
        "global.expect = () => ({ toEqual() {}, toBe() {} });\n\n"
        "export const shout = (text) => text;\n", "runner tampering"),
    "exit 0 at import": ("process.exit(0);\n\nexport const shout = (text) => text;\n",
                         "early exit"),
}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(JS_CHEATS))
def test_javascript_solution_faking_its_result(polyglot, polyglot_image, variant):
    source, reason = JS_CHEATS[variant]
    task = polyglot.task("javascript__shout")
    result = polyglot.grade(task, cheat(task, {"shout.js": source}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert reason in result.reason


COMPILED_CHEATS = {
    "rust process exit 0": ("rust__square-sum", "src/lib.rs",
                            "pub fn square_sum(_n: u32) -> u32 {\n    std::process::exit(0)\n}\n"),
    "java halt 0 in a static block": (
        "java__greeter", "src/main/java/Greeter.java",
        "class Greeter {\n    static { Runtime.getRuntime().halt(0); }\n\n"
        "    String greet(String name) {\n        return \"\";\n    }\n}\n"),
}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(COMPILED_CHEATS))
def test_compiled_solution_exiting_early(polyglot, polyglot_image, variant):
    instance_id, path, source = COMPILED_CHEATS[variant]
    task = polyglot.task(instance_id)
    result = polyglot.grade(task, cheat(task, {path: source}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "early exit" in result.reason


@pytest.mark.docker
@pytest.mark.slow
def test_cpp_static_initializer_exiting_0(polyglot, polyglot_image):
    task = polyglot.task("cpp__gcd")
    source = ('#include "gcd.h"\n#include <cstdlib>\n\n'
              'static int quit = (std::exit(0), 0);\n\n'
              'namespace gcd {\nint gcd(int a, int b) { return a + b; }\n}\n')
    result = polyglot.grade(task, cheat(task, {"gcd.cpp": source}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "early exit" in result.reason


REWRITE_LATER_TESTS = '''import pathlib as _pathlib

# Rewrite a test file that pytest has not imported yet, so that its asserts always hold.
try:
    _later = _pathlib.Path(__file__).resolve().parent.parent / "tests" / "test_schedule.py"
    _later.write_text(_later.read_text().replace("assert ", "assert True or "))
except OSError:
    pass
'''


@pytest.mark.docker
def test_solution_rewriting_test_files_on_disk(local, agent_image):
    # The tests run as a user who can read the tree but not change it.
    task = local.task("swe-cronlite-2")
    init = (task.repo_dir / "cronlite" / "__init__.py").read_text()
    result = local.grade(task, cheat(task, {"cronlite/__init__.py": REWRITE_LATER_TESTS + init}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "FAIL_TO_PASS" in result.reason
