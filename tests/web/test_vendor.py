"""The vendored JavaScript is what MANIFEST.json says (checked without the network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_vendored_files_match_their_checksums_and_carry_a_license():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "vendor_web_js.py")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    vendor = ROOT / "agentforge" / "web" / "static" / "vendor"
    assert "ISC" in (vendor / "d3.LICENSE").read_text() or "Copyright" in (
        vendor / "d3.LICENSE").read_text()


def test_the_page_loads_nothing_from_another_origin():
    static = ROOT / "agentforge" / "web" / "static"
    for path in [static / "index.html", *static.glob("js/*.js"), static / "app.css"]:
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path
