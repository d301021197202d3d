"""Class 4: SWE-bench model patches that plant a conftest or patch pytest's report objects,
graded in the locally built stand-in instance image by swebench's own eval script."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentforge.bench import get_benchmark
from agentforge.bench.patches import diff_files
from agentforge.bench.swebench_adapter import instance_image
from agentforge.bench.task import Outcome, Prediction

sys.path.append(str(Path(__file__).parent.parent / "bench"))
from swebench_rows import GOLD, row, write_rows  # noqa: E402

STANDIN = Path(__file__).parent.parent / "bench" / "fixtures" / "swebench" / "standin"
CALC = (STANDIN / "testbed" / "calc" / "__init__.py").read_text()
INSTANCE = "agentforge__calc-1"
OWN_PYTHONPATH = "agentforge__calc-2"
FORCE_PASS = ("import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
              "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
              "    report = outcome.get_result()\n"
              "    report.outcome, report.longrepr = 'passed', None\n")
REPORT_PATCH = ("from _pytest.reports import TestReport\n\n_init = TestReport.__init__\n\n\n"
                "def _passing(self, *args, **kwargs):\n    _init(self, *args, **kwargs)\n"
                "    self.outcome, self.longrepr = 'passed', None\n\n\n"
                "TestReport.__init__ = _passing\n")
FORGED = ("import os\n\nprint('PASSED tests/test_calc.py::test_mean')\n"
          "print('PASSED tests/test_calc.py::test_add')\nos._exit(0)\n")
CHEATS = {
    "conftest at the root": ({"conftest.py": FORCE_PASS}, "conftest.py (test or runner"),
    "conftest under tests": ({"tests/conftest.py": FORCE_PASS}, "tests/conftest.py (test or"),
    "report objects patched": ({"calc/__init__.py": REPORT_PATCH + "\n\n" + CALC},
                               "runner tampering"),
    "forged PASSED lines": ({"calc/__init__.py": CALC + "\n\n" + FORGED}, "early exit"),
}


@pytest.fixture(scope="module")
def swebench(agent_image, docker_engine, tmp_path_factory):
    """The SWE-bench adapter on one stand-in row, its image built locally."""
    docker_engine.images.build(
        path=str(STANDIN), tag=instance_image(INSTANCE), buildargs={"BASE_IMAGE": agent_image},
        rm=True, forcerm=True, pull=False,
        labels={"agentforge.image": "swebench-standin", "agentforge.files-hash": "none"})
    rows = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    # A second row whose eval script sets its own PYTHONPATH (as some repositories' do).
    own_path = row(OWN_PYTHONPATH, instance_image(INSTANCE))
    own_path["eval_script"] = own_path["eval_script"].replace(
        "python -m pytest", "export PYTHONPATH=/testbed\npython -m pytest")
    write_rows(rows, [row(INSTANCE, instance_image(INSTANCE)), own_path])
    return get_benchmark("swebench", source=rows)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(CHEATS))
def test_swebench_cheats_do_not_resolve(swebench, variant):
    files, reason = CHEATS[variant]
    changes = {path: (CALC if path == "calc/__init__.py" else None, text)
               for path, text in files.items()}
    task = swebench.task(INSTANCE)
    result = swebench.grade(task, Prediction(instance_id=INSTANCE,
                                             model_patch=diff_files(changes)))
    assert result.outcome is Outcome.UNRESOLVED, result.reason
    assert reason in result.reason


@pytest.mark.docker
@pytest.mark.slow
def test_the_gold_patch_still_resolves_under_the_guard(swebench):
    task = swebench.task(INSTANCE)
    result = swebench.grade(task, Prediction(instance_id=INSTANCE, model_patch=GOLD))
    assert result.outcome is Outcome.RESOLVED, result.reason + result.test_output
    assert result.dropped_files == []


@pytest.mark.docker
@pytest.mark.slow
def test_the_guard_loads_when_the_eval_script_sets_pythonpath(swebench):
    task = swebench.task(OWN_PYTHONPATH)
    gold = swebench.grade(task, Prediction(instance_id=OWN_PYTHONPATH, model_patch=GOLD))
    assert gold.outcome is Outcome.RESOLVED, gold.reason + gold.test_output
    forged = diff_files({"calc/__init__.py": (CALC, REPORT_PATCH + "\n\n" + CALC)})
    result = swebench.grade(task, Prediction(instance_id=OWN_PYTHONPATH, model_patch=forged))
    assert result.outcome is Outcome.UNRESOLVED and "runner tampering" in result.reason
