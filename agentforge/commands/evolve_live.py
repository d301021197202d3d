"""The live progress of `agentforge evolve`: a rich panel on a terminal, plain lines when piped.

The panel shows what a person watching a long run asks first: how big the archive is, which
node is best, what it cost so far, what the workers are doing, and the latest events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentforge.evolve.selection.base import NoParentAvailable, best_by_score

RECENT_EVENTS = 6


@contextmanager
def live_progress(run, *, quiet: bool, plain: Callable[[object], Callable[[dict], None]],
                  console: Console | None = None) -> Iterator[Callable[[dict], None] | None]:
    """The progress callback for the loop: None when quiet, the panel on a terminal, else
    `plain(run)` (the line printer)."""
    console = console or Console(stderr=True)
    if quiet:
        yield None
    elif not console.is_terminal:
        yield plain(run)
    else:
        panel = LivePanel(run)
        with Live(panel.render({}), console=console, refresh_per_second=2,
                  transient=False) as live:
            def show(snapshot: dict) -> None:
                live.update(panel.render(snapshot))

            yield show


class LivePanel:
    """Renders one run's state from its store and ledger."""

    def __init__(self, run) -> None:
        self.run = run
        self.started = time.monotonic()

    def render(self, snapshot: dict) -> Panel:
        """The panel for the latest progress snapshot of the loop."""
        store, run_id = self.run.store, self.run.run_id
        summaries = store.node_summaries(run_id)
        counts: dict[str, int] = {}
        for s in summaries:
            counts[s.status.value] = counts.get(s.status.value, 0) + 1
        try:
            best = next(s for s in summaries if s.id == best_by_score(summaries))
            best_text = (f"{best.score:.2f} node {best.id} "
                         f"({best.successes}/{best.evaluated_tasks} tasks)")
        except NoParentAvailable:
            best_text = "-"
        spend = self.run.ledger.spend(run_id=run_id)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("archive", f"{len(summaries)} nodes  " + "  ".join(
            f"{name} {n}" for name, n in sorted(counts.items())))
        grid.add_row("best", best_text)
        grid.add_row("spend", f"${spend.cost_usd:.4f}  {spend.tokens:,} tokens  "
                              f"{spend.calls} calls")
        evaluating = ", ".join(f"{e['node_id']}:{e['task_id']}"
                               for e in snapshot.get("evaluating", []))
        grid.add_row("workers", f"improving {snapshot.get('improving') or '-'}  "
                                f"evaluating [{evaluating}]  +{snapshot.get('queued', 0)} queued")
        events = Text()
        for event in store.list_events(run_id, limit=RECENT_EVENTS):
            events.append(f"{event.created_at:%H:%M:%S} {event.kind:<10} ", style="dim")
            events.append(event.message[:110] + "\n")
        elapsed = snapshot.get("elapsed_s", time.monotonic() - self.started)
        return Panel(Group(grid, Text("recent events", style="bold"), events),
                     title=f"agentforge evolve · {run_id} · {elapsed:.0f}s",
                     subtitle=f"agentforge web {self.run.rundir.path}")
