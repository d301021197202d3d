"""An agent's output folder is copied into the run directory within a cap, and the kept
trajectory says what was cut (a real sandbox writes the folder as an agent would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentforge.errors import SandboxError
from agentforge.evolve.config import build_config
from agentforge.evolve.operators.failures import trajectory_excerpt
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.trajectory_copy import NOTE_FILE, NOTE_KEY, copy_trajectory

MIB = 1024 * 1024
TRAJECTORY = {"stop_reason": "submitted", "model": "m",
              "messages": {"coder": [{"role": "user", "content": "fix it"},
                                     {"role": "assistant", "content": "done"}]}}


@pytest.fixture
def box(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image)) as sandbox:
        yield sandbox


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_folder_over_the_cap_keeps_the_trajectory_and_says_what_was_left_out(box, tmp_path):
    box.write_files("/task/out", {"trajectory.json": json.dumps(TRAJECTORY),
                                  "notes/small.txt": "kept\n"})
    # 40 MiB of junk next to the trajectory: the agent is free to write it, not to make the
    # run keep it.
    assert box.exec("head -c 41943040 /dev/urandom > /task/out/junk.bin").ok
    copied = copy_trajectory(box, "/task/out", tmp_path / "copy", max_bytes=1 * MIB)
    out = tmp_path / "copy" / "out"
    assert copied.folder == out and copied.truncated
    assert _tree_bytes(out) < 1 * MIB + 64 * 1024  # the cap, plus the note
    assert not (out / "junk.bin").exists()
    assert (out / "notes" / "small.txt").read_text() == "kept\n"
    kept = json.loads((out / "trajectory.json").read_text())
    assert kept["stop_reason"] == "submitted" and kept["messages"] == TRAJECTORY["messages"]
    note = kept[NOTE_KEY]
    assert note["cap_bytes"] == 1 * MIB
    assert {"path": "junk.bin", "bytes": 41943040} in note["dropped"]
    assert "junk.bin (41943040 bytes)" in (out / NOTE_FILE).read_text()
    # The diagnosis, reading the parent's failures, is told the trajectory is partial.
    excerpt = trajectory_excerpt(str(tmp_path / "copy"), 4000)
    assert "(trajectory cut at 1048576 bytes: 1 file(s) left out)" in excerpt


def test_a_trajectory_over_the_cap_alone_is_kept_shortened_and_valid(box, tmp_path):
    huge = dict(TRAJECTORY, messages={"coder": [{"role": "tool", "content": "x" * (3 * MIB)},
                                                {"role": "assistant", "content": "done"}]})
    box.write_files("/task/out", {"trajectory.json": json.dumps(huge)})
    copy_trajectory(box, "/task/out", tmp_path / "copy", max_bytes=1 * MIB)
    path = tmp_path / "copy" / "out" / "trajectory.json"
    assert path.stat().st_size < 1 * MIB
    kept = json.loads(path.read_text())
    assert kept["stop_reason"] == "submitted" and kept[NOTE_KEY]["trajectory_shortened"]
    tool, last = kept["messages"]["coder"]
    assert tool["role"] == "tool" and tool["content"].endswith("characters cut]")
    assert last == {"role": "assistant", "content": "done"}


def test_a_folder_under_the_cap_is_copied_whole_without_a_note(box, tmp_path):
    box.write_files("/task/out", {"trajectory.json": json.dumps(TRAJECTORY), "log.txt": "x\n"})
    copied = copy_trajectory(box, "/task/out", tmp_path / "copy", max_bytes=1 * MIB)
    out = tmp_path / "copy" / "out"
    assert not copied.truncated and not (out / NOTE_FILE).exists()
    assert json.loads((out / "trajectory.json").read_text()) == TRAJECTORY
    assert (out / "log.txt").read_text() == "x\n"


def test_a_link_out_of_the_folder_is_refused(box, tmp_path):
    box.write_files("/task/out", {"trajectory.json": json.dumps(TRAJECTORY)})
    assert box.exec("ln -s /etc/passwd /task/out/passwd").ok
    with pytest.raises(SandboxError, match="unsafe"):
        copy_trajectory(box, "/task/out", tmp_path / "copy", max_bytes=1 * MIB)
    assert not (tmp_path / "copy" / "out" / "passwd").exists()


def test_the_cap_is_a_run_setting():
    base = {"benchmark": {"name": "local"}}
    assert build_config(base, "test").evaluation.max_trajectory_mb == 16.0
    config = build_config({**base, "evaluation": {"max_trajectory_mb": 2}}, "test")
    assert config.evaluation.max_trajectory_mb == 2.0
