"""Diagnose: the `diagnose` model reads a parent's failures and returns ONE structured proposal.

The reply must be a JSON object matching `Proposal`; an invalid reply is sent back with the
validation error and retried (structured.py), and after the last attempt the step ends with
a `ReplyFailed` that carries the model's text, so the attempt is archived as `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from agentforge.evolve.operators.structured import ask_structured, parse_json_reply
from agentforge.evolve.operators.templates import render
from agentforge.llm.client import ModelClient


class Proposal(BaseModel):
    """One change to the agent, as the diagnose model proposes it."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)

    summary: str = Field(min_length=5, max_length=300)
    """One line naming the change."""
    diagnosis: str = Field(min_length=10)
    """What goes wrong in the failed runs, and why."""
    change: str = Field(min_length=10)
    """The change to implement in the agent's source, precisely."""
    files: list[str] = Field(default_factory=list)
    """Files of the agent the change probably touches."""
    expected_effect: str = ""
    """What should improve, and on which kind of task."""


@dataclass
class FailureCase:
    """One failed evaluation of the parent, as the diagnosis sees it."""

    task_id: str
    reason: str
    problem: str
    patch: str = ""
    test_output: str = ""
    trajectory: str = ""


@dataclass
class AgentFacts:
    """What the diagnosis is told about the parent agent itself."""

    name: str
    description: str
    files: list[str]
    successes: int
    failures: int


def parse_proposal(text: str) -> Proposal:
    """The Proposal in a reply: a bare JSON object, or one in a ```json block."""
    return parse_json_reply(text, Proposal)


def schema_text() -> str:
    """The Proposal fields with their meaning, for the prompt."""
    lines = []
    for name, field in Proposal.model_fields.items():
        kind = "list of strings" if name == "files" else "string"
        need = "required" if field.is_required() else "optional"
        lines.append(f'- "{name}" ({kind}, {need}): {field.description}')
    return "\n".join(lines)


def diagnose(client: ModelClient, agent: AgentFacts, failures: list[FailureCase], *,
             attempts: int = 3) -> Proposal:
    """Ask the diagnose model for one proposal; retry invalid replies, then ReplyFailed."""
    total = agent.successes + agent.failures
    score_text = f"{agent.successes}/{total}" if total else "nothing yet"
    messages = [
        {"role": "system", "content": render("diagnose_system.md", schema=schema_text())},
        {"role": "user", "content": render(
            "diagnose_user.md", agent_name=agent.name, agent_description=agent.description,
            score_text=score_text, files=agent.files, failures=failures)},
    ]
    return ask_structured(
        client, messages, parse_proposal,
        lambda error: render("diagnose_retry.md", error=error,
                             fields=", ".join(Proposal.model_fields)),
        attempts=attempts, wanted="valid proposal")
