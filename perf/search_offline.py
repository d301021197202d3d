"""The selectors ranked on the real loop: every selector on the offline landscape, several seeds.

Each (selector, seed) is one `agentforge evolve` of examples/offline-landscape.toml (real
sandboxes, the scripted model over HTTP, finalists re-scored on held-out tasks) under the
same iteration budget. The seed is the run's `seed`: it draws the parents, the operators and
the task order (so the validation sample, and with it the landscape's model file, which this
script writes per seed). Every selector runs the same seeds, so differences are paired.

Prints one row per run, then per selector, with bootstrap 95% intervals over seeds: the
held-out score of the pick (report.json's best), how many picks hold every real skill, and
the validation evaluations and tokens spent before the pick was made; then each selector
against the first (paired differences and ratios), and each operator's gain per cost.

    python perf/search_offline.py --out runs/search --seeds 5 --iterations 20 --jobs 2
    python perf/search_offline.py --out runs/search --no-run   # the table of runs on disk
    python perf/search_offline.py --describe runs/search/dgm/seed-1   # one run's archive
    python perf/search_offline.py --against REF --iterations 12   # wall time beside REF

`--against REF` times what a user waits for, with REF's code and with this tree's at the
same moment (two runs side by side, so the machine's load hits both alike): the offline
demo, then a landscape run of `--iterations` (each tree's own example config and model,
seed 1), `--rounds` times; it prints each pair's walls and their ratio. With `--apart` the
two run one at a time instead (the wall a user waits for on an otherwise idle machine; two
runs side by side share its cores, so the one that ends first hands the other the machine),
the first of each pair alternating (ABBA over two rounds) so a drift in the load hits both.

Resumable: a run with report.json is done and kept; a run left unfinished (the table was
killed) continues with `evolve --resume`; the others start. Logs: OUT/SELECTOR/seed-N.log.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bootstrap import bootstrap  # noqa: E402
from offline_archive import RunFigures, describe, run_figures  # noqa: E402
from revision import build_images, checkout, short, tree_env  # noqa: E402

from agentforge.evolve.rundir import RunDir  # noqa: E402
from agentforge.examples.offline_landscape import main as write_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "offline-landscape.toml"
SELECTORS = ["dgm", "hgm", "greedy", "random"]
START_GAP_S = 20.0
"""Seconds between the starts of runs side by side."""


def say(line: str) -> None:
    """A progress line, timestamped, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def model_file(out: Path, seed: int) -> Path:
    """The landscape's model for this seed's validation sample (written once)."""
    path = out / "models" / f"seed-{seed}.json"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(sys.stderr):  # its "wrote N rules" line: progress
            write_model(["--config", str(CONFIG), "--set", f"seed={seed}", "--out", str(path)])
    return path


