"""The archive: SQL tables of runs, nodes, evaluations and events, and the per-run agent repo."""

from agentforge.store.consistency import archive_problems
from agentforge.store.errors import PatchDoesNotApply, SchemaTooNew, StoreError
from agentforge.store.protocol import Store
from agentforge.store.records import (
    ArtefactsRecord,
    EvaluationRecord,
    EventRecord,
    NodeRecord,
    NodeStatus,
    NodeSummary,
    RunRecord,
    TaskResultData,
)
from agentforge.store.repo import AgentRepo
from agentforge.store.sql import SqlStore

__all__ = [
    "AgentRepo",
    "ArtefactsRecord",
    "EvaluationRecord",
    "EventRecord",
    "NodeRecord",
    "NodeStatus",
    "NodeSummary",
    "PatchDoesNotApply",
    "RunRecord",
    "SchemaTooNew",
    "SqlStore",
    "Store",
    "StoreError",
    "TaskResultData",
    "archive_problems",
]
