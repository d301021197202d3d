"""One line of `agentforge doctor`: the row type of the local checks (doctor.py) and the
cluster's (doctor_ray.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DoctorCheck:
    """One check's outcome: a name, whether it passed, and what to do when it did not."""

    name: str
    ok: bool
    detail: str
    warning: bool = False
    """Passed, but something the user should know about (not counted as a failure)."""
