"""Shortening a JSON text of any size as a stream: every string cut to a length, in bounded memory.

An agent's trajectory.json can be larger than the host should hold in memory (a 4 MB tool
argument repeated, a runaway log): json.loads of it is not an option. `JsonShortener` is fed
the text in chunks and writes a copy whose strings are at most `limit` bytes long (cut on a
character boundary, never inside an escape, with a note of what was cut), so the copy is
valid JSON whenever the original is; it gives up (`over`) as soon as the copy passes
`max_bytes`, so a caller can try again with a shorter limit. It also remembers the
top-level `stop_reason`, for the case where nothing else fits.
"""

from __future__ import annotations

import json
import re

_SPECIAL = re.compile(rb'["\\]')
_KEPT_TEXT = 256
"""Bytes of each string kept aside (keys and the stop_reason value)."""


class JsonShortener:
    """Copies a JSON text with every string cut to `limit` bytes; feed it chunks."""

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit, self.max_bytes = limit, max_bytes
        self.out = bytearray()
        self.over = False
        """The copy passed max_bytes: stop feeding, try a shorter limit."""
        self.stop_reason: str | None = None
        """The top-level "stop_reason" string, once seen."""
        self.strings_cut = 0
        self._pending = b""
        self._in_string = False
        self._kept = self._cut = 0
        self._text = bytearray()
        self._depth = 0
        self._closed: bytes | None = None  # the string just closed at depth 1 (maybe a key)
        self._key: bytes | None = None
        self._capture = False

    def feed(self, data: bytes) -> None:
        """Copy the next piece of the text."""
        data, self._pending = self._pending + data, b""
        pos = 0
        while pos < len(data) and not self.over:
            if not self._in_string:
                quote = data.find(b'"', pos)
                end = len(data) if quote < 0 else quote
                self._structure(data[pos:end])
                self.out += data[pos:end]
                if quote < 0:
                    break
                self._open_string()
                pos = quote + 1
            else:
                special = _SPECIAL.search(data, pos)
                end = len(data) if special is None else special.start()
                self._content(data[pos:end])
                if special is None:
                    break
                if data[end] == ord('"'):
                    self._close_string()
                    pos = end + 1
                    continue
                size = 6 if data[end + 1:end + 2] == b"u" else 2
                if end + size > len(data):  # an escape split between chunks
                    self._pending = data[end:]
                    break
                self._content(data[end:end + size], whole=True)
                pos = end + size
            self.over = len(self.out) > self.max_bytes

    def _structure(self, between: bytes) -> None:
        """Track depth, and which top-level key the next value belongs to."""
        rest = between.lstrip()
        if self._depth == 1 and self._closed is not None and rest.startswith(b":"):
            self._key = self._closed
            rest = rest[1:]
        if b"," in rest or b"}" in rest:
            self._key = None
        self._closed = None
        self._depth += (between.count(b"{") + between.count(b"[")
                        - between.count(b"}") - between.count(b"]"))

    def _open_string(self) -> None:
        self.out += b'"'
        self._in_string, self._kept, self._cut = True, 0, 0
        self._text.clear()
        self._capture = self._depth == 1 and self._key == b"stop_reason"

    def _content(self, piece: bytes, whole: bool = False) -> None:
        if len(self._text) < _KEPT_TEXT:
            self._text += piece[:_KEPT_TEXT - len(self._text)]
        room = self.limit - self._kept
        if self._cut or len(piece) <= room:
            if self._cut:
                self._cut += len(piece)
            else:
                self.out += piece
                self._kept += len(piece)
            return
        keep = b"" if whole else piece[:room]
        while keep and keep[-1] & 0xC0 == 0x80:  # not inside a UTF-8 character
            keep = keep[:-1]
        if keep and keep[-1] >= 0xC0:
            keep = keep[:-1]
        self.out += keep
        self._kept = self.limit
        self._cut = len(piece) - len(keep)

    def _close_string(self) -> None:
        if self._cut:
            self.out += b"...[%d bytes cut]" % self._cut
            self.strings_cut += 1
        self.out += b'"'
        self._in_string = False
        text = _decode(bytes(self._text))
        if self._capture and text is not None:
            self.stop_reason = text
        self._capture = False
        self._closed = bytes(self._text) if self._depth == 1 else None


def _decode(raw: bytes) -> str | None:
    try:
        return json.loads(b'"' + raw + b'"')
    except ValueError:
        return None
