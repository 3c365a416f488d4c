"""Where each record lies in a partition file, so that one record is read without the day.

A partition is one JSON object as kzfeed writes it (orjson, compact):
``{"items":{"<doc id>":{…record…},"<doc id>":{…},…}}``.  A record's doc id is the only key
made of digits alone, and a key is always a quoted string right after ``{`` or ``,`` — in a
string value a quote is escaped — so one pass of a regular expression over the bytes, a
megabyte at a time (`survey`), finds where every record starts, and the next one's start
(or the file's closing ``}}``) where it ends.  Reading one record is then a seek and a read
of a kilobyte, not decoding a day of 36,000 items into 200 MB of Python objects (the biggest
update loaded three such days to update one story each).

Nothing here is trusted blindly: a record read must decode to an object whose id is the one
asked for, and the spans are kept with the file's stamp (size, time); a file that is not
shaped as above, a record that does not decode, or a file replaced since, and the caller
reads the day whole, as before.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from .files import CHUNK, stamp

_OPEN = b'{"items":{'
_CLOSE = b"}}"
EMPTY = _OPEN + _CLOSE
_QUOTED_KEY = re.compile(rb'"(\d+)":\{')  # a key without the brace or comma before it
_KEY_FOLLOWS = b"{,"
# the start of a key cut by the end of a chunk: its brace or comma, maybe its quote and
# digits, maybe the closing quote and colon
_CUT_KEY = re.compile(rb'[{,](?:"\d*(?:":?)?)?')


@dataclass(frozen=True)
class Spans:
    """A partition file's records: doc id -> (start, end) of its JSON object; ``at`` None
    when the file is not one this module can read so (it is read whole)."""

    stamp: list[int] | None
    at: dict[int, tuple[int, int]] | None


@dataclass(frozen=True)
class Layout:
    """What one pass over a partition file's bytes found: how many there are, their CRC-32,
    and each record's span (doc id -> start, end); ``at`` is None when the bytes are not
    laid out as kzfeed writes a partition."""

    size: int
    crc: int
    at: dict[int, tuple[int, int]] | None
    head_crc: int | None = None  # of every byte but the closing ``}}``, when found


def scan(path: Path) -> Spans:
    """Find every record of a partition file (one pass over the file, no decoding)."""
    before = stamp(path)
    try:
        with open(path, "rb") as fh:
            layout = survey(fh)
    except OSError:
        return Spans(before, None)
    if stamp(path) != before:  # replaced while it was read
        return Spans(None, None)
    return Spans(before, layout.at)


def survey(fh: BinaryIO, chunk: int = CHUNK) -> Layout:
    """Read a partition file from its start a chunk at a time (never whole: a busy day is
    46 MB): its size, CRC-32 and where each record lies.  A key cut by a chunk's end is
    carried into the next chunk; a key is found once, where it starts."""
    size = crc = base = before = 0
    carry = first = last = tail = b""
    at: dict[int, tuple[int, int]] | None = {}
    doc, start = -1, -1
    behind = 0  # the byte before the buffer: what precedes a key found at its start
    while data := fh.read(chunk):
        before, tail = crc, data  # the CRC before the last chunk read, and that chunk
        crc = zlib.crc32(data, crc)
        size += len(data)
        if len(first) < len(_OPEN):
            first += data[: len(_OPEN) - len(first)]
        last = (last + data)[-len(_CLOSE) :]
        if at is None:
            continue
        buf = carry + data
        for key in _QUOTED_KEY.finditer(buf):
            # the key's opening quote found first (a literal: five times faster than a
            # pattern that begins with a class), then the brace or comma before it
            if key.start() == 0:
                if behind not in _KEY_FOLLOWS:
                    continue
            elif buf[key.start() - 1] not in _KEY_FOLLOWS:
                continue
            where = base + key.start() - 1
            if doc < 0:
                if where != len(_OPEN) - 1:
                    at = None
                    break
            else:
                at[doc] = (start, where)
            doc, start = int(key.group(1)), base + key.end() - 1
        # only the last brace or comma can begin a key the chunk's end cut
        cut = max(buf.rfind(b"{"), buf.rfind(b","))
        carry = buf[cut:] if cut >= 0 and _CUT_KEY.fullmatch(buf, cut) else b""
        behind = buf[len(buf) - len(carry) - 1] if len(buf) > len(carry) else behind
        base += len(buf) - len(carry)
    if first != _OPEN or last != _CLOSE or size < len(EMPTY):
        return Layout(size, crc, None)
    if at is None or size == len(EMPTY):
        return Layout(size, crc, at)
    if doc < 0:
        return Layout(size, crc, None)
    at[doc] = (start, size - len(_CLOSE))
    # what a patch that only appends copies as it is: its CRC, so the bytes need not pass
    # through Python again (unknown when the closing braces were cut by a chunk's end)
    head = zlib.crc32(tail[: -len(_CLOSE)], before) if len(tail) >= len(_CLOSE) else None
    return Layout(size, crc, at, head)


def read_record(path: Path, spans: Spans, doc_id: int) -> dict[str, Any] | None:
    """The record ``doc_id`` of the file, read from its span; None when it cannot be read
    so (not there, the file changed, the bytes are not that record)."""
    span = spans.at.get(doc_id) if spans.at is not None else None
    if span is None:
        return None
    start, end = span
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start)
        record = orjson.loads(data)
    except (OSError, orjson.JSONDecodeError):
        return None
    return record if is_record(record, doc_id) else None


def is_record(value: Any, doc_id: int) -> bool:
    """Whether a decoded value is the record of ``doc_id``."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return False
    try:
        return int(value["id"], 16) == doc_id
    except ValueError:
        return False
