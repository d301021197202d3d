"""Whether an agent is valid: it compiles, imports, passes its own tests the way the grader
runs tests (checks.py), and fixes a freshly drawn task through the contract (contract.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agentforge.agent_contract import (
    AGENT_DIR,
    AgentSpec,
    install_agent,
    load_agent_spec,
    runtime_sandbox_config,
)
from agentforge.evolve.validation.checks import OwnTests, run_own_tests
from agentforge.evolve.validation.contract import check_contract
from agentforge.sandbox import Sandbox

_IMPORTED = "agentforge-import-ok"


def validate_agent(agent_dir: Path, *, pytest_args: list[str] | None = None,
                   timeout: float = 900.0, labels: dict[str, str] | None = None) -> str | None:
    """None if the agent compiles, imports, passes its own tests under the grader's path,
    and fixes a freshly drawn task through the contract; else why not (its own checks' reason
    first)."""
    try:
        agent = load_agent_spec(agent_dir)
    except Exception as exc:  # a broken agent.toml is the child's defect, not ours
        return f"agent contract broken: {exc}"
    # The contract check runs beside the child's own checks, in a fresh sandbox of its own
    # (nothing the child's tests leave behind can touch it): validation stands between every
    # child and its evaluation. When the own checks fail, removing the contract's sandbox
    # ends its check at once (its commands die with the container).
    config = runtime_sandbox_config({"agentforge.role": "validate", **(labels or {})}, timeout)
    with Sandbox(config) as box, ThreadPoolExecutor(1, "contract-check") as pool:
        contract = pool.submit(_installed_and_checked, box, agent, min(timeout, 600.0))
        passed = False
        try:
            reason = own_checks(agent, pytest_args, timeout, labels)
            passed = reason is None
        finally:
            if not passed:
                box.remove()
        return reason or contract.result()


def _installed_and_checked(box: Sandbox, agent: AgentSpec, timeout: float) -> str | None:
    install_agent(box, agent)
    return check_contract(box, agent, timeout=timeout)


def own_checks(agent: AgentSpec, pytest_args: list[str] | None, timeout: float,
               labels: dict[str, str] | None = None) -> str | None:
    """None if the agent compiles, imports and passes its own tests (one sandbox); else why
    not."""
    config = runtime_sandbox_config({"agentforge.role": "validate", **(labels or {})}, timeout)
    clean = ["python", "-B", "-P", "-E", "-s"]  # nothing of the child's tree is imported early
    with Sandbox(config) as box:
        install_agent(box, agent)
        # compileall catches syntax errors in modules the tests never import.
        compiled = box.exec([*clean, "-m", "compileall", "-q", "-x", r"/tests?/", "."],
                            timeout=300, workdir=AGENT_DIR)
        # The module the agent starts from (none for a command-line program).
        entry = f"import {agent.entry}; " if agent.entry else ""
        imported = box.exec([*clean, "-c", f"import sys; sys.path.insert(0, {AGENT_DIR!r}); "
                             f"{entry}print({_IMPORTED!r})"],
                            timeout=300, workdir=AGENT_DIR)
        tests = run_own_tests(box, agent, pytest_args, timeout)
    if compiled.exit_code != 0:
        return f"syntax error: {_tail(compiled.output)}"
    if imported.exit_code != 0 or _IMPORTED not in imported.stdout:
        return f"does not import: {_tail(imported.output)}"
    return tests.reason


def contract_check(agent: AgentSpec, timeout: float, labels: dict[str, str] | None = None
                   ) -> str | None:
    """The contract check alone, in a fresh sandbox: nothing the child's tests left behind
    (processes, files, a rigged .git) can touch it."""
    config = runtime_sandbox_config({"agentforge.role": "validate", **(labels or {})}, timeout)
    with Sandbox(config) as box:
        return _installed_and_checked(box, agent, min(timeout, 600.0))


def own_tests(agent: AgentSpec, *, pytest_args: list[str] | None = None,
              timeout: float = 900.0, labels: dict[str, str] | None = None) -> OwnTests:
    """The agent's own tests alone, as validation runs them (what `agentforge agent test`
    shows)."""
    config = runtime_sandbox_config({"agentforge.role": "agent-tests", **(labels or {})},
                                    timeout)
    with Sandbox(config) as box:
        install_agent(box, agent)
        return run_own_tests(box, agent, pytest_args, timeout)


def _tail(text: str, limit: int = 400) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-4:])[-limit:]
