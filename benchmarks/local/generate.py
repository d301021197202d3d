"""Write benchmarks/local/tasks/ from benchmarks/local/sources/ (see benchmarks/README.md).

    python benchmarks/local/generate.py            # rewrite tasks/
    python benchmarks/local/generate.py --check    # exit 1 if tasks/ differs from a fresh build

Only the standard library (plus pytest, to derive FAIL_TO_PASS / PASS_TO_PASS) is needed, so
the script runs from a bare checkout. The output is byte-for-byte deterministic.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
TASKS = HERE / "tasks"
WORKDIR = "/workspace"
PYTEST = "python -m pytest"
GO_ENV = {"GOCACHE": "/tmp/go-cache", "GOPATH": "/tmp/go-path", "GOTOOLCHAIN": "local"}
# Plugins installed in an image (or on the host) must not change how tests run; skipping
# their discovery also makes each pytest start several times faster.
PYTHON_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
# pytest's -rA summary lines; the same outcome words SWE-bench's pytest parser reads.
_SUMMARY = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", re.MULTILINE)


class GenerationError(Exception):
    """A source task is inconsistent; the message names the task and what to fix."""


# ---------------------------------------------------------------- file helpers


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root as {posix relative path: bytes}, skipping caches."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and "__pycache__" not in rel and ".pytest_cache" not in rel:
            files[rel] = path.read_bytes()
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    """Write {relative path: bytes} under root."""
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def unified_patch(before: dict[str, bytes], after: dict[str, bytes]) -> str:
    """A `git diff`-style patch turning the `before` tree into the `after` tree."""
    chunks: list[str] = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        old_lines = (old or b"").decode().splitlines(keepends=True)
        new_lines = (new or b"").decode().splitlines(keepends=True)
        for text in (old_lines, new_lines):
            if text and not text[-1].endswith("\n"):
                raise GenerationError(f"{rel}: every file must end with a newline")
        chunks.append(f"diff --git a/{rel} b/{rel}\n")
        if old is None:
            chunks.append("new file mode 100644\n")
        elif new is None:
            chunks.append("deleted file mode 100644\n")
        from_name = f"a/{rel}" if old is not None else "/dev/null"
        to_name = f"b/{rel}" if new is not None else "/dev/null"
        chunks.extend(difflib.unified_diff(old_lines, new_lines, from_name, to_name, n=3))
    return "".join(chunks)


def toml_value(value: object) -> str:
    """TOML text of a str, int or list of str (JSON string escapes are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {toml_value(item)},\n" for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def task_toml(fields: dict[str, object], env: dict[str, str]) -> bytes:
    """The task.toml text: top-level fields in the documented order, then [env]."""
    lines = [f"{key} = {toml_value(value)}" for key, value in fields.items()]
    lines += ["", "[env]"] + [f"{key} = {toml_value(value)}" for key, value in env.items()]
    return ("\n".join(lines) + "\n").encode()


def task_fields(task_id: str, kind: str, language: str, difficulty: str, **rest) -> dict:
    """task.toml fields in the order benchmarks/README.md documents."""
    return {
        "id": task_id,
        "kind": kind,
        "language": language,
        "difficulty": difficulty,
        "image": "toolchains" if language == "go" else "agent-runtime",
        "workdir": WORKDIR,
        "visible_files": rest["visible_files"],
        "protected_files": rest["protected_files"],
        "hidden_tests": rest["hidden_tests"],
        "test_command": rest["test_command"],
        "test_timeout": rest.get("test_timeout", 120),
        "FAIL_TO_PASS": rest.get("fail_to_pass", []),
        "PASS_TO_PASS": rest.get("pass_to_pass", []),
    }


# ---------------------------------------------------------------- exercises


def build_exercise(source: Path) -> dict[str, bytes]:
    """One exercise task folder as {relative path: bytes}."""
    meta = tomllib.loads((source / "exercise.toml").read_text())
    stub, example, tests = (read_tree(source / name) for name in ("stub", "example", "tests"))
    language = meta["language"]
    unknown = set(example) - set(stub)
    if unknown:
        raise GenerationError(f"{source.name}: example/ files missing from stub/: {unknown}")
    hidden = sorted(tests)
    if language == "python":
        command, protected = f"{PYTEST} -q -p no:cacheprovider {' '.join(hidden)}", []
        env = dict(PYTHON_ENV)
    elif language == "go":
        command, protected, env = "go test ./...", ["go.mod"], dict(GO_ENV)
    else:
        raise GenerationError(f"{source.name}: language must be python or go, not {language!r}")
    fields = task_fields(
        source.name, "exercise", language, meta["difficulty"],
        visible_files=sorted(example), protected_files=protected, hidden_tests=hidden,
        test_command=command,
    )
    out = {"task.toml": task_toml(fields, env),
           "problem.md": (source / "instructions.md").read_bytes(),
           "solution.patch": unified_patch(stub, {**stub, **example}).encode()}
    out.update({f"repo/{rel}": data for rel, data in stub.items()})
    out.update({f"tests/{rel}": data for rel, data in tests.items()})
    return out


# ---------------------------------------------------------------- SWE-style tasks


def pytest_outcomes(files: dict[str, bytes]) -> dict[str, str]:
    """Run the repo's tests with pytest -rA on the host and return {node id: outcome}."""
    with tempfile.TemporaryDirectory(prefix="agentforge-gen-") as tmp:
        write_tree(Path(tmp), files)
        env = {**os.environ, **PYTHON_ENV, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "tests"],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=300,
        )
    outcomes = dict((node, word) for word, node in _SUMMARY.findall(proc.stdout))
    spaced = [line for line in proc.stdout.splitlines()
              if line.startswith("PASSED ") and len(line.split()) > 2]
    if spaced:
        # Graders read node ids as one word, as SWE-bench's log parser does.
        raise GenerationError(f"test ids must not contain spaces (use ids=...): {spaced}")
    if not outcomes:
        raise GenerationError(f"pytest reported no tests:\n{proc.stdout}\n{proc.stderr}")
    return outcomes


