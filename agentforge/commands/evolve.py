"""`agentforge evolve`: start, resume and finalize an evolution run."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from agentforge.errors import ConfigError

app = typer.Typer(help="Grow an archive of self-improving agents.", invoke_without_command=True)

SET = typer.Option(None, "--set", "-s", metavar="KEY=VALUE",
                   help="Override a config field, e.g. --set budget.max_iterations=5 (repeatable).")


@app.callback()
def evolve(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="Run configuration (TOML)."),
    run_dir: Path = typer.Option(None, "--run-dir", "-d", help="Directory of the new run."),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this directory."),
    overrides: list[str] = SET,
    finalize_at_end: bool = typer.Option(
        True, "--finalize/--no-finalize", help="Re-score finalists on held-out tasks at the end."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live progress lines."),
) -> None:
    """Start a run (--config FILE --run-dir DIR) or continue one (--resume DIR)."""
    if ctx.invoked_subcommand is not None:
        return
    from agentforge.evolve.config import load_run_config
    from agentforge.evolve.context import open_run

    overrides = list(overrides or [])
    if resume is not None:
        if config is not None or run_dir is not None:
            raise ConfigError("--resume DIR takes no --config/--run-dir: the run directory "
                              "holds its config (change fields with --set KEY=VALUE)")
        opened = open_run(resume, None, overrides)
        target = resume
    elif config is not None and run_dir is not None:
        opened = open_run(run_dir, load_run_config(config, overrides))
        target = run_dir
    else:
        typer.echo(ctx.get_help())
        raise ConfigError("give --config FILE.toml and --run-dir DIR to start a run, "
                          "or --resume DIR to continue one")
    typer.echo(f"watch it: agentforge web {target}", err=True)
    with opened as run:
        _run(run, finalize_at_end, quiet)
    typer.echo(f"status: agentforge status {target}")


def _run(run, finalize_at_end: bool, quiet: bool) -> None:
    from agentforge.evolve.finalize import finalize
    from agentforge.evolve.loop import EvolutionLoop

    typer.echo(f"run {run.run_id} in {run.rundir.path}: {len(run.validation)} validation, "
               f"{len(run.held_out)} held-out tasks; selection {run.config.selection.name}",
               err=True)
    from agentforge.commands.evolve_live import live_progress

    with live_progress(run, quiet=quiet, plain=_printer) as progress:
        report = EvolutionLoop(run, progress=progress).run()
    typer.echo(f"stopped: {report.stop_reason} ({report.iterations} iterations, "
               f"{report.evaluations} evaluations, {report.elapsed_s:.0f}s)", err=True)
    if report.stop_reason not in ("exhausted", "iterations"):
        typer.echo(f"not finalized; continue with: agentforge evolve --resume {run.rundir.path}",
                   err=True)
        return
    if finalize_at_end and run.config.finalize.enabled:
        _print_report(finalize(run))


def _printer(run):
    from agentforge.evolve.selection.base import NoParentAvailable, best_by_score

    last: list[str] = [""]

    def show(snapshot: dict) -> None:
        summaries = run.store.node_summaries(run.run_id)
        try:
            best = next(s for s in summaries if s.id == best_by_score(summaries))
            best_text = f"best {best.score:.2f} (node {best.id}, {best.evaluated_tasks} tasks)"
        except NoParentAvailable:
            best_text = "best -"
        spend = run.ledger.spend(run_id=run.run_id)
        valid = sum(1 for s in summaries if s.status.value in ("evaluating", "evaluated"))
        evaluating = ", ".join(f"{e['node_id']}:{e['task_id']}" for e in snapshot["evaluating"])
        line = (f"archive {len(summaries)} nodes ({valid} valid) | {best_text} | "
                f"spend ${spend.cost_usd:.4f}, {spend.tokens:,} tokens | "
                f"improving {snapshot['improving'] or '-'} | evaluating [{evaluating}]"
                f" +{snapshot['queued']} queued")
        if line != last[0]:
            last[0] = line
            typer.echo(f"[{time.strftime('%H:%M:%S')}] {line}", err=True)

    return show


def _print_report(report: dict) -> None:
    typer.echo(f"best node: {report['best_id']}")
    for row in report["finalists"]:
        val = "-" if row["validation_score"] is None else f"{row['validation_score']:.2f}"
        held = "-" if row["held_out_score"] is None else f"{row['held_out_score']:.2f}"
        typer.echo(f"  node {row['id']}: validation {val} ({row['validation_tasks']} tasks), "
                   f"held-out {held} ({row['held_out_tasks']} tasks)")


@app.command("finalize")
def finalize_command(run_dir: Path = typer.Argument(..., help="The run directory.")) -> None:
    """Re-score the run's top agents on the held-out split and write report.json."""
    from agentforge.evolve.context import open_run
    from agentforge.evolve.finalize import finalize

    with open_run(run_dir) as run:
        _print_report(finalize(run))
