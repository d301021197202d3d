"""Does the grader agree with the plain toolchains on a Polyglot checkout?

For every exercise of the chosen languages (default: those the toolchains image holds,
Python and Go) it grades, through the benchmark's own `grade`:

- the reference solution (`.meta/example*` as the solution files): must resolve;
- the no-op (the untouched stub, graded as if the agent had submitted it): must not;

and runs the same two trees independently, in a fresh sandbox with the plain command a
person would type (`pytest`, `go test ./...`; `polyglot_languages.toml`), where only the
exit code counts. The independent run shares no grading code: the tree is copied from the
checkout by this script, no patch is applied, no runner, plugin or report is used.

    agentforge bench fetch polyglot    # clones it into ~/.cache/agentforge/polyglot-benchmark
    python scripts/polyglot_agreement.py --source ~/.cache/agentforge/polyglot-benchmark \
        [--languages python,go] [--workers 2] [--ids go__counter,go__two-bucket] [--json out.json]

The checkout is read only when the script runs (nothing here or in the tests needs it);
the figures in agentforge/bench/README.md are at its commit 7e0611e.

Prints, per language, agreement on references and on no-ops, and every disagreement with
the grader's reason; the exit code is 1 when any reference does not resolve or any no-op
that the plain toolchain fails resolves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from agentforge.bench import get_benchmark
from agentforge.bench.grading import grade_in_sandbox
from agentforge.bench.images import resolve_task_image
from agentforge.bench.polyglot import language_table
from agentforge.bench.task import Outcome, Prediction, Task
from agentforge.sandbox import Sandbox, SandboxConfig

TOOLCHAINS_LANGUAGES = ("python", "go")
PLAIN_ENV = {"HOME": "/tmp", "GOCACHE": "/tmp/go-cache", "GOPATH": "/tmp/go-path",
             "GOPROXY": "off", "POLYGLOT_JS_MODULES": "/opt/polyglot-js/node_modules"}


@dataclass
class Row:
    """One exercise: the grader's and the plain toolchain's verdicts on both trees."""

    instance_id: str
    language: str
    reference_graded: str
    reference_reason: str
    reference_plain: bool
    noop_graded: str
    noop_reason: str
    noop_plain: bool
    seconds: float

    @property
    def reference_agrees(self) -> bool:
        return (self.reference_graded == Outcome.RESOLVED) == self.reference_plain

    @property
    def noop_agrees(self) -> bool:
        return (self.noop_graded == Outcome.RESOLVED) == self.noop_plain


def plain_tree(folder: Path, task: Task, reference: bool, into: Path) -> Path:
    """The exercise as a person would test it: everything but .meta/.docs, with the
    examples copied over the solution files for the reference."""
    tree = into / "tree"
    shutil.copytree(folder, tree, ignore=shutil.ignore_patterns(".meta", ".docs", ".git"))
    if reference:
        config = json.loads((folder / ".meta" / "config.json").read_text())["files"]
        solution, examples = config["solution"], config.get("example", [])
        pairs = list(zip(solution, examples, strict=False)) if len(solution) == len(examples) \
            else [(s, e) for s in solution for e in examples if Path(s).name == Path(e).name]
        for target, example in pairs:
            shutil.copy2(folder / example, tree / target)
    return tree


def plain_passes(task: Task, tree: Path, timeout: float) -> bool:
    """The language's plain test command in a fresh sandbox: exit code 0 or not."""
    config = SandboxConfig(image=resolve_task_image(task.image), workdir="/workspace",
                           writable_paths=["/workspace", "/task"], memory="3g",
                           pids_limit=1024, timeout=timeout,
                           labels={"agentforge.role": "plain-check"})
    with Sandbox(config) as box:
        box.copy_in(tree, "/workspace")
        done = box.exec(["/bin/sh", "-c", task.check.test_command], timeout=timeout,
                        env=PLAIN_ENV)
    return done.exit_code == 0 and not done.timed_out


