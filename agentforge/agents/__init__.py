"""Agents outside the run: names (`RUN_DIR@NODE`), export with provenance, the Python API."""
