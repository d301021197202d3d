"""The model for `bench run`: one gateway for the run, one grant (key, books) per task."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentforge.bench.runner import GrantFor
from agentforge.bench.task import Task


@contextmanager
def gateway_for_run(model_spec: str, out_dir: Path, run_id: str) -> Iterator[GrantFor]:
    """Start a gateway to `model_spec` (ledger in out_dir/ledger.sqlite); yield grant_for(task)."""
    from agentforge.llm.gateway import Gateway
    from agentforge.llm.ledger import Ledger
    from agentforge.llm.spec import resolve_endpoint

    out_dir.mkdir(parents=True, exist_ok=True)
    endpoint = resolve_endpoint(model_spec)
    ledger = Ledger(out_dir / "ledger.sqlite")
    with Gateway(endpoint, ledger) as gateway:
        grants = []

        def grant_for(task: Task):
            grant = gateway.grant(run_id=run_id, task_id=task.instance_id, role="agent")
            grants.append(grant)
            return grant

        try:
            yield grant_for
        finally:
            for grant in grants:  # each attempt revokes its own; this catches any left over
                grant.revoke()
