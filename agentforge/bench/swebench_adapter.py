"""SWE-bench through the `swebench` package (5.x): its loader, test specs, eval scripts,
log parsers and report logic; our hardened sandboxes with no network around them."""

from __future__ import annotations

import json
import tempfile
import time
from functools import cached_property
from pathlib import Path

from swebench.harness.constants import APPLY_PATCH_FAIL, START_TEST_OUTPUT
from swebench.harness.grading import get_eval_report
from swebench.harness.run_evaluation import GIT_APPLY_CMDS
from swebench.harness.utils import load_swebench_dataset, make_test_spec
from swebench.image_builder.constants import CONTAINER_WORKDIR

from agentforge.bench.images import resolve_task_image
from agentforge.bench.named_lists import named_lists
from agentforge.bench.protocol import BenchDataMissing, BenchError, TaskCatalog
from agentforge.bench.split import hash_split
from agentforge.bench.swebench_guard import (
    GUARD_REPORT,
    guard_env,
    guard_verdict,
    install_guard,
    put_back_rejected,
    worktree_state,
)
from agentforge.bench.task import Check, CheckKind, Outcome, Prediction, Task, TaskResult
from agentforge.errors import AgentforgeError
from agentforge.sandbox import Sandbox, SandboxConfig

DEFAULT_DATASET = "SWE-bench/SWE-bench_Verified"
ARCH = "x86_64"
PATCH_FILE = "/task/patch.diff"
EVAL_FILE = "/task/eval.sh"
# The agent's commands run in the instance container through the exec channel; instance
# images keep the repo's environment in the conda env `testbed`, which their eval scripts
# activate the same way. Images without conda (our stand-in) skip it.
EXEC_PRELUDE = ("if [ -f /opt/miniconda3/bin/activate ]; then "
                ". /opt/miniconda3/bin/activate testbed >/dev/null 2>&1; fi")


def instance_image(instance_id: str, namespace: str = "swebench", tag: str = "latest") -> str:
    """The published image name of an instance (`__` becomes `_1776_`, as Docker Hub needs)."""
    key = f"sweb.eval.{ARCH}.{instance_id}:{tag}"
    return (f"{namespace}/{key}".replace("__", "_1776_") if namespace else key).lower()


class SWEBenchBenchmark(TaskCatalog):
    """SWE-bench rows from a dataset name or a local .json/.jsonl/.parquet file."""

    name = "swebench"

    def __init__(self, source: Path | None = None, split: str = "test",
                 namespace: str = "swebench", attempts: int = 1) -> None:
        self.dataset = str(source) if source is not None else DEFAULT_DATASET
        self.dataset_split = split
        self.namespace = namespace
        self.max_attempts = attempts

    @cached_property
    def rows(self) -> dict[str, dict]:
        """The dataset rows by instance id, through swebench's own loader."""
        try:
            rows = load_swebench_dataset(self.dataset, self.dataset_split)
        except Exception as exc:  # the loader raises anything from HTTP errors to KeyError
            raise BenchDataMissing(
                f"cannot load SWE-bench rows from {self.dataset!r} ({type(exc).__name__}: {exc}); "
                f"its source must be a local .json/.jsonl file, or a dataset name on a machine "
                f"that reaches the Hugging Face hub"
            ) from exc
        return {row["instance_id"]: dict(row) for row in rows}

    @cached_property
    def _tasks(self) -> dict[str, Task]:
        return {i: self._task(row) for i, row in self.rows.items()}

    def _task(self, row: dict) -> Task:
        row.setdefault("image", instance_image(row["instance_id"], self.namespace))
        spec = self.test_spec(row)
        return Task(
            instance_id=row["instance_id"],
            benchmark=self.name,
            problem_statement=row["problem_statement"],
            image=spec.image,
            agent_image="agent-runtime",
            workdir=CONTAINER_WORKDIR,
            reference_patch=row.get("patch"),
            check=Check(kind=CheckKind.SWEBENCH, timeout=1800,
                        fail_to_pass=spec.FAIL_TO_PASS, pass_to_pass=spec.PASS_TO_PASS),
            metadata={"repo": row.get("repo"), "version": row.get("version"),
                      "exec_prelude": EXEC_PRELUDE},
        )

    def test_spec(self, row: dict):
        """swebench's TestSpec for a row (its eval script, parser and test lists)."""
        try:
            return make_test_spec(row)
        except KeyError as exc:
            raise BenchError(
                f"SWE-bench row {row.get('instance_id')!r} lacks {exc}: swebench 5.x rows carry "
                f"image, eval_script, log_parser and eval_type; use a 5.x dataset export"
            ) from exc

    def subsets(self) -> dict[str, list[str]]:
        """full and the named lists of lists/swebench/ (ids missing from the rows dropped)."""
        ids = list(self.rows)
        return {"full": ids, **{name: listed.select(ids)
                                for name, listed in named_lists(self.name).items()}}

    def splits(self) -> dict[str, list[str]]:
        """A stable hash split (about 2/3 validation, 1/3 held out), and `all`: every row,
        for runs that must evaluate a reference's list whole."""
        ids = list(self.rows)
        return {**hash_split(ids), "all": ids}

    def prepare(self, task: Task) -> Task:
        """Nothing to copy: the repo stays at /testbed in the instance image, where the agent's
        tools act on it through an exec channel (bench/agent_run.py)."""
        return task

    def grade(self, task: Task, prediction: Prediction) -> TaskResult:
        """Apply the patch in a fresh instance container, run swebench's eval script, and
        let swebench's log parser and report logic decide."""
        start = time.monotonic()
        if not (prediction.model_patch or "").strip():
            return TaskResult(instance_id=task.instance_id, outcome=Outcome.EMPTY_PATCH,
                              reason="empty patch: the agent changed nothing")
        try:
            result = self._grade(task, prediction)
        except AgentforgeError as exc:
            result = TaskResult(instance_id=task.instance_id, outcome=Outcome.ERROR,
                                reason=f"sandbox error: {exc}")
        result.duration = time.monotonic() - start
        return result

    def _grade(self, task: Task, prediction: Prediction) -> TaskResult:
        spec = self.test_spec(self.rows[task.instance_id])
        with Sandbox(_instance_config(task, resolve_task_image(task.image))) as box:
            box.write_files("/task", {"patch.diff": prediction.model_patch or ""})
            before = worktree_state(box, CONTAINER_WORKDIR)
            applied = _apply(box)
            if applied is not None:
                return TaskResult(instance_id=task.instance_id, outcome=Outcome.ERROR,
                                  reason=f"patch does not apply: {applied}")
            # Tests and runner configuration come from the instance, never from the patch.
            dropped = put_back_rejected(box, CONTAINER_WORKDIR, before)
            box.write_files("/task", {"eval.sh": spec.eval_script}, mode=0o755)
            guard = guard_env(spec.eval_script)
            if guard:
                install_guard(box, CONTAINER_WORKDIR, EXEC_PRELUDE)
            done = box.exec(["/bin/bash", EVAL_FILE], timeout=task.check.timeout,
                            workdir=CONTAINER_WORKDIR, env=guard)
            guard_report = _read_guard_report(box) if guard else None
        if done.timed_out:
            return TaskResult(instance_id=task.instance_id, outcome=Outcome.ERROR,
                              reason=f"tests timed out after {task.check.timeout:.0f}s",
                              test_output=done.output[-6000:])
        with tempfile.TemporaryDirectory(prefix="agentforge-swebench-log-") as tmp:
            log = Path(tmp) / "test_output.txt"
            log.write_text(done.output)
            pred = {**prediction.model_dump(), "model_name_or_path": prediction.model_name_or_path}
            report = get_eval_report(spec, pred, str(log), include_tests_status=True)
        result = _result_from_report(task.instance_id, report[task.instance_id], done.output)
        if guard and result.outcome in (Outcome.RESOLVED, Outcome.UNRESOLVED):
            contradiction = guard_verdict(guard_report,
                                          [*spec.FAIL_TO_PASS, *spec.PASS_TO_PASS])
            if result.resolved and contradiction is not None:
                result.outcome, result.reason = Outcome.UNRESOLVED, contradiction
            elif contradiction and contradiction.startswith(("early exit", "runner tampering")):
                result.reason = f"{contradiction}; swebench: {result.reason}"
        result.dropped_files = sorted(dropped)
        if dropped:
            result.reason += " (ignored changes: " + ", ".join(
                f"{path} ({why})" for path, why in sorted(dropped.items())[:6]) + ")"
        return result


