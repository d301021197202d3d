"""`agentforge evolve`: start, resume and finalize an evolution run."""

from __future__ import annotations

import json
import shutil
import time
import traceback
from pathlib import Path

import typer

from agentforge.errors import AgentforgeError, ConfigError

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
    seed: str = typer.Option(None, "--seed", metavar="RUN_DIR@NODE|DIR",
                             help="Root the new run at this agent (a node id or best of "
                                  "another run, or an agent folder); overrides seed_agent."),
    finalize_at_end: bool = typer.Option(
        True, "--finalize/--no-finalize", help="Re-score finalists on held-out tasks at the end."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live progress lines."),
) -> None:
    """Start a run (--config FILE --run-dir DIR) or continue one (--resume DIR)."""
    if ctx.invoked_subcommand is not None:
        return
    from agentforge.evolve.config import load_run_config
    from agentforge.evolve.loop.context import open_run
    from agentforge.evolve.rundir.lock import hold_run_lock
    from agentforge.progress import hushed

    overrides = list(overrides or [])
    if seed is not None:
        overrides.append(_seed_override(seed, resume))
    if resume is not None:
        if config is not None or run_dir is not None:
            raise ConfigError("--resume DIR takes no --config/--run-dir: the run directory "
                              "holds its config (change fields with --set KEY=VALUE)")
        target, run_config, created = resume, None, False
        if not resume.is_dir():
            raise ConfigError(f"{resume} does not exist: give the directory of a run "
                              "(agentforge evolve --config FILE --run-dir DIR starts one)")
    elif config is not None and run_dir is not None:
        target, run_config = run_dir, load_run_config(config, overrides)
        created = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        typer.echo(ctx.get_help())
        raise ConfigError("give --config FILE.toml and --run-dir DIR to start a run, "
                          "or --resume DIR to continue one")
    started = False
    # The lock comes first: a resume rewrites config.json, and two processes would run the
    # same evaluations twice.
    try:
        with hushed(quiet), hold_run_lock(target, say=lambda line: typer.echo(line, err=True)), \
                open_run(target, run_config, overrides if run_config is None else []) as run:
            started = True
            typer.echo(f"watch it: agentforge web {target}", err=True)
            _run_until_stopped(run, finalize_at_end, quiet)
    finally:
        if run_config is not None and created and not started:
            _remove_refused_start(target, run_config)  # a refused start leaves nothing
    typer.echo(f"status: agentforge status {target}")


def _remove_refused_start(run_dir: Path, config) -> None:
    """Remove the directory of a new run that never started (this command created it).

    The checks before the first write refuse almost every bad start; this catches the rest
    (e.g. a Gateway that cannot start), so that the same command can simply be run again.
    A run whose archive is a PostgreSQL database keeps its directory once written: the
    database holds the run too, and `--resume` continues it.
    """
    from agentforge.evolve.rundir.lock import LOCK_NAME

    if run_dir.is_dir() and (config.store is None
                             or {p.name for p in run_dir.iterdir()} <= {LOCK_NAME}):
        shutil.rmtree(run_dir, ignore_errors=True)


def _seed_override(seed: str, resume: Path | None) -> str:
    """--seed as a seed_agent override, its run directory absolute (from the current one)."""
    from agentforge.evolve.rundir.refs import parse_agent_ref

    if resume is not None:
        raise ConfigError("--seed starts a new run: give it with --config and --run-dir, not "
                          "with --resume (a run keeps the seed it started from)")
    ref = parse_agent_ref(seed)
    absolute = f"{ref.path.resolve()}@{ref.node}" if ref.node else str(ref.path.resolve())
    return f"seed_agent={json.dumps(absolute)}"


def _run_until_stopped(run, finalize_at_end: bool, quiet: bool) -> None:
    """_run, with a second Ctrl-C, a full disk or an error ending the process at once."""
    from agentforge.evolve.loop.stopping import ABORT_EXIT_CODE, end_run_now
    from agentforge.evolve.rundir.diskspace import disk_full_message, is_disk_full

    try:
        _run(run, finalize_at_end, quiet)
    except KeyboardInterrupt:
        end_run_now(run, "aborted", ABORT_EXIT_CODE,
                    f"aborted: work in flight was dropped; it runs again with "
                    f"agentforge evolve --resume {run.rundir.path}")
    except Exception as exc:
        if is_disk_full(exc):
            end_run_now(run, "disk full", 2, f"error: {disk_full_message(run.rundir.path)}")
        # Any other error ends the process at once too: left to unwind, the gateway would
        # close under the steps in flight, and they would record its refusals as failures.
        known = isinstance(exc, AgentforgeError)
        end_run_now(run, f"error: {type(exc).__name__}", 2 if known else 1,
                    f"error: {exc if known else traceback.format_exc()}; the work in flight "
                    f"was dropped: agentforge evolve --resume {run.rundir.path} runs it again")


