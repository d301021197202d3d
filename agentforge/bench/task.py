"""The records that cross the bench seams: Task, Check, Prediction, TaskResult."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class CheckKind(StrEnum):
    """How a task decides success."""

    EXIT_CODE = "exit_code"
    """The test command's exit code decides (0 = resolved): exercises, Polyglot."""
    TEST_LISTS = "test_lists"
    """Every FAIL_TO_PASS and PASS_TO_PASS test must pass, read from the test log."""
    SWEBENCH = "swebench"
    """SWE-bench's own eval script, log parser and report logic decide."""


class Check(BaseModel):
    """The check that decides whether a task is resolved; run only by the grader."""

    model_config = ConfigDict(extra="forbid")

    kind: CheckKind
    """Which rule decides (see CheckKind)."""
    test_command: str = ""
    """Shell command run in the task's workdir after the hidden tests are in place."""
    timeout: float = Field(300.0, gt=0)
    """Seconds allowed for the test command."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment of the test command."""
    fail_to_pass: list[str] = Field(default_factory=list)
    """Tests that fail before the fix and must pass after it (TEST_LISTS, SWEBENCH)."""
    pass_to_pass: list[str] = Field(default_factory=list)
    """Tests that pass before the fix and must keep passing (TEST_LISTS, SWEBENCH)."""


class Task(BaseModel):
    """One SWE-bench-shaped task: a repo snapshot, a problem, hidden tests, a check, an image."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    """Unique id inside its benchmark (SWE-bench's `instance_id`; Polyglot: `go__bowling`)."""
    benchmark: str
    """Name of the benchmark in the registry (`local`, `polyglot`, `swebench`)."""
    problem_statement: str
    """What the agent is told: the issue text or the exercise instructions."""
    repo_dir: Path | None = None
    """Host folder holding the snapshot the agent sees; None when the image carries the repo."""
    hidden_tests_dir: Path | None = None
    """Host folder of hidden test files (paths relative to the repo root), copied in to grade."""
    hidden_tests: list[str] = Field(default_factory=list)
    """Relative paths of the hidden test files inside hidden_tests_dir."""
    protected_files: list[str] = Field(default_factory=list)
    """Repo paths (fnmatch globs) whose edits are put back before grading (tests, build files)."""
    visible_files: list[str] = Field(default_factory=list)
    """The solution files: when set, the only paths of a patch the grader accepts (empty:
    anything but tests and runner configuration; see bench/grading.py: patch_rules)."""
    image: str = "agent-runtime"
    """Where grading runs: our sandbox image name (sandboxes/<name>/) or an external reference."""
    agent_image: str | None = None
    """Where the agent runs, when not in `image`: on a copy of `repo_dir` at /workspace, or,
    with no `repo_dir` (SWE-bench), with its tools acting in a sandbox of `image` at `workdir`
    through an exec channel."""
    workdir: str = "/workspace"
    """Where the repo lives inside the sandbox."""
    check: Check
    """What decides success."""
    language: str = "python"
    """Programming language of the task (informational, used by subsets and reports)."""
    reference_patch: str | None = None
    """The reference solution as a git diff against the snapshot, when the benchmark has one."""
    metadata: dict = Field(default_factory=dict)
    """Adapter-specific data kept with the task (e.g. the SWE-bench row)."""


class Prediction(BaseModel):
    """One line of preds.jsonl, in SWE-bench's predictions format."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    model_name_or_path: str = "agentforge"
    model_patch: str | None = ""


class Outcome(StrEnum):
    """Where a task lands in report.json."""

    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    EMPTY_PATCH = "empty_patch"
    ERROR = "error"


class TaskResult(BaseModel):
    """How one task ended: its outcome, the reason in one line, and the evidence."""

    instance_id: str
    outcome: Outcome
    reason: str
    """One line a person can act on: why it resolved or why it did not."""
    test_output: str = ""
    """Tail of the test command's output (what pass@2 feeds back to the agent)."""
    duration: float = 0.0
    """Seconds spent grading (and running the agent, for `bench run`)."""
    dropped_files: list[str] = Field(default_factory=list)
    """Protected files the patch touched; their changes were dropped before grading."""
    attempts: int = 1
    """Agent attempts used (2 when pass@2 retried)."""
    details: dict = Field(default_factory=dict)
    """Adapter-specific evidence (SWE-bench: its per-instance report with tests_status)."""

    @property
    def resolved(self) -> bool:
        return self.outcome is Outcome.RESOLVED
