"""Aider's Polyglot benchmark: <language>/exercises/practice/<exercise>/ with .meta/config.json.

The agent sees the solution files (and the build files needed to compile them); tests,
examples and .meta stay hidden. Before grading every file but the solution files is put
back from the originals, so editing tests or build files gains nothing. The language's own
test command decides by its exit code, within `test_timeout` seconds (180 by default, as
Aider's benchmark.py: `timeout = 60 * 3`; DGM's polyglot/harness.py grades under `timeout 120`).
pass@1 by default (what DGM reports); pass@2 retries once with the test output (attempts=2,
Aider's headline number).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
import weakref
from functools import cached_property
from pathlib import Path

from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.named_lists import named_lists
from agentforge.bench.patches import diff_files
from agentforge.bench.protocol import BenchDataMissing, BenchError, TaskCatalog
from agentforge.bench.split import hash_split
from agentforge.bench.task import Check, CheckKind, Prediction, Task, TaskResult

LANGUAGES = ("python", "go", "rust", "javascript", "cpp", "java")
CACHE_DIR = Path.home() / ".cache" / "agentforge" / "polyglot-benchmark"
REPOSITORY = "https://github.com/Aider-AI/polyglot-benchmark"
_HIDDEN_DIRS = (".meta", ".docs")
_SKIP_PARTS = {".git", "node_modules", "target", "build", ".gradle", "__pycache__"}
TEST_TIMEOUT = 180.0
"""Seconds one test run may take: Aider's benchmark.py gives 180 (`timeout = 60 * 3`), so a
solution that needs longer fails there and must fail here too (DGM's harness: 120)."""


def language_table() -> dict[str, dict]:
    """Image and test command per language, from polyglot_languages.toml."""
    return tomllib.loads((Path(__file__).parent / "polyglot_languages.toml").read_text())


class PolyglotBenchmark(TaskCatalog):
    """The six-language Exercism benchmark Aider and DGM use; ids are `<language>__<exercise>`."""

    name = "polyglot"

    def __init__(
        self, source: Path | None = None, attempts: int = 1, languages: list[str] | None = None,
        test_timeout: float = TEST_TIMEOUT,
    ) -> None:
        self.source = Path(source) if source is not None else CACHE_DIR
        if not self.source.is_dir():
            raise BenchDataMissing(
                f"no polyglot-benchmark checkout at {self.source} (`agentforge bench fetch "
                f"polyglot` clones one, on a machine with internet)"
            )
        if attempts not in (1, 2):
            raise BenchError(f"polyglot supports pass@1 or pass@2, got attempts={attempts}")
        self.max_attempts = attempts
        if not test_timeout > 0:
            raise BenchError(f"polyglot test_timeout must be positive seconds, got {test_timeout}")
        self.test_timeout = float(test_timeout)
        self.languages = languages or list(LANGUAGES)
        self._snapshots = Path(tempfile.mkdtemp(prefix="agentforge-polyglot-"))
        # The visible snapshots live as long as this object (and never past the process).
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._snapshots, True)

    @cached_property
    def _tasks(self) -> dict[str, Task]:
        table = language_table()
        found: dict[str, Task] = {}
        for language in self.languages:
            practice = self.source / language / "exercises" / "practice"
            if not practice.is_dir():
                continue
            exercises = (p for p in practice.iterdir() if (p / ".meta/config.json").is_file())
            for folder in sorted(exercises):
                task = self._load(language, folder, table[language])
                found[task.instance_id] = task
        if not found:
            raise BenchError(
                f"{self.source} holds no exercises (<language>/exercises/practice/<name>/"
                f".meta/config.json for {', '.join(self.languages)}); is it a polyglot checkout?"
            )
        return found

    def _load(self, language: str, folder: Path, rules: dict) -> Task:
        files = json.loads((folder / ".meta" / "config.json").read_text()).get("files", {})
        solution, tests = files.get("solution", []), files.get("test", [])
        if not solution or not tests:
            raise BenchError(f"{folder}/.meta/config.json lists no solution or test files")
        instance_id = f"{language}__{folder.name}"
        everything = [
            p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*"))
            if p.is_file() and not _SKIP_PARTS.intersection(p.relative_to(folder).parts)
        ]
        hidden = set(tests) | set(files.get("example", [])) | set(files.get("invalidator", []))
        visible = [
            rel for rel in everything
            if rel not in hidden and rel.split("/")[0] not in _HIDDEN_DIRS
        ]
        snapshot = self._snapshots / instance_id
        for rel in visible:
            (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / rel, snapshot / rel)
        # Everything that is not a solution file comes back from the originals at grading.
        restored = [
            rel for rel in everything
            if rel not in solution and rel.split("/")[0] not in _HIDDEN_DIRS
            and rel not in set(files.get("example", []))
        ]
        return Task(
            instance_id=instance_id,
            benchmark=self.name,
            problem_statement=_instructions(folder, language, solution),
            repo_dir=snapshot,
            hidden_tests_dir=folder,
            hidden_tests=restored,
            protected_files=restored,
            visible_files=solution,
            image=rules["image"],
            language=language,
            reference_patch=_reference_patch(folder, solution, files.get("example", [])),
            check=Check(
                kind=CheckKind.EXIT_CODE,
                test_command=rules["test_command"].strip().replace("{tests}", " ".join(tests)),
                timeout=self.test_timeout,
            ),
            metadata={"exercise": folder.name, "test_files": tests},
        )

    def subsets(self) -> dict[str, list[str]]:
        """`full`, one subset per language, and the named lists (DGM's; only loaded ids)."""
        ids = list(self._tasks)
        subsets = {"full": ids}
        for language in self.languages:
            subsets[language] = [i for i in ids if i.startswith(f"{language}__")]
        for name, listed in named_lists(self.name).items():
            subsets[name] = listed.select(ids)
        return subsets

    def splits(self) -> dict[str, list[str]]:
        """A stable hash split (about 2/3 validation, 1/3 held out), and `all`: every task,
        for runs that must evaluate a reference's list whole."""
        ids = list(self._tasks)
        return {**hash_split(ids), "all": ids}

    def prepare(self, task: Task) -> Task:
        """Nothing to do: the snapshot is already on the host."""
        return task

    def grade(self, task: Task, prediction: Prediction) -> TaskResult:
        """Grade in a fresh sandbox: originals restored, the language's test command decides."""
        return grade_in_sandbox(task, prediction)


def _instructions(folder: Path, language: str, solution: list[str]) -> str:
    docs = folder / ".docs"
    parts = [
        (docs / name).read_text()
        for name in ("introduction.md", "instructions.md", "instructions.append.md")
        if (docs / name).is_file()
    ]
    files = ", ".join(f"`{s}`" for s in solution)
    parts.append(
        f"Write the solution in {files} ({language}). Use only the standard library. "
        "Keep the existing function and type names: hidden tests call them."
    )
    return "\n\n".join(p.strip() for p in parts) + "\n"


def _reference_patch(folder: Path, solution: list[str], examples: list[str]) -> str | None:
    if not examples:
        return None
    pairs = list(zip(solution, examples, strict=False)) if len(solution) == len(examples) else [
        (s, e) for s in solution for e in examples if Path(s).name == Path(e).name
    ]
    changes = {
        sol: ((folder / sol).read_text() if (folder / sol).is_file() else None,
              (folder / ex).read_text())
        for sol, ex in pairs if (folder / ex).is_file()
    }
    return diff_files(changes) or None
