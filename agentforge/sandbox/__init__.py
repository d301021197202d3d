"""Docker sandboxes: the only place agent code and tests of agent output ever run."""

from agentforge.sandbox.config import SandboxConfig
from agentforge.sandbox.container import Sandbox
from agentforge.sandbox.execution import TIMEOUT_EXIT_CODE, ExecResult

__all__ = ["ExecResult", "Sandbox", "SandboxConfig", "TIMEOUT_EXIT_CODE"]
