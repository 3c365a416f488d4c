"""Where each record lies in a partition file, so that one record is read without the day.

A partition is one JSON object as kzfeed writes it (orjson, compact):
``{"items":{"<doc id>":{…record…},"<doc id>":{…},…}}``.  A record's doc id is the only key
made of digits alone, and a key is always a quoted string right after ``{`` or ``,`` — in a
string value a quote is escaped — so one pass of a regular expression over the bytes finds
where every record starts, and the next one's start (or the file's closing ``}}``) where it
ends.  Reading one record is then a seek and a read of a kilobyte, not decoding a day of
36,000 items into 200 MB of Python objects (the biggest update loaded three such days to
update one story each).

Nothing here is trusted blindly: a record read must decode to an object whose id is the one
asked for, and the spans are kept with the file's stamp (size, time); a file that is not
shaped as above, a record that does not decode, or a file replaced since, and the caller
reads the day whole, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .files import stamp

_OPEN = b'{"items":{'
_CLOSE = b"}}"
_KEY = re.compile(rb'[{,]"(\d+)":\{')


@dataclass(frozen=True)
class Spans:
    """A partition file's records: doc id -> (start, end) of its JSON object; ``at`` None
    when the file is not one this module can read so (it is read whole)."""

    stamp: list[int] | None
    at: dict[int, tuple[int, int]] | None


def scan(path: Path) -> Spans:
    """Find every record of a partition file (one read of the file, no decoding)."""
    before = stamp(path)
    try:
        raw = path.read_bytes()
    except OSError:
        return Spans(before, None)
    spans = spans_of(raw)
    if stamp(path) != before:  # replaced while it was read
        return Spans(None, None)
    return Spans(before, spans)


def spans_of(raw: bytes) -> dict[int, tuple[int, int]] | None:
    """Each record's span in a partition file's bytes (doc id -> start, end); None when the
    bytes are not laid out as kzfeed writes a partition."""
    if not raw.startswith(_OPEN) or not raw.endswith(_CLOSE):
        return None
    if raw == _OPEN + _CLOSE:
        return {}
    at: dict[int, tuple[int, int]] = {}
    doc, start = -1, -1
    for key in _KEY.finditer(raw, len(_OPEN) - 1):  # one match at a time: no list of them
        if doc < 0:
            if key.start() != len(_OPEN) - 1:
                return None
        else:
            at[doc] = (start, key.start())
        doc, start = int(key.group(1)), key.end() - 1
    if doc < 0:
        return None
    at[doc] = (start, len(raw) - len(_CLOSE))
    return at


def ids_in(raw: bytes) -> set[int]:
    """The doc ids a partition file's bytes hold (as `spans_of` finds them)."""
    return {int(found) for found in _KEY.findall(raw, len(_OPEN) - 1)}


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
