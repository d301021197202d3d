"""Which Go test files a plain `go test` compiles, and which tests they define.

Read on the host from the framework's own copy of the hidden tests, never from the sandbox:
build constraints (`//go:build`, else `// +build` lines), GOOS/GOARCH file-name suffixes and
the files Go ignores (`_x.go`, `.x.go`) decide, as `go test` would decide them for the
toolchains image (linux, no cgo, Go 1.19 from Debian bookworm). A test behind a tag that a
plain `go test` does not set (Polyglot's `//go:build bonus`) is not expected.
"""

from __future__ import annotations

import platform
import re
from pathlib import PurePosixPath

GO_MINOR = 19
"""Release of the toolchains image's Go (sandboxes/toolchains: Debian's golang-go): the
`go1.N` tags up to it hold."""
KNOWN_OS = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
    "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"
})
KNOWN_ARCH = frozenset({
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips",
    "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
    "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm"
})
_ARCH_OF_MACHINE = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386"}
_GOARCH = _ARCH_OF_MACHINE.get(platform.machine(), "amd64")
SATISFIED = frozenset({"linux", "unix", "gc", _GOARCH,
                       *(f"go1.{minor}" for minor in range(1, GO_MINOR + 1))})
"""Tags a plain `go test` in the sandbox sets (CGO_ENABLED=0, so not `cgo`)."""

TEST_FUNCTION = re.compile(r"^func (Test(?![a-z])\w*)\(\s*\w+\s+\*testing\.T\s*\)", re.MULTILINE)
PACKAGE = re.compile(r"^package (\w+)", re.MULTILINE)
_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|[\w.]+)")


def builds(rel: str, source: str, tags: frozenset[str] = SATISFIED) -> bool:
    """Whether `go test` compiles this file (its name and its build constraints)."""
    name = PurePosixPath(rel).name
    if name.startswith(("_", ".")) or not _name_matches(name, tags):
        return False
    expression, plus_lines = _constraint_lines(source)
    if expression is not None:
        return _evaluate(expression, tags)
    return all(_plus_line_holds(line, tags) for line in plus_lines)


def test_functions(source: str) -> list[str]:
    """Top-level `func TestX(t *testing.T)` names, in file order."""
    return TEST_FUNCTION.findall(source)


def package_name(source: str) -> str | None:
    """The file's package clause."""
    found = PACKAGE.search(source)
    return found.group(1) if found else None


def _name_matches(name: str, tags: frozenset[str]) -> bool:
    stem = name.removesuffix(".go").removesuffix("_test")
    parts = stem.split("_")[1:]
    if len(parts) >= 2 and parts[-2] in KNOWN_OS and parts[-1] in KNOWN_ARCH:
        return parts[-2] in tags and parts[-1] in tags
    if parts and (parts[-1] in KNOWN_OS or parts[-1] in KNOWN_ARCH):
        return parts[-1] in tags
    return True


def _constraint_lines(source: str) -> tuple[str | None, list[str]]:
    """The `//go:build` expression and the `// +build` lines of the file's header."""
    expression, plus_lines = None, []
    in_block = False
    for line in source.splitlines():
        stripped = line.strip()
        if in_block:
            in_block = "*/" not in stripped
            continue
        if stripped.startswith("/*"):
            in_block = "*/" not in stripped[2:]
            continue
        if not stripped or stripped.startswith("//"):
            if stripped.startswith("//go:build") and expression is None:
                expression = stripped[len("//go:build"):].strip()
            elif re.match(r"//\s*\+build(\s|$)", stripped):
                plus_lines.append(stripped.split("+build", 1)[1].strip())
            continue
        break  # the package clause: constraints only count above it
    return expression, plus_lines


def _plus_line_holds(line: str, tags: frozenset[str]) -> bool:
    def term_holds(term: str) -> bool:
        return (term[1:] not in tags) if term.startswith("!") else term in tags

    return any(all(term_holds(term) for term in option.split(","))
               for option in line.split())


def _evaluate(expression: str, tags: frozenset[str]) -> bool:
    """A `//go:build` expression: identifiers, !, &&, || and parentheses."""
    tokens, pos = [], 0
    while pos < len(expression):
        found = _TOKEN.match(expression, pos)
        if found is None:
            return False  # go vet refuses a malformed constraint; so does the build
        tokens.append(found.group(1))
        pos = found.end()
        if not expression[pos:].strip():
            break
    value, rest = _or(tokens, tags)
    return value and not rest


def _or(tokens: list[str], tags: frozenset[str]) -> tuple[bool, list[str]]:
    value, tokens = _and(tokens, tags)
    while tokens[:1] == ["||"]:
        right, tokens = _and(tokens[1:], tags)
        value = value or right
    return value, tokens


def _and(tokens: list[str], tags: frozenset[str]) -> tuple[bool, list[str]]:
    value, tokens = _not(tokens, tags)
    while tokens[:1] == ["&&"]:
        right, tokens = _not(tokens[1:], tags)
        value = value and right
    return value, tokens


def _not(tokens: list[str], tags: frozenset[str]) -> tuple[bool, list[str]]:
    if not tokens:
        return False, tokens
    if tokens[0] == "!":
        value, rest = _not(tokens[1:], tags)
        return not value, rest
    if tokens[0] == "(":
        value, rest = _or(tokens[1:], tags)
        return value, rest[1:] if rest[:1] == [")"] else ["<unbalanced>"]
    return tokens[0] in tags, tokens[1:]
