"""`agentforge status DIR`: nodes, scores, the best lineage, spend and work in flight."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def status(
    run_dir: Path = typer.Argument(..., help="The run directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    evaluations: bool = typer.Option(False, "--evaluations",
                                     help="Also list every finished evaluation."),
) -> None:
    """Show the state of an evolution run."""
    from agentforge.evolve.report.status import describe_end, run_status

    data = run_status(run_dir, evaluations=evaluations)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"run {data['run_id']}: {describe_end(data['status'], data['stop_reason'])}"
               + (" — its process is gone: continue with agentforge evolve --resume "
                  f"{run_dir}" if data["status"] == "running" and not data["alive"] else ""))
    if data.get("imported_from"):
        typer.echo(f"imported from {data['imported_from']['system'].upper()}: "
                   f"{data['imported_from']['source']} (read-only)")
    typer.echo(f"spend: ${data['spend']['usd']:.4f}, {data['spend']['tokens']:,} tokens, "
               f"{data['spend']['calls']} calls")
    for node in data["nodes"]:
        score = "-" if node["score"] is None else f"{node['score']:.2f}"
        held = "" if node["held_out_score"] is None else f", held-out {node['held_out_score']:.2f}"
        mark = "*" if node["id"] == data["best_id"] else " "
        why = f" — {node['reason']}" if node["reason"] else ""
        if node.get("external_id"):
            why = f" [{node['external_id']}]{why}"
        if node.get("copy_of") is not None:
            why = f" [copy of node {node['copy_of']}: its evaluations]{why}"
        why += "".join(f" [graders disagree: {d}]" for d in node.get("grading_disagreements", []))
        why += "".join(f" [warning: {w}]" for w in node.get("warnings", []))
        typer.echo(f"{mark} node {node['id']:>3} parent {str(node['parent_id']):>4} "
                   f"{node['status']:<10} score {score} ({node['evaluated_tasks']} tasks{held})"
                   f"{why[:160]}")
    if data["best_lineage"]:
        typer.echo("best lineage: " + " -> ".join(str(i) for i in data["best_lineage"]))
    flight = data["in_flight"]
    if flight["improving"] or flight["evaluating"]:
        typer.echo(f"in flight: improving {flight['improving']}, evaluating "
                   + ", ".join(f"{e['node_id']}:{e['task_id']}" for e in flight["evaluating"]))
    if evaluations:
        for ev in data["evaluations"]:
            typer.echo(f"  node {ev['node_id']} {ev['split']} {ev['task_id']}: "
                       f"{'resolved' if ev['resolved'] else 'unresolved'}")
