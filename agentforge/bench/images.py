"""Which Docker image a task runs in: one of ours by name, or an external reference."""

from __future__ import annotations

from docker.errors import APIError, ImageNotFound

from agentforge.errors import ImageMissing
from agentforge.sandbox.engine import docker_client
from agentforge.sandbox.images import image_specs, require_image


def resolve_task_image(image: str) -> str:
    """Tag to run: our image built for the current sources, else a local or pulled reference."""
    if image in image_specs():
        return require_image(image)
    client = docker_client()
    try:
        client.images.get(image)
        return image
    except ImageNotFound:
        pass
    try:
        client.images.pull(image)
    except APIError as exc:
        raise ImageMissing(
            f"image {image!r} is not on this machine and cannot be pulled "
            f"({exc.explanation or exc}); pull or build it where a registry is reachable, "
            f"then `docker save`/`docker load` it here"
        ) from exc
    return image
