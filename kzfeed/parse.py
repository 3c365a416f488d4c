"""Bytes + response headers -> raw feed entries, with feedparser only (no I/O).

feedparser is only ever given the bytes wrapped in a BytesIO: given a ``str`` or even a
``bytes`` value it may treat it as a URL or a file name and read it.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

import feedparser

from .dates import parse_human_date
from .encoding import as_utf8, repair_char_refs
from .errors import FeedError
from .words import tr

# feedparser's date handlers know no time zone; the feed's is set for each parse.
_current_tz: list[tzinfo] = [UTC]


# What feedparser's own handlers read: RFC 822 with an English month and a numeric or UTC
# zone, and W3C/ISO 8601.  Ours runs first (registerDateHandler puts it there) and would
# spend 15-25 µs on each such date, a few per cent of a cold update's parsing.
_FEEDPARSER_OWN = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d\d(?::\d\d)?"
    r"\s+(?:[+-]\d{4}|GMT|UTC?|Z)\s*$"
    r"|\s*\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)\s*$"
)


def _ru_kk_date_handler(value: str) -> time.struct_time | None:
    """feedparser date handler for Russian and Kazakh month names ("3 февраля 2023 10:00")."""
    if _FEEDPARSER_OWN.match(value):
        return None  # the common case, left to feedparser's own handlers
    parsed = parse_human_date(value, _current_tz[0])
    if parsed is None:
        return None
    return parsed.astimezone(UTC).timetuple()


feedparser.registerDateHandler(_ru_kk_date_handler)

# feedparser asks xml.sax for libxml2's driver first, on every parse: an import that fails
# (0.05 ms a parse, a tenth of parsing a steady poll's few new items), and a parser kzfeed
# has not vetted if it ever were installed.  The standard library's expat is the one used.
feedparser.api.PREFERRED_XML_PARSERS[:] = []

# A DTD's internal subset and its general entities, read by kzfeed (feedparser's parser
# must never see one: it would expand them without a bound).
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE\s+([A-Za-z_][\w.:-]*)[^\[<>]*\[", re.I)
_SUBSET_END = re.compile(rb"\]\s*>")
_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+(%\s*)?([A-Za-z_][\w.:-]*)\s+"""
    rb"""(?:"([^"<]*)"|'([^'<]*)'|((?:SYSTEM|PUBLIC)\b[^>]*))\s*>""",
    re.I,
)
_SUBSET_OTHER = re.compile(
    rb"\s+|<!--.*?-->|<!(?:ELEMENT|ATTLIST|NOTATION)\b[^>]*>|<\?.*?\?>", re.S
)
_ENTITY_REF = re.compile(rb"&([A-Za-z_][\w.:-]*);")
_PREDEFINED = frozenset((b"lt", b"gt", b"amp", b"quot", b"apos"))
MAX_ENTITIES = 64
MAX_ENTITY_BYTES = 1024  # one entity, expanded
MAX_ENTITY_DEPTH = 4
MAX_EXPANSION = 256 * 1024  # every reference in the document, expanded, together


def _refuse(why: str) -> FeedError:
    return FeedError(
        tr("feed declares a DTD with entities; refused (XML entity expansion: {reason})").format(
            reason=why
        )
    )


