"""A flood of huge bodies from several sandboxes leaves the gateway's memory flat.

Runs perf/gateway_memory.py (a gateway and a model server in their own processes, 64
concurrent 31 MB bodies over 4 grant sockets, a bystander sandbox calling meanwhile) and checks
its figures: the gateway never holds more than its bytes-in-flight allowance, gives the memory
back, answers every request (served, retry later, or too large once parsed) and keeps serving
the bystander.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentforge.llm.gateway.server import MAX_BYTES_IN_FLIGHT

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[2] / "perf" / "gateway_memory.py"
MB = 1024 * 1024


def test_64_huge_bodies_over_4_grants_keep_the_gateway_memory_flat():
    run = subprocess.run([sys.executable, str(SCRIPT), "--json", "--bodies", "64", "--mb", "31",
                          "--grants", "4"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    idle = report["idle_mb"]
    for kind, flood in report["floods"].items():
        # The allowance bounds what requests hold; the rest is the interpreter's slack.
        assert flood["peak_mb"] - idle < MAX_BYTES_IN_FLIGHT / MB + 64, (kind, report)
        assert flood["after_mb"] - idle < 48, (kind, report)  # handed back to the system
        assert set(flood["answers"]) <= {"200", "503", "413"}, (kind, report)  # none dropped
        assert set(flood["bystander"]) == {"200"}, (kind, report)
    assert report["floods"]["text"]["answers"].get("200", 0) >= 1, report
    # Many tiny values would take ~25 times their bytes once parsed: never served whole.
    assert "200" not in report["floods"]["values"]["answers"], report
