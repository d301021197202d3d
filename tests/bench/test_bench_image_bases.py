"""Images built FROM our own images (image.toml `base`): the base is part of the input hash."""

from __future__ import annotations

from agentforge.sandbox.images import ImageSpec, image_specs


def _spec(tmp_path, name: str, options: str) -> ImageSpec:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    (folder / "image.toml").write_text(options)
    return ImageSpec(name, folder)


def test_child_hash_follows_its_base(tmp_path):
    on_runtime = _spec(tmp_path, "a", 'base = "agent-runtime"\n')
    on_toolchains = _spec(tmp_path, "b", 'base = "toolchains"\n')
    # Same files, different base sources: different inputs, so a different image.
    assert on_runtime.files_hash() != on_toolchains.files_hash()
    assert on_runtime.base == "agent-runtime" and on_runtime.built_by_default


def test_declared_images():
    specs = image_specs()
    assert specs["toolchains"].base == "agent-runtime"
    assert specs["polyglot"].base == "toolchains"
    assert not specs["polyglot"].built_by_default  # big: built only when named
