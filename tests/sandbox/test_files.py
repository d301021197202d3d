"""Files in and out of sandboxes: round trips, and tars that try to write outside."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from agentforge.errors import SandboxError
from agentforge.sandbox import Sandbox, SandboxConfig
from agentforge.sandbox.files import extract_safely, pack_directory


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    buffer.seek(0)
    return buffer


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


# -- extract_safely on crafted archives (no Docker) ---------------------------------------

UNSAFE = {
    "absolute path": [(entry("/tmp/agentforge-escape-abs"), b"x")],
    "dot-dot path": [(entry("../agentforge-escape-dotdot"), b"x")],
    "absolute symlink": [(entry("link", tarfile.SYMTYPE, "/etc/passwd"), None)],
    "outward symlink": [(entry("link", tarfile.SYMTYPE, "../../../etc"), None)],
    "outward hard link": [(entry("hard", tarfile.LNKTYPE, "/etc/passwd"), None)],
    "device node": [(entry("dev", tarfile.CHRTYPE), None)],
    "file through a link": [
        (entry("ok.txt"), b"fine"),
        (entry("out", tarfile.SYMTYPE, "/tmp"), None),
        (entry("out/agentforge-escape-via-link"), b"x"),
    ],
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_tar_is_refused_and_nothing_is_written(case: str, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = outside / "inner" / "dest"
    with pytest.raises(SandboxError, match="refused an unsafe entry"):
        extract_safely(tar_of(*UNSAFE[case]), destination)
    # Checked before writing: not even the harmless entries landed.
    assert list(destination.iterdir()) == []
    assert sorted(p.name for p in outside.rglob("*")) == ["dest", "inner"]
    assert not Path("/tmp/agentforge-escape-abs").exists()
    assert not Path("/tmp/agentforge-escape-via-link").exists()


def test_safe_tar_with_an_inner_relative_symlink_extracts(tmp_path: Path):
    archive = tar_of(
        (entry("pkg/data.txt"), b"payload"),
        (entry("pkg/alias.txt", tarfile.SYMTYPE, "data.txt"), None),
    )
    extract_safely(archive, tmp_path)
    assert (tmp_path / "pkg" / "alias.txt").is_symlink()
    assert (tmp_path / "pkg" / "alias.txt").read_bytes() == b"payload"


def test_pack_directory_sets_owner_and_skips_caches(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("print(1)\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"\0")
    with pack_directory(tmp_path, uid=1000, gid=1000) as packed, tarfile.open(
        fileobj=packed
    ) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"src", "src/a.py"}
    assert {(m.uid, m.gid) for m in members.values()} == {(1000, 1000)}


# -- through a real sandbox ----------------------------------------------------------------


@pytest.fixture
def box(agent_image: str):
    with Sandbox(SandboxConfig(image=agent_image)) as sandbox:
        yield sandbox


def test_copy_in_then_copy_out_round_trips_bytes_modes_and_links(box: Sandbox, tmp_path: Path):
    source = tmp_path / "source"
    (source / "pkg" / "deep").mkdir(parents=True)
    (source / "pkg" / "deep" / "blob.bin").write_bytes(bytes(range(256)) * 1000)
    (source / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (source / "run.sh").chmod(0o755)
    (source / "pkg" / "link").symlink_to("deep/blob.bin")
    box.copy_in(source, "/workspace")

    ran = box.exec(["./run.sh"])
    assert ran.ok and ran.output == "ran\n"
    owner = box.exec(["stat", "-c", "%u", "/workspace/pkg/deep/blob.bin"]).output.strip()
    assert owner == "1000"
    box.exec("echo made-inside > /workspace/pkg/new.txt")

    out = box.copy_out("/workspace/pkg", tmp_path / "back")
    assert out == tmp_path / "back" / "pkg"
    assert (out / "deep" / "blob.bin").read_bytes() == bytes(range(256)) * 1000
    assert (out / "new.txt").read_text() == "made-inside\n"
    assert (out / "link").is_symlink() and (out / "link").read_bytes()[:3] == b"\0\1\2"
    assert box.read_file("/workspace/pkg/new.txt") == b"made-inside\n"


def test_write_files_then_read_file(box: Sandbox):
    box.write_files("/task", {"problem.md": "# fix it\n", "sub/deeper/x.bin": b"\0\1"})
    assert box.read_file("/task/problem.md") == b"# fix it\n"
    assert box.read_file("/task/sub/deeper/x.bin") == b"\0\1"
    # Folders made on the way belong to the sandbox user, who can add files to them.
    owners = box.exec(["stat", "-c", "%u", "/task/sub", "/task/sub/deeper"]).output.split()
    assert owners == ["1000", "1000"]
    assert box.exec(["touch", "/task/sub/deeper/more.txt"]).ok
    age = box.exec(["sh", "-c", "echo $(( $(date +%s) - $(stat -c %Y /task/problem.md) ))"])
    assert int(age.output) < 3600
    with pytest.raises(SandboxError, match="does not exist"):
        box.read_file("/task/missing.txt")


def test_copy_out_refuses_a_symlink_to_an_absolute_host_path(box: Sandbox, tmp_path: Path):
    box.exec("mkdir -p /workspace/out && echo hi > /workspace/out/a.txt"
             " && ln -s /etc/passwd /workspace/out/passwd")
    destination = tmp_path / "dest"
    with pytest.raises(SandboxError, match="refused an unsafe entry"):
        box.copy_out("/workspace/out", destination)
    assert not (destination / "out").exists()


def test_copy_out_refuses_a_symlink_climbing_out_of_the_destination(box: Sandbox, tmp_path: Path):
    box.exec("mkdir -p /workspace/out && ln -s ../../../../../../../../root /workspace/out/up")
    with pytest.raises(SandboxError, match="refused an unsafe entry"):
        box.copy_out("/workspace/out", tmp_path / "dest")
    assert not (tmp_path / "dest" / "out").exists()


def test_copy_out_refuses_more_than_max_bytes(box: Sandbox, tmp_path: Path):
    box.exec("head -c 3000000 /dev/zero > /workspace/big")
    with pytest.raises(SandboxError, match="exceeds"):
        box.copy_out("/workspace/big", tmp_path / "dest", max_bytes=1_000_000)
