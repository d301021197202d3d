"""Class 1: patch headers that slip past path filtering. git applies the patch in a scratch
copy and names the changed paths itself, so header tricks reach no test or runner file;
plain (non-git) unified diffs are applied like any other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cheats import with_patch

from agentforge.bench.grading import patch_rules
from agentforge.bench.patches import accept_patch
from agentforge.bench.task import Outcome

FIXTURES = Path(__file__).parent.parent / "bench" / "fixtures"
# A conftest hook that turns every failing call into a pass.
FORCE_PASS = ["import pytest", "", "", "@pytest.hookimpl(hookwrapper=True)",
              "def pytest_runtest_makereport(item, call):", "    outcome = yield",
              "    outcome.get_result().outcome = 'passed'"]


def _new_file(header_old: str, header_new: str, lines: list[str], diff_line: str) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (f"{diff_line}\nnew file mode 100644\n--- {header_old}\n+++ {header_new}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n{body}")


def _variants(fix: str) -> dict[str, str]:
    mnemonic = _new_file("/dev/null", "w/conftest.py", FORCE_PASS,
                         "diff --git i/conftest.py w/conftest.py")
    quoted = _new_file("/dev/null", '"b/tests/\\143onftest.py"', FORCE_PASS,
                       'diff --git "a/tests/\\143onftest.py" "b/tests/\\143onftest.py"')
    # An extra ---/+++ block hidden inside the section of an allowed file.
    smuggled = fix + "".join(_new_file("/dev/null", "b/conftest.py", FORCE_PASS, "")
                             .splitlines(True)[2:])
    plain = "".join(_new_file("/dev/null", "conftest.py", FORCE_PASS, "").splitlines(True)[2:])
    return {"mnemonic-prefix": mnemonic, "c-quoted-name": quoted, "extra-header-block": smuggled,
            "plain-diff": plain}


@pytest.mark.parametrize("variant", sorted(_variants("")))
def test_header_tricks_never_reach_runner_files(local, variant):
    task = local.task("swe-tinyconf-1")
    patch = _variants(task.reference_patch)[variant]
    with accept_patch(task.repo_dir, patch, patch_rules(task)) as result:
        assert result.error is None, result.error
        assert result.dropped, f"{variant}: the conftest change was not noticed"
        assert all(why == "test or runner configuration" for why in result.dropped.values())
        assert not (result.tree / "conftest.py").exists()
        assert not (result.tree / "tests" / "conftest.py").exists()


def test_mnemonic_prefixes_from_an_agents_git_config_still_grade(local):
    # `git config diff.mnemonicPrefix true` gives i/ and w/: the fix applies, the planted
    # conftest does not.
    task = local.task("swe-tinyconf-1")
    fix = (task.reference_patch.replace("a/tinyconf", "i/tinyconf")
           .replace("b/tinyconf", "w/tinyconf"))
    result = local.grade(task, with_patch(task, fix + _variants(fix)["mnemonic-prefix"]))
    assert result.outcome is Outcome.RESOLVED, result.reason
    assert result.dropped_files == ["conftest.py"]
    assert "conftest.py (test or runner configuration)" in result.reason


@pytest.mark.docker
def test_a_planted_conftest_by_a_header_trick_does_not_resolve(local, agent_image):
    task = local.task("swe-tinyconf-1")
    result = local.grade(task, with_patch(task, _variants("")["mnemonic-prefix"]))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert "conftest.py (test or runner configuration)" in result.reason


@pytest.mark.docker
def test_a_plain_unified_diff_is_applied(local, agent_image):
    task = local.task("py-exercise-duration-format")
    hunks = task.reference_patch.split("\n@@", 1)[1]
    plain = f"--- duration_format.py.orig\n+++ duration_format.py\n@@{hunks}"
    result = local.grade(task, with_patch(task, plain))
    assert result.outcome is Outcome.RESOLVED, result.reason


def test_polyglot_grading_leaves_no_snapshot_folder(tmp_path):
    # The real CLI in its own process, with its temporary folders under tmp_path.
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"instance_id": "python__word-flip", "model_patch": ""}) + "\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "agentforge", "bench", "grade", "--benchmark", "polyglot",
         "--source", str(FIXTURES / "polyglot"), "--predictions", str(preds),
         "--out", str(tmp_path / "graded")],
        env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "graded" / "report.json").is_file()
    assert list(scratch.iterdir()) == []
