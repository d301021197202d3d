"""The operators' prompt templates (operators/prompts/*.j2), rendered with StrictUndefined."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"),
                   undefined=StrictUndefined, keep_trailing_newline=True)


def render(name: str, **values: object) -> str:
    """Render prompts/<name>.j2 with `values`; a missing variable raises."""
    return _ENV.get_template(f"{name}.j2").render(**values)