def expand_entities(body: bytes) -> bytes:
    """A body whose DTD declares entities, with kzfeed doing the expansion under a hard
    bound: internal general entities (``<!ENTITY nbsp "&#160;">``, seen in old Russian
    feeds) are substituted and the internal subset removed; external and parameter
    entities, an entity over 1 KiB expanded, nesting past 4 levels, over 64 entities, or over
    256 KiB of expansion in all (billion laughs, one 80 KB entity used 20,000 times) refuse
    the feed.  ``body`` is ASCII-compatible."""
    head = body[:65536]
    subset = _DOCTYPE_SUBSET.search(head)
    if subset is None:
        if re.search(rb"<!ENTITY", head, re.I):
            raise _refuse(tr("an entity outside a DOCTYPE"))
        return body
    end = _SUBSET_END.search(body, subset.end())
    if end is None:
        raise _refuse(tr("a DOCTYPE that never closes"))
    raw: dict[bytes, bytes] = {}
    pos = subset.end()
    while pos < end.start():
        decl = _ENTITY_DECL.match(body, pos, end.start())
        if decl is not None:
            if decl.group(1) or decl.group(5):
                raise _refuse(tr("an external or parameter entity"))
            name = decl.group(2)
            if name not in _PREDEFINED and name not in raw:
                raw[name] = decl.group(3) if decl.group(3) is not None else decl.group(4)
            pos = decl.end()
            continue
        other = _SUBSET_OTHER.match(body, pos, end.start())
        if other is None or other.end() == pos:
            raise _refuse(tr("a declaration kzfeed does not read"))
        pos = other.end()
    if len(raw) > MAX_ENTITIES:
        raise _refuse(tr("over {n} entities").format(n=MAX_ENTITIES))
    expanded: dict[bytes, bytes] = {}
    levels: dict[bytes, int] = {}  # how deep an entity's references go

    def value(name: bytes, seen: tuple[bytes, ...] = ()) -> bytes:
        if name in expanded:
            return expanded[name]
        if name in seen:
            raise _refuse(tr("an entity that refers to itself"))
        depth = 0

        def inner(ref: re.Match[bytes]) -> bytes:
            nonlocal depth
            if ref.group(1) not in raw:
                return ref.group(0)
            text = value(ref.group(1), (*seen, name))
            depth = max(depth, levels[ref.group(1)] + 1)
            return text

        text = _ENTITY_REF.sub(inner, raw[name])
        if depth > MAX_ENTITY_DEPTH:
            raise _refuse(tr("entities nested over {n} deep").format(n=MAX_ENTITY_DEPTH))
        if len(text) > MAX_ENTITY_BYTES:
            raise _refuse(tr("an entity of over {n} bytes").format(n=MAX_ENTITY_BYTES))
        expanded[name], levels[name] = text, depth
        return text

    for name in raw:
        value(name)
    total = 0

    def substitute(ref: re.Match[bytes]) -> bytes:
        nonlocal total
        text = expanded.get(ref.group(1))
        if text is None:
            return ref.group(0)
        total += len(text)
        if total > MAX_EXPANSION:
            raise _refuse(tr("over {n} KiB of expansion").format(n=MAX_EXPANSION // 1024))
        return text

    rest = _ENTITY_REF.sub(substitute, body[end.end() :]) if expanded else body[end.end() :]
    return body[: subset.start()] + b"<!DOCTYPE " + subset.group(1) + b">" + rest


_HTML_TAG = re.compile(rb"<(?:!doctype\s+html|html)\b", re.I)


def looks_like_html(head: bytes) -> bool:
    """Whether a body starts (after white space and comments) with an HTML doctype or tag.

    Comments are skipped with ``find``, in linear time: a regular expression that repeats a
    lazy comment pattern backtracks exponentially over a run of comments (40 of them hung
    parsing)."""
    pos = 0
    while True:
        while pos < len(head) and head[pos] in b" \t\r\n\x0c":
            pos += 1
        if not head.startswith(b"<!--", pos):
            return _HTML_TAG.match(head, pos) is not None
        end = head.find(b"-->", pos + 4)
        if end < 0:
            return False
        pos = end + 3


@dataclass(frozen=True, slots=True)
class RawFeed:
    title: str | None
    link: str | None
    language: str | None
    version: str
    entries: list[dict[str, Any]]
    bozo: str | None
    note: str | None = None


def parse_bytes(
    body: bytes, headers: dict[str, str], tz: tzinfo = UTC, max_items: int | None = None
) -> RawFeed:
    """Parse a feed body.  A recoverable malformed feed still yields its entries; anything
    that is not a feed (an HTML page, an empty body, JSON, binary) raises FeedError."""
    if not body.strip():
        raise FeedError(tr("empty response: not a feed"))
    lowered = {k.lower(): v for k, v in headers.items()}
    decoded = as_utf8(body, lowered)
    if decoded is not None:  # an encoding feedparser would get wrong, decoded here
        body, headers = decoded
    body = repair_char_refs(body)
    head = body[:65536].lstrip(b"\xef\xbb\xbf")
    body = expand_entities(body)
    if max_items is not None:  # the body is ASCII-compatible here (as_utf8 saw to that)
        count = len(_ENTRY_OPEN.findall(body))
        if count > max_items:
            raise FeedError(
                tr(
                    "feed has about {count} entries, over the limit of {limit} "
                    "(settings.max_feed_items); refused"
                ).format(count=count, limit=max_items)
            )
    _current_tz[0] = tz
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,  # we turn HTML into plain text ourselves; never emit it
        resolve_relative_uris=False,
    )
    entries = list(parsed.entries)
    bozo = parsed.get("bozo_exception")
    if not parsed.version and not entries:
        if looks_like_html(head):
            raise FeedError(tr("an HTML page, not a feed"))
        if bozo:
            raise FeedError(tr("not a feed ({reason})").format(reason=_short(bozo)))
        raise FeedError(tr("not a feed"))
    feed = parsed.feed
    note = None
    if entries and is_cut(body) and not _last_entry_closed(body):
        # the download stopped early (a server that closed the connection mid-body): the
        # last entry may be cut short; it is left for the next, whole, fetch to bring
        entries = entries[:-1]
        note = tr("the document ends before its root element closes; its last entry was left out")
    return RawFeed(
        title=feed.get("title"),
        link=feed.get("link"),
        language=feed.get("language"),
        version=parsed.version or "unknown",
        entries=entries,
        bozo=_short(bozo) if bozo else None,
        note=note,
    )


_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_PROLOG_THING = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S)


def is_cut(body: bytes) -> bool:
    """Whether an XML body (ASCII-compatible) stops before its root element closes."""
    pos = 0
    for _ in range(50):  # the prolog: declaration, comments, processing instructions, DTD
        match = _PROLOG_THING.match(body, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
    root = _ROOT.match(body, pos)
    if root is None:
        return False
    tail = body[-4096:].rstrip()
    for _ in range(50):  # trailing comments and processing instructions
        opener = b"<!--" if tail.endswith(b"-->") else b"<?" if tail.endswith(b"?>") else None
        start = tail.rfind(opener) if opener else -1
        if start < 0:
            break
        tail = tail[:start].rstrip()
    name = re.escape(root.group(1))
    return re.search(rb"</\s*" + name + rb"\s*>$", tail) is None and not tail.endswith(b"/>")


_ENTRY_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ENTRY_CLOSE = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def _last_entry_closed(body: bytes) -> bool:
    """Whether the last entry a (cut) document opens is closed in it."""
    tail = body[-262144:]
    opened = [m.start() for m in _ENTRY_OPEN.finditer(tail)]
    if not opened:
        return True
    return _ENTRY_CLOSE.search(tail, opened[-1]) is not None


def _short(exc: object) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