def _run(run, finalize_at_end: bool, quiet: bool) -> None:
    from agentforge.evolve.evaluation.finalize import finalize
    from agentforge.evolve.loop.run import EvolutionRun
    from agentforge.evolve.report.status import FINISHED_REASONS, describe_end

    typer.echo(f"run {run.run_id} in {run.rundir.path}: {len(run.validation)} validation, "
               f"{len(run.held_out)} held-out tasks; selection {run.config.selection.name}",
               err=True)
    for warning in run.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    from agentforge.commands.evolve_live import live_progress

    with live_progress(run, quiet=quiet, plain=_printer) as progress:
        evolution = EvolutionRun(run, progress=progress)
        report = evolution.run()
    finished = report.stop_reason in FINISHED_REASONS
    typer.echo(f"run {describe_end('finished' if finished else 'stopped', report.stop_reason)}"
               f": {report.iterations} iterations, {report.evaluations} evaluations, "
               f"{report.elapsed_s:.0f}s", err=True)
    still = evolution.scheduler.in_flight()
    if still.evaluating or still.improving:
        from agentforge.evolve.loop.stopping import end_run_now

        # Past drain_seconds: the steps still running are dropped now, not waited for.
        end_run_now(run, None, 0, f"{len(still.evaluating)} evaluation(s) and "
                    f"{len(still.improving)} self-improvement step(s) did not finish within "
                    f"budget.drain_seconds and were dropped; they run again with "
                    f"agentforge evolve --resume {run.rundir.path}")
    if not finished:
        typer.echo(f"not finalized; continue with: agentforge evolve --resume {run.rundir.path}",
                   err=True)
        return
    if finalize_at_end and run.config.finalize.enabled:
        _print_report(finalize(run))


def _printer(run):
    """The plain progress line: printed when it changes, and at least every 10 s."""
    from agentforge.evolve.selection.base import NoParentAvailable, best_by_score
    from agentforge.progress import HEARTBEAT_SECONDS
    from agentforge.store.records import VALIDATED

    last = {"line": "", "at": 0.0}

    def show(snapshot: dict) -> None:
        summaries = run.store.node_summaries(run.run_id,
                                             split=run.config.benchmark.validation_split)
        try:
            best = next(s for s in summaries if s.id == best_by_score(summaries))
            best_text = f"best {best.score:.2f} (node {best.id}, {best.evaluated_tasks} tasks)"
        except NoParentAvailable:
            best_text = "best -"
        spend = run.ledger.spend(run_id=run.run_id)
        valid = sum(1 for s in summaries if s.status in VALIDATED)
        evaluating = ", ".join(f"{e['node_id']}:{e['task_id']}" for e in snapshot["evaluating"])
        line = (f"archive {len(summaries)} nodes ({valid} valid) | {best_text} | "
                f"spend ${spend.cost_usd:.4f}, {spend.tokens:,} tokens | "
                f"improving {snapshot['improving'] or '-'} | evaluating [{evaluating}]"
                f" +{snapshot['queued']} queued")
        if snapshot.get("stopping"):
            line = f"stopping, waiting for the steps in flight | {line}"
        now = time.monotonic()
        # Snapshots come about every 2 s: a gap stays under 10 s.
        if line != last["line"] or now - last["at"] >= HEARTBEAT_SECONDS - 0.5:
            last.update(line=line, at=now)
            typer.echo(f"[{time.strftime('%H:%M:%S')}] {snapshot.get('elapsed_s', 0):.0f}s "
                       f"{line}", err=True)

    return show


def _print_report(report: dict) -> None:
    typer.echo(f"best node: {report['best_id']}")
    for row in report["finalists"]:
        val = "-" if row["validation_score"] is None else f"{row['validation_score']:.2f}"
        held = "-" if row["held_out_score"] is None else f"{row['held_out_score']:.2f}"
        typer.echo(f"  node {row['id']}: validation {val} ({row['validation_tasks']} tasks), "
                   f"held-out {held} ({row['held_out_tasks']} tasks); {row.get('why', '')}")
        for disagreement in row.get("grading_disagreements", []):
            typer.echo(f"    graders disagree (never best): {disagreement}")


@app.command("finalize")
def finalize_command(run_dir: Path = typer.Argument(..., help="The run directory.")) -> None:
    """Re-score the run's top agents on the held-out split and write report.json."""
    from agentforge.evolve.evaluation.finalize import finalize
    from agentforge.evolve.loop.context import open_run
    from agentforge.evolve.rundir.lock import hold_run_lock

    with hold_run_lock(run_dir, say=lambda line: typer.echo(line, err=True)), \
            open_run(run_dir) as run:
        _print_report(finalize(run))
