#!/usr/bin/env bash
# Run agentforge's whole test suite on a machine with a running Docker engine:
# a virtual environment in .venv, the package with its dev extras, the sandbox images
# (built only when their inputs changed), then pytest with every marker included.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/agentforge images build
exec .venv/bin/python -m pytest "$@"
