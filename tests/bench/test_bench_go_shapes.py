"""Go expected tests follow what a plain `go test` compiles: build constraints, file names,
and exercises whose hidden tests define no test function (Polyglot's `counter` shape)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentforge.bench import get_benchmark, go_build
from agentforge.bench.go_grading import GO_PACKAGES, GoRunner
from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.task import Outcome, Prediction

SOURCE = Path(__file__).parent / "fixtures" / "polyglot-go-shapes"
HEADER = "package p\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n"


@pytest.mark.parametrize(("rel", "header", "builds"), [
    ("a_test.go", "//go:build bonus\n// +build bonus\n\n", False),
    ("a_test.go", "//go:build !bonus\n\n", True),
    ("a_test.go", "// +build bonus\n\n", False),
    ("a_test.go", "// +build linux,!cgo\n\n", True),
    ("a_test.go", "// +build windows darwin\n\n", False),
    ("a_test.go", "// Copyright\n\n//go:build step1 || (!step2 && !step3)\n\n", True),
    ("a_test.go", "//go:build step2 && !step1\n\n", False),
    ("a_test.go", "//go:build go1.18 && (linux || windows)\n\n", True),
    ("a_test.go", "//go:build go1.99\n\n", False),
    ("a_test.go", "/* a block\n//go:build never\n*/\n", True),
    ("a_windows_test.go", "", False),
    ("a_linux_test.go", "", True),
    ("a_linux_arm64be_test.go", "", False),
    ("linux_test.go", "", True),
    ("_a_test.go", "", False),
])
def test_build_constraints_decide_which_test_files_count(rel, header, builds):
    assert go_build.builds(rel, header + HEADER) is builds


def test_constraints_below_the_package_clause_do_not_count():
    assert go_build.builds("a_test.go", HEADER + "\n//go:build never\n")


def test_test_function_names_follow_go_test():
    source = ("func TestA(t *testing.T) {}\nfunc Testing(t *testing.T) {}\n"
              "func TestB_bonus(tt *testing.T) {}\nfunc helper(t *testing.T) {}\n")
    assert go_build.test_functions(source) == ["TestA", "TestB_bonus"]


def test_expected_tests_leave_out_a_build_tagged_bonus():
    task = get_benchmark("polyglot", source=SOURCE).task("go__jug-pour")
    assert GoRunner().expected(task) == ["TestPours"]


def test_hidden_tests_without_test_functions_expect_the_packages_to_build_and_run():
    task = get_benchmark("polyglot", source=SOURCE).task("go__line-tally")
    assert GoRunner().expected(task) == [GO_PACKAGES]


@pytest.mark.docker
def test_reference_of_the_tagged_exercise_resolves_and_its_stub_fails(toolchains_image):
    bench = get_benchmark("polyglot", source=SOURCE)
    task = bench.task("go__jug-pour")
    reference = bench.grade(task, Prediction(instance_id=task.instance_id,
                                             model_patch=task.reference_patch))
    assert reference.outcome is Outcome.RESOLVED, reference.reason + reference.test_output
    stub = grade_in_sandbox(task, Prediction(instance_id=task.instance_id), run_empty=True)
    assert stub.outcome is Outcome.UNRESOLVED, stub.reason


@pytest.mark.docker
def test_an_exercise_without_tests_resolves_what_builds_and_fails_what_does_not(
        toolchains_image):
    # As a plain `go test` does: it has nothing to run, so only the build can fail.
    bench = get_benchmark("polyglot", source=SOURCE)
    task = bench.task("go__line-tally")
    reference = bench.grade(task, Prediction(instance_id=task.instance_id,
                                             model_patch=task.reference_patch))
    assert reference.outcome is Outcome.RESOLVED, reference.reason + reference.test_output
    broken = task.reference_patch.replace("got != 2", "got != undefinedName")
    result = bench.grade(task, Prediction(instance_id=task.instance_id, model_patch=broken))
    assert result.outcome is Outcome.UNRESOLVED, result.reason


def test_the_grader_calls_each_expected_test_through_its_reporter():
    task = get_benchmark("polyglot", source=SOURCE).task("go__jug-pour")
    plan = GoRunner().plan(task)
    renamed = plan.repo_files["jug_pour_test.go"].decode()
    assert "func agentforge_TestPours(t *testing.T)" in renamed
    assert "func TestPours(" not in renamed
    guard = plan.repo_files["zz_agentforge_guard_test.go"].decode()
    assert 'func TestPours(t *testing.T) { agentforgeRun(t, "TestPours", agentforge_TestPours) }' \
        in guard
    assert "package jugpour" in guard and '[]string{"TestPours"}' in guard
    assert "bonus_test.go" not in plan.repo_files  # not compiled: left as it is
    assert plan.prepare.startswith("mkdir -p /task/gotest && { go test -c -o /task/gotest/0.test")
