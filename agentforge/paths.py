"""Where agentforge finds its data folders (sandboxes/, archive/, benchmarks/).

In a source checkout they sit next to the package; an installed wheel carries copies
under agentforge/_data (see pyproject.toml).
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `name` of the checkout if present, else the packaged copy."""
    for candidate in (_PACKAGE_DIR.parent / name, _PACKAGE_DIR / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"agentforge data folder {name!r} not found next to {_PACKAGE_DIR}; "
        "reinstall agentforge (pip install agentforge) or run from a checkout"
    )


def sandboxes_dir() -> Path:
    return data_dir("sandboxes")


def archive_dir() -> Path:
    return data_dir("archive")


def benchmarks_dir() -> Path:
    return data_dir("benchmarks")


def checkout_dir() -> Path | None:
    """The source checkout agentforge runs from (its top-level Dockerfile and pyproject.toml),
    or None for an installed wheel."""
    root = _PACKAGE_DIR.parent
    if (root / "Dockerfile").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None
