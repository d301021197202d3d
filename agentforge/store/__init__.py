"""The archive: SQL tables of runs, nodes, evaluations and events, and the per-run agent repo."""

from agentforge.store.consistency import archive_problems
from agentforge.store.errors import PatchDoesNotApply, SchemaTooNew, StoreError
from agentforge.store.protocol import Store
from agentforge.store.records import NodeStatus, NodeSummary, TaskResultData
from agentforge.store.repo import AgentRepo
from agentforge.store.sql import SqlStore
from agentforge.store.tables import (
    AgentNode,
    Evaluation,
    EvaluationArtefacts,
    Event,
    Run,
)

__all__ = [
    "AgentNode",
    "AgentRepo",
    "Evaluation",
    "Event",
    "NodeStatus",
    "NodeSummary",
    "PatchDoesNotApply",
    "Run",
    "SchemaTooNew",
    "SqlStore",
    "Store",
    "StoreError",
    "EvaluationArtefacts",
    "TaskResultData",
    "archive_problems",
]
