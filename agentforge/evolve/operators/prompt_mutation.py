"""`prompt_mutation`: the diagnose model reads the parent's failures on several tasks at once
and rewrites chosen prompts or roster texts of its `config.toml` directly (no agent run).

As in MetaSPO, the system-level texts change from failures across tasks, not one. The reply
is structured (`Mutation`); an invalid one is sent back with the error and retried. The
rewritten file becomes a child commit validated like any other: text that breaks the agent
(a prompt its code cannot render, say) makes an invalid node with the validator's reason.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agentforge.agent_contract import load_agent_spec
from agentforge.evolve.loop.context import RunContext
from agentforge.evolve.operators.child import add_child, failed_child
from agentforge.evolve.operators.diagnose import FailureCase
from agentforge.evolve.operators.failures import failure_cases
from agentforge.evolve.operators.genome import GenomeError, editable_texts, replace_text
from agentforge.evolve.operators.structured import ReplyFailed, ask_structured, parse_json_reply
from agentforge.evolve.operators.templates import render
from agentforge.evolve.step import StepOutcome, StepPlan
from agentforge.llm.client import ModelClient
from agentforge.llm.errors import ModelError
from agentforge.llm.ledger import CallContext

NAME = "prompt_mutation"
PROMPT_MUTATION_TASK = "op:prompt_mutation"
"""The task id of a mutation's model calls: it scopes their response cache."""


class TextEdit(BaseModel):
    """One replaced text of the genome."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=3)
    text: str = Field(min_length=1)


class Mutation(BaseModel):
    """The model's reply: which texts to replace, and why."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=5, max_length=300)
    diagnosis: str = Field(min_length=10)
    edits: list[TextEdit] = Field(min_length=1, max_length=8)


def genome_path(folder: Path) -> Path:
    """The agent's config.toml (inside its entry package; at its root for an agent of a
    contract without a package, where most have none and the operator says so)."""
    return folder / (load_agent_spec(folder).entry or "") / "config.toml"


def prompt_mutation(ctx: RunContext, plan: StepPlan) -> StepOutcome:
    """A child of the plan's parent whose prompts the model rewrote."""
    parent_id = plan.parent_id
    folder = ctx.agent_dir(parent_id)
    path = genome_path(folder)
    if not path.is_file():
        return failed_child(ctx, plan, f"prompt_mutation needs the agent's genome "
                            f"{path.relative_to(folder)}, which this agent does not have")
    original = path.read_text()
    client = ModelClient.for_role(
        "diagnose", ctx.config.llm, ledger=ctx.ledger, use_cache=True,
        context=CallContext(run_id=ctx.run_id, node_id=parent_id, task_id=PROMPT_MUTATION_TASK,
                            role="diagnose", step_id=plan.step_id))
    failures = failure_cases(ctx, parent_id, plan.evidence_seed)
    try:
        mutation, updated = ask_mutation(client, original, failures,
                                         ctx.config.improve.diagnose_attempts)
    except ReplyFailed as exc:
        return failed_child(ctx, plan, f"prompt mutation invalid: {exc}; model said: "
                            f"{exc.text[:800]!r}", {"invalid_reply": exc.text})
    except ModelError as exc:
        return failed_child(ctx, plan, f"prompt mutation model error: {exc}")
    relative = str(path.relative_to(folder))
    commit = ctx.repo.create_child_files(ctx.store.get_node(parent_id).commit,
                                         {relative: updated}, message=mutation.summary)
    return add_child(ctx, plan, commit=commit, summary=mutation.summary,
                     proposal={"diagnosis": mutation.diagnosis,
                               "change": "; ".join(e.path for e in mutation.edits),
                               "files": [relative],
                               "tasks": sorted({f.task_id for f in failures})})


def ask_mutation(client: ModelClient, original: str, failures: list[FailureCase],
                 attempts: int) -> tuple[Mutation, str]:
    """Ask for a Mutation of `original` (a config.toml); return it with the edited text."""
    texts = editable_texts(original)
    messages = [
        {"role": "system", "content": render("mutation_system.md")},
        {"role": "user", "content": render("mutation_user.md", texts=texts, failures=failures)},
    ]
    def parse(text: str) -> tuple[Mutation, str]:
        mutation = parse_json_reply(text, Mutation)
        return mutation, apply_mutation(original, mutation)

    return ask_structured(client, messages, parse,
                          lambda error: render("mutation_retry.md", error=error),
                          attempts=attempts, wanted="usable mutation")


def apply_mutation(original: str, mutation: Mutation) -> str:
    """The config.toml text with every edit made; ValueError names an edit that cannot be."""
    updated = original
    for edit in mutation.edits:
        try:
            updated = replace_text(updated, edit.path, edit.text)
        except (GenomeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"edit of {edit.path!r}: {exc}") from exc
    if editable_texts(updated) == editable_texts(original):
        raise ValueError("the edits change nothing: every new text equals the current one")
    return updated
