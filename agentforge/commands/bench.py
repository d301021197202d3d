"""`agentforge bench`: list benchmarks, run an agent on one, grade predictions, fetch data."""

from __future__ import annotations

import functools
import json
import subprocess
import uuid
from contextlib import nullcontext
from pathlib import Path

import typer

from agentforge.bench import BenchError, benchmark_names, get_benchmark
from agentforge.bench.named_lists import coverage_warning, named_lists
from agentforge.bench.protocol import BenchDataMissing
from agentforge.bench.report import build_report, read_predictions, write_predictions, write_report
from agentforge.bench.run import RunOptions, dump_results, grade_predictions, run_benchmark

app = typer.Typer(help="Benchmarks: list, run an agent, grade predictions.", no_args_is_help=True)

BENCHMARK = typer.Option(..., "--benchmark", "-b", help="local, polyglot or swebench.")
TEST_TIMEOUT_OPTION = typer.Option(
    None, "--test-timeout", help="Polyglot: seconds per test run (default 180 as in Aider's "
    "harness; DGM's grades under 120).")
SOURCE = typer.Option(
    None, "--source", help="Data: a polyglot-benchmark checkout, a SWE-bench JSON/JSONL file "
    "or dataset name, or another local suite folder (default: the bundled one).",
)


def _source_hint(command):
    """A command whose benchmark data is missing says that --source gives it."""

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BenchDataMissing as exc:
            raise BenchDataMissing(f"{exc}; give its location with --source") from exc

    return wrapped


