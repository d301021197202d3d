"""Fixtures of the importer tests: DGM and HGM runs from our own generator (foreign_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from foreign_runs import make_dgm_checkout, make_dgm_run, make_hgm_run

from agentforge.importers.common import write_imported_run
from agentforge.importers.dgm import read_dgm_run
from agentforge.importers.hgm import read_hgm_run


@pytest.fixture(scope="module")
def dgm_checkout(tmp_path_factory) -> Path:
    return make_dgm_checkout(tmp_path_factory.mktemp("dgm") / "dgm")


@pytest.fixture(scope="module")
def dgm_source(tmp_path_factory) -> Path:
    return make_dgm_run(tmp_path_factory.mktemp("output_dgm") / "20250101000000_000000")


@pytest.fixture(scope="module")
def dgm_imported(dgm_source, dgm_checkout, tmp_path_factory) -> Path:
    return write_imported_run(read_dgm_run(dgm_source, dgm_checkout),
                              tmp_path_factory.mktemp("runs") / "dgm")


@pytest.fixture(scope="module")
def hgm_imported(tmp_path_factory) -> Path:
    source = make_hgm_run(tmp_path_factory.mktemp("output_hgm") / "hgm-run")
    return write_imported_run(read_hgm_run(source), tmp_path_factory.mktemp("runs") / "hgm")
