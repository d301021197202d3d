"""`agentforge images`: build and list the sandbox images of sandboxes/."""

from __future__ import annotations

import typer

from agentforge.sandbox import images as sandbox_images

app = typer.Typer(help="Build and list sandbox images.", no_args_is_help=True)


@app.command()
def build(
    names: list[str] = typer.Argument(None, help="Images to build (default: all)."),
    base_image: str = typer.Option(
        None, "--base-image", envvar="AGENTFORGE_BASE_IMAGE",
        help="Base image (default: python:3.12-slim, else a local Debian image).",
    ),
    force: bool = typer.Option(False, help="Rebuild even when the inputs are unchanged."),
) -> None:
    """Build sandbox images, skipping those whose inputs have not changed."""
    specs = sandbox_images.image_specs()
    chosen = names or [n for n, s in specs.items() if s.built_by_default]
    sandbox_images.build_images(chosen, base_image, force=force, log=typer.echo)


@app.command("list")
def list_images() -> None:
    """Show each sandbox image and whether it is built for the current sources."""
    for name in sandbox_images.image_specs():
        tag = sandbox_images.find_built(name)
        typer.echo(f"{name:20} {tag or 'not built (agentforge images build ' + name + ')'}")
