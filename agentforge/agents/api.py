"""The Python API: `load_agent(ref)` gives an `Agent` to solve tasks with, test, or inspect.

    from agentforge import load_agent
    agent = load_agent("runs/demo@best")          # or an export, or an agent directory
    result = agent.solve("./myrepo", "Fix add() in calc.py", model="openai:gpt-4o-mini")
    result.patch, result.trajectory, result.cost_usd, result.stop_reason
    agent.solve(..., out="runs/one")              # keeps the trajectory's folder and ledger

`solve` is what `agentforge agent run` does: the agent runs in a Docker sandbox and reaches
the model only through the gateway (which holds the key and books the cost).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from agentforge.agent_contract import AgentSpec
from agentforge.evolve.rundir.agent_ref import ResolvedAgent, resolve_runnable_agent


@dataclass
class Solution:
    """What one `solve` left: the patch, the trajectory, cost, why it stopped."""

    patch: str
    trajectory: dict | None
    """The agent's trajectory.json."""
    trajectory_path: Path | None
    """Where it is kept (None when `solve` was given no `out` folder: nothing is kept)."""
    cost_usd: float
    tokens: int
    stop_reason: str | None
    exit_code: int
    timed_out: bool
    duration: float
    out_dir: Path | None
    """The folder with the trajectory's files, the patch and the ledger (None: not kept)."""
    usage: dict
    """The agent's own account of its model use (its trajectory's `usage`)."""


@dataclass
class OwnTestsReport:
    """The verdict of an agent's own test suite, run as validation runs it (in a sandbox,
    under the grader's pytest launcher and guard, the scripted model at hand)."""

    __test__ = False  # not a pytest class

    ok: bool
    reason: str | None
    """Why the suite does not pass, as validation would say it (None: it passes)."""
    exit_code: int | None
    duration: float
    output: str


def solve_in_sandbox(spec: AgentSpec, repo: Path, problem: str, *, model: str, out: Path,
                     strategy: str | None = None, timeout: float = 1800.0) -> Solution:
    """Run the agent on a copy of `repo` in a sandbox, the model through the gateway."""
    from agentforge.agent_contract import run_agent
    from agentforge.llm.gateway import Gateway
    from agentforge.llm.ledger import Ledger
    from agentforge.llm.spec import resolve_endpoint
    from agentforge.sandbox import Sandbox, SandboxConfig

    out.mkdir(parents=True, exist_ok=True)
    run_id = f"agent-run-{uuid.uuid4().hex[:8]}"
    ledger = Ledger(out / "ledger.sqlite")
    with Gateway(resolve_endpoint(model), ledger) as gateway:
        grant = gateway.grant(run_id=run_id, role="agent")
        with Sandbox(grant.apply(SandboxConfig(labels={"agentforge.role": "agent"}))) as box:
            grant.start_forwarder(box)
            box.copy_in(repo, "/workspace")
            result = run_agent(box, spec, problem,
                               args=["--strategy", strategy] if strategy else [],
                               timeout=timeout, trajectory_dir=out)
    (out / "patch.diff").write_text(result.patch, encoding="utf-8")
    spend = ledger.spend(run_id=run_id)
    trajectory = out / "out" / "trajectory.json"
    return Solution(patch=result.patch, trajectory=result.trajectory,
                    trajectory_path=trajectory if trajectory.is_file() else None,
                    cost_usd=spend.cost_usd, tokens=spend.tokens,
                    stop_reason=result.stop_reason, exit_code=result.exit_code,
                    timed_out=result.timed_out, duration=result.duration, out_dir=out,
                    usage=(result.trajectory or {}).get("usage", {}))


class Agent:
    """An agent named by a directory, an export or `RUN_DIR@NODE`, ready to run."""

    def __init__(self, resolved: ResolvedAgent, spec: AgentSpec) -> None:
        self.resolved = resolved
        self.spec = spec

    @property
    def name(self) -> str:
        """The agent's short name (agent.toml)."""
        return self.spec.name

    @property
    def path(self) -> Path:
        """The folder holding the agent's source."""
        return self.resolved.path

    def __repr__(self) -> str:
        return f"Agent({self.resolved.ref!r}, path={str(self.path)!r})"

    @property
    def manifest(self) -> dict:
        """Provenance: an export's agentforge-agent.json, else built from the run or folder."""
        from agentforge.agents.export import MANIFEST, build_manifest
        from agentforge.agents.lineage import read_lineage

        written = self.path / MANIFEST
        if written.is_file():
            return json.loads(written.read_text(encoding="utf-8"))
        lineage = read_lineage(self.resolved) if self.resolved.run_dir is not None else None
        return build_manifest(self.resolved, lineage, self.path)

    def solve(self, repo: str | Path, problem: str | Path, *, model: str,
              timeout: float = 1800.0, strategy: str | None = None,
              out: str | Path | None = None) -> Solution:
        """Solve `problem` (text, or a Path to a file) in `repo`; the agent runs sandboxed.
        Its files are kept in `out` when given; without it nothing is left on disk (the
        result holds the patch and the trajectory)."""
        text = problem.read_text(encoding="utf-8") if isinstance(problem, Path) else problem
        if out is not None:
            return solve_in_sandbox(self.spec, Path(repo), text, model=model, out=Path(out),
                                    strategy=strategy, timeout=timeout)
        with tempfile.TemporaryDirectory(prefix=f"agentforge-{self.name}-") as folder:
            solution = solve_in_sandbox(self.spec, Path(repo), text, model=model,
                                        out=Path(folder), strategy=strategy, timeout=timeout)
        return dataclasses.replace(solution, trajectory_path=None, out_dir=None)

    def test(self, timeout: float = 300.0, pytest_args: list[str] | None = None) -> OwnTestsReport:
        """Run the agent's own tests (or those `pytest_args` pick) as validation runs them."""
        from agentforge.evolve.validation.agent import own_tests

        result = own_tests(self.spec, pytest_args=pytest_args, timeout=timeout)
        return OwnTestsReport(ok=result.reason is None, reason=result.reason,
                              exit_code=result.exit_code, duration=result.duration,
                              output=result.output)


def load_agent(ref: str | Path) -> Agent:
    """The agent a reference names: `RUN_DIR@NODE` (id or best), an export, or a directory."""
    resolved, spec = resolve_runnable_agent(ref)
    return Agent(resolved, spec)
