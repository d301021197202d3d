"""`agentforge import dgm|hgm`: a DGM or HGM run as an agentforge run directory."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Import a run of another system (DGM, HGM) as a read-only run.",
                  no_args_is_help=True)

RUN_DIR = typer.Option(..., "--run-dir", "-d", help="New directory for the imported run.")
POLYGLOT = typer.Option(None, "--polyglot/--swe-bench",
                        help="The run's benchmark (default: detected from its log and task ids).")


@app.command("dgm")
def import_dgm(
    source: Path = typer.Argument(..., metavar="DGM_RUN_DIR", help="output_dgm/<run id>/"),
    base: Path = typer.Option(None, "--base", help="The jennyzzt/dgm checkout the run used."),
    run_dir: Path = RUN_DIR,
    polyglot: bool = POLYGLOT,
) -> None:
    """Import a Darwin Gödel Machine run (its nodes' code: --base plus their patches)."""
    from agentforge.importers.common import write_imported_run
    from agentforge.importers.dgm import read_dgm_run

    plan = read_dgm_run(source, base, polyglot)
    _report(plan, write_imported_run(plan, run_dir))


@app.command("hgm")
def import_hgm(
    source: Path = typer.Argument(..., metavar="HGM_RUN_DIR", help="output_hgm/<run id>/"),
    base: Path = typer.Option(None, "--base",
                              help="The HGM checkout, if the run lacks initial/src."),
    run_dir: Path = RUN_DIR,
    polyglot: bool = POLYGLOT,
) -> None:
    """Import a Huxley-Gödel Machine run (the root's code from its initial/src)."""
    from agentforge.importers.common import write_imported_run
    from agentforge.importers.hgm import read_hgm_run

    plan = read_hgm_run(source, base, polyglot)
    _report(plan, write_imported_run(plan, run_dir))


def _report(plan, run_dir: Path) -> None:
    from agentforge.evolve.report.status import run_status

    status = run_status(run_dir)
    failed = [n for n in status["nodes"] if n["status"] == "failed"]
    typer.echo(f"imported {len(status['nodes'])} nodes of the {plan.system.upper()} run "
               f"{plan.source} into {run_dir} ({len(failed)} failed, "
               f"{'Polyglot' if plan.polyglot else 'SWE-bench'}); best node "
               f"{status['best_id']}")
    for note in plan.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"next: agentforge status {run_dir}; agentforge agent export {run_dir}@best "
               "--out DIR")
