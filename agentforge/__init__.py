"""agentforge: grow an archive of self-improving coding agents, validated in Docker sandboxes."""

from agentforge.version import __version__


def __getattr__(name: str):
    # Lazy: `import agentforge` stays cheap; the API pulls in Docker and the gateway on use.
    if name == "load_agent":
        from agentforge.agents.api import load_agent

        return load_agent
    raise AttributeError(f"module 'agentforge' has no attribute {name!r}")


__all__ = ["__version__", "load_agent"]