@app.command("list")
@_source_hint
def list_benchmarks(
    benchmark: str = typer.Option(None, "--benchmark", "-b", help="Only this benchmark."),
    source: Path = SOURCE,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show each benchmark's subsets and splits (task counts) and, for every named list, its
    size, its source and how many of its ids the loaded data holds."""
    listing = {}
    for name in [benchmark] if benchmark else benchmark_names():
        listing[name] = _describe(name, source if benchmark else None, strict=bool(benchmark))
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    for name, info in listing.items():
        typer.echo(_render(name, info))


def _describe(name: str, source: Path | None, strict: bool) -> dict:
    """One benchmark's subsets, splits and named lists (with coverage when data is loaded)."""
    info: dict = {}
    if name == "swebench" and source is None:
        # Listing must not reach the Hugging Face hub: show the named lists, load rows on use.
        info = {"note": "rows load on use from --source FILE.jsonl or a dataset name",
                "subsets": {"full": "all rows"},
                "splits": {"validation": "~2/3 of the rows", "held_out": "~1/3, by a hash of "
                           "the id", "all": "every row"}}
    else:
        try:
            bench = get_benchmark(name, source=source)
            subsets = bench.subsets()
            info = {"subsets": {k: len(v) for k, v in subsets.items()},
                    "splits": {k: len(v) for k, v in bench.splits().items()},
                    "loaded": subsets["full"]}
        except BenchError as exc:
            if strict:
                raise
            info = {"unavailable": str(exc)}
    loaded = info.pop("loaded", None)
    lists = named_lists(name) if name in ("swebench", "polyglot") else {}
    info["lists"] = {
        list_name: {"size": listed.size, "source": listed.source,
                    "description": listed.description,
                    "loaded": None if loaded is None else len(listed.select(loaded))}
        for list_name, listed in lists.items()}
    if "subsets" in info and loaded is None:
        info["subsets"].update({k: v.size or "rows not in the lists" for k, v in lists.items()})
    return info


def _render(name: str, info: dict) -> str:
    lines = [name]
    if "unavailable" in info:
        lines = [f"{name}: unavailable here — {info['unavailable']}"]
    if "note" in info:
        lines = [f"{name}: {info['note']}"]
    if "subsets" in info:
        lines.append("  subsets: " + ", ".join(f"{k} ({n})" for k, n in info["subsets"].items()))
        lines.append("  splits:  " + ", ".join(f"{k} ({n})" for k, n in info["splits"].items()))
    if info["lists"]:
        lines.append("  named lists (size; loaded here; source):")
    for list_name, row in info["lists"].items():
        size = row["size"] if row["size"] is not None else "rest"
        loaded = "not loaded" if row["loaded"] is None else (
            f"{row['loaded']} loaded" if row["size"] is None else
            f"{row['loaded']}/{row['size']} loaded")
        lines.append(f"    {list_name:<22} {size:>4}  {loaded:<14} {row['source']}")
    return "\n".join(lines)


@app.command()
@_source_hint
def run(
    benchmark: str = BENCHMARK,
    agent: str = typer.Option(
        ..., "--agent", help="Agent directory (agent.toml), e.g. archive/base, or RUN_DIR@NODE "
        "(a node id or best)."),
    out: Path = typer.Option(
        ..., "--out", help="Output folder: preds.jsonl, report.json, trajectories/."),
    model: str = typer.Option(
        None, "--model", help="Model spec for the gateway (openai:NAME, vllm:NAME, scripted:PATH); "
        "omit only for agents that call no model."),
    subset: str = typer.Option(None, "--subset", help="Named subset (see `bench list`)."),
    split: str = typer.Option(None, "--split", help="validation or held_out."),
    source: Path = SOURCE,
    instance_ids: list[str] = typer.Option(None, "--instance-id", "-i", help="Only these tasks."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Tasks run at the same time."),
    attempts: int = typer.Option(1, "--attempts", min=1, max=2,
                                 help="2 = pass@2 (polyglot): one retry with the test output."),
    agent_timeout: float = typer.Option(1800, "--agent-timeout", help="Seconds per agent attempt."),
    test_timeout: float = TEST_TIMEOUT_OPTION,
) -> None:
    """Run an agent on each task in sandboxes; write preds.jsonl, report.json, trajectories."""
    options = {"attempts": attempts} if attempts != 1 else {}
    bench = get_benchmark(benchmark, source=source,
                          **options, **_timeout_option(benchmark, test_timeout))
    tasks = bench.tasks(subset, split)
    warning = coverage_warning(benchmark, subset, bench.subsets()["full"])
    if warning:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    if instance_ids:
        tasks = [bench.task(i) for i in instance_ids]
    if not tasks:
        raise BenchError(f"no tasks selected from {benchmark}; see `agentforge bench list`")
    from agentforge.evolve.rundir.agent_ref import resolve_runnable_agent

    agent_dir = resolve_runnable_agent(agent)[0].path
    run_options = RunOptions(agent_dir=agent_dir, model_name=model or agent_dir.name,
                             agent_timeout=agent_timeout, out_dir=out)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    if model:
        from agentforge.commands.bench_gateway import gateway_for_run

        access = gateway_for_run(model, out, run_id)
    else:
        access = nullcontext(None)
    with access as grants:
        results, predictions = run_benchmark(bench, tasks, run_options, workers=workers,
                                             grants=grants)
    write_predictions(out / "preds.jsonl", predictions)
    _finish(out, [t.instance_id for t in tasks], predictions, results,
            metric=f"pass@{bench.max_attempts}")


@app.command()
@_source_hint
def grade(
    benchmark: str = BENCHMARK,
    predictions: Path = typer.Option(..., "--predictions", "-p", help="preds.jsonl (or .json)."),
    out: Path = typer.Option(..., "--out", help="Output folder: report.json, logs/."),
    source: Path = SOURCE,
    subset: str = typer.Option(None, "--subset", help="Count totals over this subset."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Tasks graded at the same time."),
    test_timeout: float = TEST_TIMEOUT_OPTION,
) -> None:
    """Grade existing predictions without running any agent."""
    bench = get_benchmark(benchmark, source=source, **_timeout_option(benchmark, test_timeout))
    preds = read_predictions(predictions)
    results = grade_predictions(bench, preds, workers=workers, log_dir=out / "logs")
    _finish(out, [t.instance_id for t in bench.tasks(subset)], preds, results,
            metric="the pass@k of the run that wrote the predictions")


@app.command()
def fetch(
    benchmark: str = typer.Argument(..., help="polyglot"),
    dest: Path = typer.Option(None, "--dest", help="Where to clone (default: the cache)."),
) -> None:
    """Clone a benchmark's data into the cache (needs the internet)."""
    if benchmark != "polyglot":
        raise BenchError(
            f"`bench fetch` knows polyglot only; SWE-bench rows load by dataset name or file "
            f"through --source, and {benchmark!r} needs no fetch")
    from agentforge.bench.polyglot import CACHE_DIR, REPOSITORY

    target = dest or CACHE_DIR
    if (target / ".git").is_dir():
        typer.echo(f"already fetched: {target} (git -C {target} pull to update)")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, str(target)])
    if done.returncode != 0:
        raise BenchError(f"cloning {REPOSITORY} failed; check the internet connection, or "
                         f"clone it elsewhere and pass --source DIR")
    typer.echo(f"fetched {REPOSITORY} into {target}")


def _timeout_option(benchmark: str, test_timeout: float | None) -> dict:
    if test_timeout is None:
        return {}
    if benchmark != "polyglot":
        raise BenchError(f"--test-timeout is a polyglot option; {benchmark} sets its own limits")
    return {"test_timeout": test_timeout}


def _finish(out: Path, task_ids, predictions, results, metric: str) -> None:
    report = build_report(task_ids, predictions, results)
    # Polyglot numbers differ by kind: Aider's headline is pass@2 (a retry that saw the test
    # output), DGM reports pass@1; a figure must say which it is.
    report["metric"] = metric
    path = write_report(out, report)
    dump_results(out / "results.jsonl", results)
    typer.echo(
        f"resolved {report['resolved_instances']}/{report['total_instances']} ({metric}; "
        f"unresolved {report['unresolved_instances']}, empty {report['empty_patch_instances']}, "
        f"errors {report['error_instances']}); report: {path}"
    )
