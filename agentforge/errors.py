"""The exception tree: every error a user can meet says what went wrong and what to do next."""


class AgentforgeError(Exception):
    """Base class: the message is meant for a person and ends with what to do next."""


class ConfigError(AgentforgeError):
    """A configuration value is missing or invalid."""


class EngineUnavailable(AgentforgeError):
    """The Docker engine cannot be reached."""


class ImageMissing(AgentforgeError):
    """A sandbox image has not been built (or pulled) yet."""


class SandboxError(AgentforgeError):
    """A sandbox could not be created, fed or read."""