def apply_bug(repo: dict[str, bytes], bug: dict, where: str) -> dict[str, bytes]:
    """The fixed repo with each `fixed` text replaced by its `buggy` text (exactly once)."""
    buggy = dict(repo)
    for change in bug["bug"]:
        text = buggy[change["file"]].decode()
        count = text.count(change["fixed"])
        if count != 1:
            raise GenerationError(f"{where}: `fixed` occurs {count} times in {change['file']}")
        buggy[change["file"]] = text.replace(change["fixed"], change["buggy"]).encode()
    return buggy


def build_swe(repo_dir: Path, bug_file: Path) -> tuple[str, dict[str, bytes]]:
    """One SWE-style task (id, {relative path: bytes}) from a fixed repo and one bug file."""
    task_id = f"swe-{repo_dir.name}-{bug_file.stem}"
    bug = tomllib.loads(bug_file.read_text())
    fixed = read_tree(repo_dir / "repo")
    buggy = apply_bug(fixed, bug, task_id)
    hidden: dict[str, bytes] = {}
    for addition in bug["hidden_test"]:
        base = hidden.get(addition["file"], fixed.get(addition["file"], b"")).decode()
        code = textwrap.dedent(addition["code"]).strip("\n")
        hidden[addition["file"]] = (base.rstrip("\n") + "\n\n\n" + code + "\n").lstrip().encode()

    visible_failures = {n: o for n, o in pytest_outcomes(buggy).items() if o != "PASSED"}
    if visible_failures:
        raise GenerationError(f"{task_id}: the bug breaks visible tests: {visible_failures}")
    on_fixed = pytest_outcomes({**fixed, **hidden})
    not_passing = {n: o for n, o in on_fixed.items() if o != "PASSED"}
    if not_passing:
        raise GenerationError(f"{task_id}: tests fail on the fixed repo: {not_passing}")
    on_buggy = pytest_outcomes({**buggy, **hidden})
    fail_to_pass = sorted(n for n in on_fixed if on_buggy.get(n) != "PASSED")
    pass_to_pass = sorted(n for n in on_fixed if on_buggy.get(n) == "PASSED")
    if not fail_to_pass:
        raise GenerationError(f"{task_id}: the hidden tests pass on the buggy code")

    protected = sorted(rel for rel in fixed if rel.startswith("tests/") or
                       rel.endswith("conftest.py") or rel == "pyproject.toml")
    fields = task_fields(
        task_id, "swe", "python", bug["difficulty"],
        visible_files=[], protected_files=protected, hidden_tests=sorted(hidden),
        test_command=f"{PYTEST} -rA -p no:cacheprovider tests",
        fail_to_pass=fail_to_pass, pass_to_pass=pass_to_pass,
    )
    problem = f"# {bug['title']}\n\n{bug['issue'].strip()}\n"
    out = {"task.toml": task_toml(fields, dict(PYTHON_ENV)),
           "problem.md": problem.encode(),
           "solution.patch": unified_patch(buggy, fixed).encode()}
    out.update({f"repo/{rel}": data for rel, data in buggy.items()})
    out.update({f"tests/{rel}": data for rel, data in hidden.items()})
    return task_id, out


# ---------------------------------------------------------------- driver


def build_all() -> dict[str, dict[str, bytes]]:
    """Every task as {task id: {relative path: bytes}}."""
    tasks: dict[str, dict[str, bytes]] = {}
    for source in sorted((SOURCES / "exercises").iterdir()):
        if source.is_dir():
            tasks[source.name] = build_exercise(source)
    bugs = [(repo_dir, bug_file) for repo_dir in sorted((SOURCES / "swe").iterdir())
            for bug_file in sorted((repo_dir / "bugs").glob("*.toml"))]
    # Each SWE task runs pytest three times; the runs are independent processes.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for task_id, files in pool.map(lambda pair: build_swe(*pair), bugs):
            tasks[task_id] = files
    return tasks


def differences(tasks: dict[str, dict[str, bytes]], root: Path) -> list[str]:
    """Paths where root differs from the freshly built tasks (empty when identical)."""
    expected = {f"{tid}/{rel}": data for tid, files in tasks.items() for rel, data in files.items()}
    actual = read_tree(root) if root.is_dir() else {}
    return sorted(rel for rel in set(expected) | set(actual)
                  if expected.get(rel) != actual.get(rel))


def main(argv: list[str] | None = None) -> int:
    """Build every task; write tasks/ or, with --check, compare against it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    tasks = build_all()
    if args.check:
        diff = differences(tasks, TASKS)
        for rel in diff:
            print(f"differs: tasks/{rel}")
        if diff:
            print("tasks/ is stale or hand-edited: run python benchmarks/local/generate.py")
        return 1 if diff else 0
    shutil.rmtree(TASKS, ignore_errors=True)
    for task_id, files in tasks.items():
        write_tree(TASKS / task_id, files)
    print(f"wrote {len(tasks)} tasks to {TASKS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
