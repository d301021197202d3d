"""Class 2: runner configuration planted by a patch. Only a task's solution files (exercises,
Polyglot) or anything but tests and runner configuration (repositories) is accepted, and the
framework runs pytest with its own ini file, rootdir and launcher, so a planted file that
slipped through would still be ignored."""

from __future__ import annotations

import pytest
from cheats import cheat

from agentforge.bench.grading import patch_rules
from agentforge.bench.patches import accept_patch
from agentforge.bench.task import Outcome

# A plugin that turns every failing test into a pass, if anything loads it.
FORCE_PASS = """import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome, report.longrepr = "passed", None
"""
ADDOPTS = "[pytest]\naddopts = -p forcepass\n"
REPOSITORY_VARIANTS = {
    ".pytest.ini": (".pytest.ini", ADDOPTS, "test or runner configuration"),
    "setup.cfg": ("setup.cfg", "[tool:pytest]\naddopts = -p forcepass\n",
                  "test or runner configuration"),
    "tests/pyproject.toml": ("tests/pyproject.toml",
                             '[tool.pytest.ini_options]\naddopts = "-p forcepass"\n',
                             "test or runner configuration"),
    "pytest.py": ("pytest.py", "import sys\nsys.exit(0)\n",
                  "shadows the module 'pytest' the runner imports"),
    "root __init__.py": ("__init__.py", "import forcepass\n",
                         "makes the repository root a package"),
    "sitecustomize.py": ("sitecustomize.py", "import os\nos._exit(0)\n",
                         "a sitecustomize module (the interpreter imports it at start-up)"),
}


@pytest.mark.docker
@pytest.mark.parametrize("variant", sorted(REPOSITORY_VARIANTS))
def test_planted_runner_configuration_in_a_repository(local, agent_image, variant):
    path, text, why = REPOSITORY_VARIANTS[variant]
    task = local.task("swe-tinyconf-1")
    result = local.grade(task, cheat(task, {path: text, "forcepass.py": FORCE_PASS}))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert f"{path} ({why})" in result.reason
    assert "FAIL_TO_PASS" in result.reason


@pytest.mark.docker
def test_go_workspace_and_test_main_are_not_solution_files(local, toolchains_image):
    task = local.task("go-exercise-word-wrap")
    result = local.grade(task, cheat(task, {
        "go.work": "go 1.19\n\nuse .\n",
        "zz_main_test.go": ("package wordwrap\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n"
                            "func TestMain(m *testing.M) { os.Exit(0) }\n"),
    }))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "go.work (not a solution file)" in result.reason
    assert "zz_main_test.go (not a solution file)" in result.reason


POLYGLOT_VARIANTS = {
    "javascript__shout": {"node_modules/.bin/jest": "#!/bin/sh\nexit 0\n",
                          "jest.config.js": "module.exports = { testMatch: ['**/none'] };\n"},
    "rust__square-sum": {
        ".cargo/config.toml": "[target.x86_64-unknown-linux-gnu]\nrunner = 'true'\n",
        "build.rs": 'fn main() { std::fs::write("tests/square-sum.rs", "").ok(); }\n'},
    "python__word-flip": {"conftest.py": FORCE_PASS, "pytest.ini": ADDOPTS},
    "go__hamming-lite": {"go.work": "go 1.19\n\nuse .\n"},
}


@pytest.mark.parametrize("instance_id", sorted(POLYGLOT_VARIANTS))
def test_polyglot_accepts_only_solution_files(polyglot, instance_id):
    task = polyglot.task(instance_id)
    planted = POLYGLOT_VARIANTS[instance_id]
    patch = cheat(task, planted).model_patch
    with accept_patch(task.repo_dir, patch, patch_rules(task)) as result:
        assert result.error is None, result.error
        assert result.dropped == dict.fromkeys(planted, "not a solution file")
        assert not any((result.tree / path).exists() for path in planted)


@pytest.mark.docker
@pytest.mark.slow
def test_a_planted_jest_does_not_resolve(polyglot, polyglot_image):
    task = polyglot.task("javascript__shout")
    result = polyglot.grade(task, cheat(task, POLYGLOT_VARIANTS["javascript__shout"]))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "node_modules/.bin/jest (not a solution file)" in result.reason
