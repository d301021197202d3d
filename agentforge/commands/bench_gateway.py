"""The model for `bench run`: one gateway for the run, one grant (key, books) per attempt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentforge.bench.run import GrantScope


@contextmanager
def gateway_for_run(model_spec: str, out_dir: Path, run_id: str) -> Iterator[GrantScope]:
    """Start a gateway to `model_spec` (ledger in out_dir/ledger.sqlite); yield the attempts'
    grant factory (each attempt's grant is booked to its task, revoked when it ends)."""
    from agentforge.llm.gateway import Gateway
    from agentforge.llm.ledger import Ledger
    from agentforge.llm.spec import resolve_endpoint

    out_dir.mkdir(parents=True, exist_ok=True)
    endpoint = resolve_endpoint(model_spec)
    ledger = Ledger(out_dir / "ledger.sqlite")
    with Gateway(endpoint, ledger) as gateway:
        yield lambda task: gateway.granted(run_id=run_id, task_id=task.instance_id,
                                           role="agent")
