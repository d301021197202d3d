"""Issue 26's classes: verdicts the tested code cannot write. Per-test outcomes go from each
fresh test process to the grader's driver as they happen (runner_files/outcome_driver.py),
so nothing the solution does to the guard's module, at exit, from a thread or process that
outlives the run, or by printing, changes them; collected tests must run their own code;
equality assertions do not believe the solution's `__eq__`; compiled code is refused."""

from __future__ import annotations

import py_compile
from pathlib import Path

import pytest
from cheats import binary_cheat, cheat
from forgers import (
    ALWAYS_EQUAL,
    FORGE,
    GUARD_DUMP,
    GUARD_RESULTS,
    GUARD_SWITCHED_OFF,
    PROCESS_AFTER_THE_RUN,
    REPORT_AT_EXIT,
    SWAP_BEFORE_COLLECTION,
    THREAD_AFTER_THE_RUN,
)

from agentforge.bench.task import Outcome

STUB = ('def format_duration(seconds):\n    raise NotImplementedError\n\n\n'
        'def parse_duration(text):\n    raise NotImplementedError\n')
ANSWERING = ('def format_duration(seconds):\n    return _answer()\n\n\n'
             'def parse_duration(text):\n    return _answer()\n')
EXERCISE_CLASSES = {
    "guard results made all-passing": (GUARD_RESULTS, STUB, "tests not passing"),
    "guard's dump at exit": (GUARD_DUMP, STUB, "tests not passing"),
    "guard switched off, own hook registered": (
        GUARD_SWITCHED_OFF, STUB, "hooks registered by code under test"),
    "complete report at interpreter exit": (REPORT_AT_EXIT, STUB, "tests not passing"),
    "report from a thread after the run": (THREAD_AFTER_THE_RUN, STUB, "tests not passing"),
    "tests swapped just before collection": (
        SWAP_BEFORE_COLLECTION, STUB, "was replaced: its code comes from the solution"),
    "always-equal objects, raising inside pytest.raises": (
        ALWAYS_EQUAL, ANSWERING, "tests not passing"),
}


@pytest.mark.docker
@pytest.mark.parametrize("variant", sorted(EXERCISE_CLASSES))
def test_an_exercise_cannot_write_its_own_verdict(local, agent_image, variant):
    payload, body, reason = EXERCISE_CLASSES[variant]
    task = local.task("py-exercise-duration-format")
    result = local.grade(task, cheat(task, {"duration_format.py": payload + "\n\n" + body}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert reason in result.reason


SWE_CLASSES = {
    "report from a process that outlives the run": (PROCESS_AFTER_THE_RUN, "FAIL_TO_PASS"),
    "tests swapped just before collection": (
        SWAP_BEFORE_COLLECTION, "was replaced: its code comes from the solution"),
    "complete report at interpreter exit": (REPORT_AT_EXIT, "FAIL_TO_PASS"),
}


@pytest.mark.docker
@pytest.mark.parametrize("variant", sorted(SWE_CLASSES))
def test_a_repository_fix_cannot_write_its_own_verdict(local, agent_image, variant):
    payload, reason = SWE_CLASSES[variant]
    task = local.task("swe-tinyconf-1")
    init = (task.repo_dir / "tinyconf" / "__init__.py").read_text()
    result = local.grade(task, cheat(task, {"tinyconf/__init__.py": payload + "\n" + init}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert reason in result.reason


SHADOW = '''
import importlib.util as _util, os as _os, sys as _sys, sysconfig as _sysconfig

# Load the real module in this one's place, so that the runner keeps working.
_spec = _util.spec_from_file_location(__name__, _os.path.join(
    _sysconfig.get_paths()["stdlib"], __name__ + ".py"))
_real = _util.module_from_spec(_spec)
_sys.modules[__name__] = _real
_spec.loader.exec_module(_real)
''' + FORGE + '''
import atexit as _atexit
_atexit.register(_forge)
'''


@pytest.mark.docker
def test_bytecode_shadowing_a_module_the_runner_imports_is_refused(local, agent_image,
                                                                      tmp_path):
    # pytest's debugging plugin imports pdb, and pdb imports cmd, after the repository is on
    # sys.path: a sourceless cmd.pyc at the root would run inside the test process.
    source = tmp_path / "cmd.py"
    source.write_text(SHADOW)
    compiled = Path(py_compile.compile(str(source), cfile=str(tmp_path / "cmd.pyc"),
                                       doraise=True)).read_bytes()
    task = local.task("swe-tinyconf-1")
    result = local.grade(task, binary_cheat(task, {"cmd.pyc": compiled}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "cmd.pyc (compiled code (Python bytecode))" in result.reason
    assert "FAIL_TO_PASS" in result.reason


GO_FORGED_REPORT = '''package wordwrap

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// Reads the test files at run time and prints a passing report with their test names.
func init() {
	fmt.Println("agentforge-go-tests-finished 0")
	files, _ := filepath.Glob("*_test.go")
	names := regexp.MustCompile(`(?m)^func (Test\\w*)\\(`)
	for _, file := range files {
		text, _ := os.ReadFile(file)
		for _, match := range names.FindAllStringSubmatch(string(text), -1) {
			fmt.Printf("=== RUN   %s\\n--- PASS: %s (0.00s)\\n", match[1], match[1])
		}
	}
	fmt.Println("PASS")
	os.Exit(0)
}

func Wrap(text string, width int) []string {
	panic("no")
}
'''


@pytest.mark.docker
def test_a_go_solution_printing_a_forged_report_does_not_resolve(local, toolchains_image):
    task = local.task("go-exercise-word-wrap")
    result = local.grade(task, cheat(task, {"wordwrap.go": GO_FORGED_REPORT}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "early exit" in result.reason