def _read_guard_report(box: Sandbox) -> bytes | None:
    try:
        return box.read_file(GUARD_REPORT, max_bytes=16 * 1024 * 1024)
    except AgentforgeError:
        return None


def _instance_config(task: Task, image: str) -> SandboxConfig:
    # SWE-bench images run as root and install into their own tree during eval scripts, so
    # the root filesystem stays writable; the rest of the hardening (no network, no
    # capabilities, limits) holds.
    return SandboxConfig(
        image=image, user="0:0", read_only_root=False, workdir=CONTAINER_WORKDIR,
        writable_paths=["/task"], memory="4g", cpus=1.0, pids_limit=2048,
        labels={"agentforge.role": "grade", "agentforge.task": task.instance_id[:60]},
        timeout=task.check.timeout,
    )


def _apply(box: Sandbox) -> str | None:
    """Try swebench's patch commands in order; None when one applied, else the last error."""
    last = ""
    for attempt, command in enumerate(GIT_APPLY_CMDS):
        if attempt:  # a failed attempt can leave partial state: start again from clean
            box.exec("git checkout -- . ; git clean -fdq", timeout=300)
        done = box.exec(f"{command} {PATCH_FILE}", timeout=300)
        if done.ok:
            return None
        last = done.output.strip().splitlines()[-1:] or [APPLY_PATCH_FAIL]
    if box.exec(f"git apply --check --reverse {PATCH_FILE}", timeout=300).ok:
        return None  # already applied
    return last[0][:300]


def _result_from_report(instance_id: str, report: dict, output: str) -> TaskResult:
    status = report.get("tests_status", {})
    if report.get("resolved"):
        outcome, reason = Outcome.RESOLVED, "all FAIL_TO_PASS and PASS_TO_PASS tests pass"
    elif not report.get("patch_successfully_applied"):
        why = report.get("infra_failure_reason") or (
            "no test output markers" if START_TEST_OUTPUT not in output else "unparseable log")
        outcome, reason = Outcome.UNRESOLVED, f"no usable test results: {why}"
    else:
        f2p = status.get("FAIL_TO_PASS", {}).get("failure", [])
        p2p = status.get("PASS_TO_PASS", {}).get("failure", [])
        parts = ([f"FAIL_TO_PASS not passing: {', '.join(f2p[:5])}"] if f2p else []) + (
            [f"PASS_TO_PASS broken: {', '.join(p2p[:5])}"] if p2p else [])
        outcome, reason = Outcome.UNRESOLVED, "; ".join(parts) or "not resolved"
    return TaskResult(instance_id=instance_id, outcome=outcome, reason=reason,
                      test_output=output[-6000:], details=json.loads(json.dumps(report)))
