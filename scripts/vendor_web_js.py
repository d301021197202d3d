#!/usr/bin/env python3
"""The web view's JavaScript from npm: check the committed copies, or refresh them.

    scripts/vendor_web_js.py            check every vendored file against MANIFEST.json
    scripts/vendor_web_js.py --refresh  npm pack each package again (same version, or
                                        --version to move), verify the tarball against the
                                        registry's integrity, copy its files, rewrite sums

No CDN and no build step: the page loads these files from the package itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "agentforge" / "web" / "static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check() -> list[str]:
    """Every difference between the vendored files and the manifest (empty when all match)."""
    manifest = json.loads(MANIFEST.read_text())
    problems = []
    for package in manifest["packages"]:
        for target, entry in package["files"].items():
            path = VENDOR / target
            if not path.is_file():
                problems.append(f"{target}: missing")
            elif sha256(path) != entry["sha256"]:
                problems.append(f"{target}: sha256 differs from MANIFEST.json")
    return problems


def refresh(version: str | None) -> None:
    """Download each package's tarball with npm, verify it, copy its files, update sums."""
    manifest = json.loads(MANIFEST.read_text())
    for package in manifest["packages"]:
        wanted = version or package["version"]
        spec = f"{package['name']}@{wanted}"
        integrity = subprocess.run(["npm", "view", spec, "dist.integrity"], check=True,
                                   capture_output=True, text=True).stdout.strip()
        with tempfile.TemporaryDirectory() as tmp:
            name = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, check=True,
                                  capture_output=True, text=True).stdout.strip().splitlines()[-1]
            tarball = Path(tmp) / name
            algorithm, expected = integrity.split("-", 1)
            digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest())
            if digest.decode() != expected:
                sys.exit(f"{spec}: tarball does not match the registry's integrity {integrity}")
            with tarfile.open(tarball) as archive:
                archive.extractall(tmp, filter="data")
            for target, entry in package["files"].items():
                source = Path(tmp) / entry["from"]
                (VENDOR / target).write_bytes(source.read_bytes())
                entry["sha256"] = sha256(VENDOR / target)
            meta = json.loads((Path(tmp) / "package" / "package.json").read_text())
        package["version"] = meta["version"]
        package["integrity"] = integrity
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


def main() -> None:
    """Check by default; --refresh downloads from npm first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help="download again from npm")
    parser.add_argument("--version", help="with --refresh: the version to move to")
    args = parser.parse_args()
    if args.refresh:
        refresh(args.version)
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit("vendored JavaScript does not match MANIFEST.json: run with --refresh")
    print("vendored JavaScript matches MANIFEST.json")


if __name__ == "__main__":
    main()