def check(bench, source: Path, task: Task, timeout: float) -> Row:
    """Grade and plainly run one exercise's reference and no-op."""
    start = time.monotonic()
    language, exercise = task.instance_id.split("__", 1)
    folder = source / language / "exercises" / "practice" / exercise
    reference = bench.grade(task, Prediction(instance_id=task.instance_id,
                                             model_patch=task.reference_patch or ""))
    noop = grade_in_sandbox(task, Prediction(instance_id=task.instance_id), run_empty=True)
    verdicts = []
    for is_reference in (True, False):
        with tempfile.TemporaryDirectory(prefix="agreement-") as scratch:
            tree = plain_tree(folder, task, is_reference, Path(scratch))
            verdicts.append(plain_passes(task, tree, timeout))
    return Row(task.instance_id, language, reference.outcome.value, reference.reason,
               verdicts[0], noop.outcome.value, noop.reason, verdicts[1],
               round(time.monotonic() - start, 1))


def summary(rows: list[Row]) -> tuple[list[str], bool]:
    """Printed lines per language, and whether every reference resolved and no no-op the
    plain toolchain fails resolved."""
    lines, ok = [], True
    for language in sorted({row.language for row in rows}):
        mine = [row for row in rows if row.language == language]
        n = len(mine)
        resolved = sum(row.reference_graded == Outcome.RESOLVED for row in mine)
        ref_agree = sum(row.reference_agrees for row in mine)
        noop_fail = sum(row.noop_graded != Outcome.RESOLVED for row in mine)
        noop_agree = sum(row.noop_agrees for row in mine)
        plain_noop_pass = [row.instance_id for row in mine if row.noop_plain]
        lines.append(f"{language:<11} exercises {n:>3}  references resolved {resolved}/{n} "
                     f"(agreement {ref_agree}/{n})  no-ops failing {noop_fail}/{n} "
                     f"(agreement {noop_agree}/{n})")
        if plain_noop_pass:
            lines.append(f"{'':<11} no-ops a plain run passes too: {', '.join(plain_noop_pass)}")
        ok &= resolved == n and all(row.noop_graded != Outcome.RESOLVED or row.noop_plain
                                    for row in mine)
    for row in rows:
        if not row.reference_agrees:
            lines.append(f"DISAGREE reference {row.instance_id}: graded {row.reference_graded} "
                         f"({row.reference_reason}); plain "
                         f"{'passes' if row.reference_plain else 'fails'}")
        if not row.noop_agrees:
            lines.append(f"DISAGREE no-op {row.instance_id}: graded {row.noop_graded} "
                         f"({row.noop_reason}); plain {'passes' if row.noop_plain else 'fails'}")
    return lines, ok


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a polyglot checkout")
    parser.add_argument("--languages", default=",".join(TOOLCHAINS_LANGUAGES))
    parser.add_argument("--ids", default="", help="comma-separated instance ids only")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args()
    languages = [name for name in args.languages.split(",") if name]
    unknown = set(languages) - set(language_table())
    if unknown:
        parser.error(f"unknown languages {sorted(unknown)}; known: {sorted(language_table())}")
    bench = get_benchmark("polyglot", source=args.source, languages=languages,
                          test_timeout=args.timeout)
    ids = [i for i in bench.subsets()["full"]
           if not args.ids or i in args.ids.split(",")]
    tasks = [bench.task(i) for i in ids]
    here = Path(__file__).resolve().parent.parent
    print(f"polyglot checkout {_git('rev-parse', 'HEAD', cwd=args.source)[:12]}, "
          f"agentforge {_git('rev-parse', 'HEAD', cwd=here)[:12]}, {len(tasks)} exercises, "
          f"{args.workers} workers, load before {os.getloadavg()[0]:.1f}", flush=True)
    start = time.monotonic()
    with ThreadPoolExecutor(args.workers) as pool:
        rows = []
        for row in pool.map(lambda task: check(bench, args.source, task, args.timeout), tasks):
            rows.append(row)
            print(f"  {row.instance_id:<36} reference {row.reference_graded:<10} plain "
                  f"{'pass' if row.reference_plain else 'fail'}  no-op {row.noop_graded:<10} "
                  f"plain {'pass' if row.noop_plain else 'fail'}  {row.seconds:>5.0f}s",
                  flush=True)
    lines, ok = summary(rows)
    print(f"\n{time.monotonic() - start:.0f} s, load after {os.getloadavg()[0]:.1f}")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
