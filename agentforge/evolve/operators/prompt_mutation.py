"""`prompt_mutation`: the diagnose model reads the parent's failures on several tasks at once
and rewrites chosen prompts or roster texts of its `config.toml` directly (no agent run).

As in MetaSPO, the system-level texts change from failures across tasks, not one. The reply
is structured (`Mutation`); an invalid one is sent back with the error and retried. The
rewritten file becomes a child commit validated like any other: text that breaks the agent
(a prompt its code cannot render, say) makes an invalid node with the validator's reason.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentforge.agent_contract import load_agent_spec
from agentforge.errors import describe_validation_error
from agentforge.evolve.loop.context import RunContext, agent_dir
from agentforge.evolve.operators.child import add_child, failed_child
from agentforge.evolve.operators.diagnose import FailureCase
from agentforge.evolve.operators.failures import failure_cases
from agentforge.evolve.operators.genome import GenomeError, editable_texts, replace_text
from agentforge.evolve.operators.stats import PROMPT_MUTATION_TASK
from agentforge.evolve.operators.templates import render
from agentforge.llm.client import ModelClient
from agentforge.llm.errors import ModelError
from agentforge.llm.ledger import CallContext

NAME = "prompt_mutation"


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


class MutationFailed(Exception):
    """No usable reply after every attempt; `text` is the model's last reply."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.text = text


def genome_path(folder: Path) -> Path:
    """The agent's config.toml (inside its entry package; at its root for an agent of a
    contract without a package, where most have none and the operator says so)."""
    return folder / (load_agent_spec(folder).entry or "") / "config.toml"


def prompt_mutation(ctx: RunContext, parent_id: int, second_parent_id: int | None = None) -> int:
    """A child of `parent_id` whose prompts the model rewrote; return its node id."""
    folder = agent_dir(ctx, parent_id)
    path = genome_path(folder)
    if not path.is_file():
        return failed_child(ctx, NAME, parent_id, f"prompt_mutation needs the agent's genome "
                            f"{path.relative_to(folder)}, which this agent does not have")
    original = path.read_text()
    client = ModelClient.for_role(
        "diagnose", ctx.config.llm, ledger=ctx.ledger, use_cache=True,
        context=CallContext(run_id=ctx.run_id, node_id=parent_id, task_id=PROMPT_MUTATION_TASK,
                            role="diagnose"))
    failures = failure_cases(ctx, parent_id)
    try:
        mutation, updated = ask_mutation(client, original, failures,
                                         ctx.config.improve.diagnose_attempts)
    except MutationFailed as exc:
        return failed_child(ctx, NAME, parent_id, f"prompt mutation invalid: {exc}; model said: "
                            f"{exc.text[:800]!r}", {"invalid_reply": exc.text})
    except ModelError as exc:
        return failed_child(ctx, NAME, parent_id, f"prompt mutation model error: {exc}")
    relative = str(path.relative_to(folder))
    commit = ctx.repo.create_child_files(ctx.store.get_node(parent_id).commit,
                                         {relative: updated}, message=mutation.summary)
    return add_child(ctx, NAME, parent_id, commit=commit, summary=mutation.summary,
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
    text, error = "", ""
    for _ in range(attempts):
        reply = client.chat(messages)
        text = reply.choices[0].message.content or "" if reply.choices else ""
        try:
            mutation = parse_mutation(text)
            return mutation, apply_mutation(original, mutation)
        except ValueError as exc:
            error = str(exc)
        messages += [{"role": "assistant", "content": text},
                     {"role": "user", "content": render("mutation_retry.md", error=error)}]
    raise MutationFailed(f"no usable mutation after {attempts} attempt(s): {error}", text)


def parse_mutation(text: str) -> Mutation:
    """The Mutation in a reply (a bare JSON object or one in a ```json block)."""
    start, end = (text or "").find("{"), (text or "").rfind("}")
    if start == -1 or end <= start:
        raise ValueError("the reply holds no JSON object")
    try:
        return Mutation.model_validate(json.loads(text[start:end + 1]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc})") from exc
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc, whole="object")) from exc


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
