"""Errors of the model layer; each message says what to check next."""

from agentforge.errors import AgentforgeError


class ModelError(AgentforgeError):
    """A model request did not produce an answer."""


class ModelUnavailable(ModelError):
    """The endpoint kept failing (429, 5xx, timeouts, refused connections) past the retries."""


class ModelRequestError(ModelError):
    """The endpoint rejected the request itself (4xx other than 429); retrying won't help."""


class VllmError(ModelError):
    """The local vLLM server could not be started, or died."""