def run_one(out: Path, selector: str, seed: int, iterations: int, extra: list[str]) -> float:
    """Start or continue one run until report.json; returns the wall seconds of this call."""
    run_dir = out / selector / f"seed-{seed}"
    if RunDir(run_dir).exists():
        command = ["evolve", "--resume", str(run_dir)]
    else:
        spec = f"scripted:{model_file(out, seed)}"
        sets = [f"selection.name={selector}", f"budget.max_iterations={iterations}",
                f"seed={seed}", f"llm.diagnose.spec={spec}", f"llm.agent.spec={spec}", *extra]
        command = ["evolve", "--config", str(CONFIG), "--run-dir", str(run_dir),
                   *[a for s in sets for a in ("--set", s)]]
    started = time.monotonic()
    with (out / selector / f"seed-{seed}.log").open("a") as log:
        done = subprocess.run([sys.executable, "-m", "agentforge", *command, "--quiet"],
                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - started
    walls = out / selector / f"seed-{seed}.wall"  # summed over the calls that ran it
    before = float(walls.read_text()) if walls.is_file() else 0.0
    walls.write_text(f"{before + wall:.1f}\n")
    if done.returncode != 0 or not RunDir(run_dir).report_file.is_file():
        raise RuntimeError(f"{selector} seed {seed} ended without report.json (exit "
                           f"{done.returncode}): see {log.name}; run the table again to resume")
    return wall


def run_table(out: Path, plan: list[tuple[str, int]], iterations: int, extra: list[str],
              jobs: int, retries: int = 1) -> None:
    """Every planned run not finished yet, `jobs` at a time, with progress lines; a run that
    ends without its report is resumed up to `retries` more times."""
    todo = [(s, n) for s, n in plan if not RunDir(out / s / f"seed-{n}").report_file.is_file()]
    say(f"{len(plan) - len(todo)} of {len(plan)} runs already finished; {len(todo)} to run, "
        f"{jobs} at a time, in {out}")
    for selector, seed in todo:
        (out / selector).mkdir(parents=True, exist_ok=True)
        model_file(out, seed)  # before any run starts: runs of one seed share it
    finished = threading.Event()
    running: set[tuple[str, int]] = set()
    starts = threading.Lock()

    def one(item: tuple[str, int]) -> None:
        selector, seed = item
        running.add(item)
        try:
            for attempt in range(retries + 1):
                with starts:  # runs starting at one moment each clean the engine up at once
                    time.sleep(START_GAP_S if len(running) > 1 else 0)
                say(f"{'start' if attempt == 0 else 'resume'} {selector} seed {seed}")
                try:
                    wall = run_one(out, selector, seed, iterations, extra)
                    figures = run_figures(out / selector / f"seed-{seed}")
                except Exception as exc:  # one run's failure is reported; the others go on
                    say(f"FAILED {selector} seed {seed}: {exc}")
                    continue
                say(f"done {selector} seed {seed} in {wall:.0f} s: pick node {figures.pick}, "
                    f"held-out {_score(figures.pick_held_out)}, skills "
                    f"{'+'.join(figures.pick_skills) or 'none'}")
                return
        finally:
            running.discard(item)

    watcher = threading.Thread(target=_watch, args=(out, running, finished), daemon=True)
    watcher.start()
    with ThreadPoolExecutor(max(jobs, 1)) as pool:
        list(pool.map(one, todo))
    finished.set()


def _watch(out: Path, running: set[tuple[str, int]], finished: threading.Event) -> None:
    """Every minute: how far each running run is (its iterations and finished evaluations)."""
    while not finished.wait(60):
        parts = []
        for selector, seed in sorted(running):
            rundir = RunDir(out / selector / f"seed-{seed}")
            if not rundir.exists():
                continue
            try:
                store = rundir.open_store()
                try:
                    run_id = rundir.run_id(store)
                    done = len(store.list_evaluations(run_id, finished=True))
                    parts.append(f"{selector}/{seed}: iteration "
                                 f"{store.get_run(run_id).iterations}, {done} evaluations")
                finally:
                    store.close()
            except Exception:  # noqa: BLE001  a run being created: next minute
                continue
        if parts:
            say("running " + "; ".join(parts))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _interval(values: list, statistic=statistics.fmean, fmt: str = ".2f") -> str:
    mean, low, high = bootstrap(values, random.Random(0), statistic)
    return f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def print_table(results: dict[tuple[str, int], RunFigures], walls: dict, selectors: list[str],
                seeds: list[int]) -> None:
    """Per run, per selector (bootstrap over seeds), paired against the first selector."""
    print("selector seed nodes invalid copies grown pick held-out real evals-to-pick "
          "tokens-to-pick evals topped tokens wall-s skills")
    for (selector, seed), f in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        wall = walls.get((selector, seed))
        print(f"{selector:8} {seed:4} {f.nodes:5} {f.invalid:7} {f.copies:6} {f.grown:5} "
              f"{str(f.pick):>4} "
              f"{_score(f.pick_held_out):>8} {'yes' if f.holds_every_real_skill else 'no':>4} "
              f"{f.evaluations_to_pick:14} {f.tokens_to_pick:14} {f.evaluations:5} "
              f"{f.topped_up:6} {f.tokens:6} {'-' if wall is None else format(wall, '.0f'):>6} "
              f"{'+'.join(f.pick_skills) or 'none'}")
    print("\nper selector, mean [bootstrap 95% interval over seeds]")
    for selector in selectors:
        runs = [results[selector, s] for s in seeds if (selector, s) in results]
        if not runs:
            continue
        real = sum(f.holds_every_real_skill for f in runs)
        print(f"{selector:8} {len(runs)} seeds: held-out of the pick "
              f"{_interval([f.pick_held_out or 0.0 for f in runs])}; every real skill "
              f"{real}/{len(runs)}; evals to pick "
              f"{_interval([f.evaluations_to_pick for f in runs], fmt='.0f')}; tokens to pick "
              f"{_interval([f.tokens_to_pick for f in runs], fmt='.0f')}; evals in all "
              f"{statistics.fmean(f.evaluations for f in runs):.0f}")
    base = selectors[0]
    for selector in selectors[1:]:
        pairs = [(results[selector, s], results[base, s]) for s in seeds
                 if (selector, s) in results and (base, s) in results]
        if not pairs:
            continue
        held = [(m.pick_held_out or 0.0) - (b.pick_held_out or 0.0) for m, b in pairs]
        print(f"{selector} vs {base} ({len(pairs)} paired seeds): held-out of the pick "
              f"{_interval(held, fmt='+.2f')}; evals to pick, ratio of sums "
              f"{_interval(pairs, _ratio('evaluations_to_pick'))}; tokens to pick "
              f"{_interval(pairs, _ratio('tokens_to_pick'))}")
    print("\nselector operator         children valid   gain    tokens  seconds  gain/Mcost "
          "(summed over seeds)")
    for selector in selectors:
        for op, rows in sorted(_operators(results, selector).items()):
            print(f"{selector:8} {op:16} {sum(s.children for s in rows):8} "
                  f"{sum(s.valid for s in rows):5} {sum(s.gain for s in rows):6.2f} "
                  f"{sum(s.tokens for s in rows):9} {sum(s.seconds for s in rows):8.0f} "
                  f"{statistics.fmean(s.gain_per_cost for s in rows):12.3f}")


def _ratio(field: str):
    def ratio(pairs) -> float:
        below = sum(getattr(b, field) for _, b in pairs)
        return sum(getattr(m, field) for m, _ in pairs) / below if below else float("nan")
    return ratio


def _operators(results: dict, selector: str) -> dict[str, list]:
    rows: dict[str, list] = {}
    for (name, _), figures in results.items():
        if name == selector:
            for op, stats in figures.operators.items():
                rows.setdefault(op, []).append(stats)
    return rows


WALL_IMAGES = ["agent-runtime", "toolchains"]  # what the bundled suite's evaluations run in


def timed_evolve(tree: Path, config: str, run_dir: Path, sets: list[str]) -> float:
    """One `agentforge evolve` with `tree`'s code, from start to exit; wall seconds."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "agentforge", "evolve", "--config", config,
               "--run-dir", str(run_dir), "--quiet", *[a for s in sets for a in ("--set", s)]]
    started = time.monotonic()
    with run_dir.with_suffix(".log").open("w") as log:
        done = subprocess.run(command, cwd=tree, env=tree_env(tree), stdout=log,
                              stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"{config} with {tree} failed (exit {done.returncode}): see "
                           f"{run_dir.with_suffix('.log')}")
    return time.monotonic() - started


def wall_against(ref: str, out: Path, iterations: int, rounds: int, apart: bool) -> None:
    """The demo and a landscape run, REF's and this tree's side by side (or one at a time);
    walls and ratios."""
    commit, here = short(ref), short("HEAD")
    runs = [("offline demo", "examples/offline-demo.toml", []),
            (f"landscape, {iterations} iterations", "examples/offline-landscape.toml",
             [f"budget.max_iterations={iterations}", "seed=1"])]
    print(f"load at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min); "
          f"{commit} against this tree (HEAD {here}, with its working changes), "
          f"{'one at a time' if apart else 'side by side'}")
    rows = []
    with checkout(commit, WALL_IMAGES) as base:
        build_images(ROOT, WALL_IMAGES)
        for index in range(rounds):
            for name, config, sets in runs:
                slug = f"{config.split('/')[-1].removesuffix('.toml')}-{index + 1}"
                trees = {"theirs": (base, out / commit / slug),
                         "ours": (ROOT, out / "this-tree" / slug)}
                walls: dict[str, float] = {}
                if apart:  # one at a time, the first alternating: ABBA over two rounds
                    say(f"{name}, round {index + 1}: {commit} and this tree one at a time")
                    for who in (["theirs", "ours"] if index % 2 == 0 else ["ours", "theirs"]):
                        walls[who] = timed_evolve(trees[who][0], config, trees[who][1], sets)
                else:
                    say(f"{name}, round {index + 1}: {commit} and this tree side by side")
                    with ThreadPoolExecutor(2) as pool:
                        started = {who: pool.submit(timed_evolve, tree, config, run_dir, sets)
                                   for who, (tree, run_dir) in trees.items()}
                        walls = {who: future.result() for who, future in started.items()}
                rows.append((name, index + 1, walls["theirs"], walls["ours"]))
                say(f"{name}: {rows[-1][2]:.0f} s with {commit}, {rows[-1][3]:.0f} s here")
    print(f"\n{'run':28} {'round':>5} {commit + ' s':>12} {'this tree s':>12} {'ratio':>6}")
    for name, index, theirs_s, ours_s in rows:
        print(f"{name:28} {index:5} {theirs_s:12.0f} {ours_s:12.0f} {ours_s / theirs_s:6.2f}")
    print(f"load at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "search-offline",
                        help="where the runs live (a table run again continues here)")
    parser.add_argument("--selectors", nargs="+", default=SELECTORS,
                        help="the first is the one the others are paired against")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N for every selector")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side")
    parser.add_argument("--retries", type=int, default=1,
                        help="times a run that ended without its report is resumed again")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="extra config override for every new run (KEY=VALUE)")
    parser.add_argument("--no-run", action="store_true", help="only the table of runs on disk")
    parser.add_argument("--describe", type=Path, metavar="RUN_DIR",
                        help="print the shape of this run's archive and run nothing")
    parser.add_argument("--against", metavar="REF",
                        help="time the demo and a landscape run beside REF's code instead")
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs for --against")
    parser.add_argument("--apart", action="store_true",
                        help="--against runs one at a time (what a user waits for on an "
                             "otherwise idle machine), the first alternating per round")
    args = parser.parse_args()
    if args.against:
        wall_against(args.against, args.out / "against", args.iterations, args.rounds,
                     args.apart)
        return
    if args.describe:
        print("\n".join(describe(args.describe)))
        return
    seeds = list(range(1, args.seeds + 1))
    plan = [(selector, seed) for seed in seeds for selector in args.selectors]
    if not args.no_run:
        run_table(args.out, plan, args.iterations, args.sets, args.jobs, args.retries)
    results, walls = {}, {}
    for selector, seed in plan:
        run_dir = args.out / selector / f"seed-{seed}"
        if RunDir(run_dir).report_file.is_file():
            results[selector, seed] = run_figures(run_dir)
            wall_file = run_dir.parent / f"seed-{seed}.wall"
            walls[selector, seed] = float(wall_file.read_text()) if wall_file.is_file() else None
    missing = len(plan) - len(results)
    budgets = sorted({RunDir(args.out / sel / f"seed-{seed}").load_config().budget.max_iterations
                      for sel, seed in results}, key=str)
    print(f"iterations per run: {', '.join(map(str, budgets)) or '-'}; {len(results)} of "
          f"{len(plan)} runs finished{f', {missing} missing' if missing else ''}; in {args.out}")
    print_table(results, walls, args.selectors, seeds)


if __name__ == "__main__":
    main()
