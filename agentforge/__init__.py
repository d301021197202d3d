"""agentforge: grow an archive of self-improving coding agents, validated in Docker sandboxes."""

__version__ = "0.1.0"
