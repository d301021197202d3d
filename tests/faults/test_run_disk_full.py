"""The run directory's filesystem fills up during a real run (a small loop-mounted ext4 made
here): the run stops with an error that says so, the archive is intact and records no task
or child as failed because of it, and `--resume` finishes the run once space is freed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from run_fixtures import (
    EVOLVE,
    archive_state,
    demo_run_config,
    evaluation_rows,
    expected_complete_archive,
    set_model_delay,
    start_run,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 128 MiB ext4 filesystem mounted at tmp_path/disk (root and mount needed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a loop filesystem needs root")
    if not (shutil.which("mkfs.ext4") and shutil.which("mount")):
        pytest.skip("mkfs.ext4 and mount are needed to make a small filesystem")
    image, mount_point = tmp_path / "disk.img", tmp_path / "disk"
    mount_point.mkdir()
    with image.open("wb") as handle:
        handle.truncate(128 * 1024 * 1024)
    # -m 0: no blocks reserved for root, so "free" means the same to everybody.
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"mount is not permitted here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem refuses more; return it."""
    filler = disk / "filler.bin"
    block = b"\0" * (1024 * 1024)
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError:
            pass
    return filler


@pytest.mark.parametrize("reserve_mb", [None, "0"], ids=["early-stop", "a-write-fails"])
def test_a_full_run_disk_stops_the_run_and_resume_continues(agent_image, small_disk, tmp_path,
                                                             reserve_mb, monkeypatch):
    if reserve_mb is not None:  # no early stop: a write of the run itself hits the full disk
        monkeypatch.setenv("AGENTFORGE_MIN_FREE_MB", reserve_mb)
    config = demo_run_config(tmp_path, model_delay=3)
    run_dir = small_disk / "run"
    run = start_run(tmp_path, ["--config", str(config), "--run-dir", str(run_dir)])
    try:
        wait_until(lambda: any(r["finished"] for r in evaluation_rows(run_dir)), run, 900,
                   "a finished evaluation")
        filler = fill(small_disk)
        code = run.wait(timeout=900)
    finally:
        run.kill()
    output = run.output()
    assert code == 2, output[-3000:]
    assert f"the filesystem of the run directory {run_dir} is full" in output
    assert f"agentforge evolve --resume {run_dir}" in output

    state = archive_state(run_dir)
    assert state.integrity == "ok" and state.problems == []
    # Nothing was blamed on an agent: no failed or invalid child, no task failed for it.
    assert all(status in ("evaluating", "evaluated", "pending") for _, status in state.nodes)
    reasons = " ".join(str(r["reason"]) for r in evaluation_rows(run_dir)).lower()
    assert "space" not in reasons and "full" not in reasons and "error" not in reasons

    if reserve_mb is None:
        return  # the resume below is the same for both ways of stopping
    filler.unlink()
    set_model_delay(tmp_path, 0)
    resumed = subprocess.run([*EVOLVE, "--resume", str(run_dir)], capture_output=True,
                             text=True, timeout=1500)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = archive_state(run_dir)
    assert state.integrity == "ok" and state.problems == []
    assert (state.status, state.unfinished) == ("finished", [])
    assert state.finished == expected_complete_archive()


def test_a_full_disk_is_told_apart_from_other_errors(tmp_path):
    import errno
    import sqlite3

    from agentforge.evolve.rundir.diskspace import HostDiskFull, is_disk_full
    from agentforge.store.errors import StoreError

    try:  # SQLite's own words, chained under our error as the store would raise it
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as exc:
            raise StoreError("cannot finish evaluation 3") from exc
    except StoreError as chained:
        assert is_disk_full(chained)
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(HostDiskFull("the filesystem is full"))
    assert is_disk_full(RuntimeError("git: fatal: write error: No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(RuntimeError("the agent failed"))
