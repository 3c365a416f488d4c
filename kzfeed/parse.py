"""Bytes + response headers -> raw feed entries, with feedparser only (no I/O).

feedparser is only ever given the bytes wrapped in a BytesIO: given a ``str`` or even a
``bytes`` value it may treat it as a URL or a file name and read it.
"""

from __future__ import annotations

import codecs
import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

import feedparser

from .dates import parse_human_date
from .errors import FeedError

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

_DTD_WITH_ENTITIES = re.compile(r"<!DOCTYPE[^<>\[]*\[|<!ENTITY", re.I)
_ENTRY_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def markup_text(body: bytes) -> str:
    """The body as text good enough to look for markup: UTF-16/32 by BOM or by the NUL
    pattern of "<", anything else as latin-1 (every ASCII-compatible encoding reads the
    same for tags)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, "ignore")
    if body[:2] == b"<\x00":
        return body.decode("utf-16-le", "ignore")
    if body[:2] == b"\x00<":
        return body.decode("utf-16-be", "ignore")
    return body.decode("latin-1")


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


_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I)
_CYRILLIC_GUESSES = ("cp1251", "koi8_r")


def _cyrillic_score(text: str) -> float:
    """Share of lower-case letters among Cyrillic ones: real Russian text is mostly
    lower-case; cp1251 read as KOI8-R (and the reverse) comes out mostly upper-case."""
    lower = sum(1 for ch in text if "а" <= ch <= "я" or ch == "ё")
    upper = sum(1 for ch in text if "А" <= ch <= "Я" or ch == "Ё")
    return lower / (lower + upper) if lower + upper else 0.0


def sniff_encoding(body: bytes, headers: dict[str, str]) -> str | None:
    """The encoding of a feed that declares none (no BOM, no HTTP charset, no XML
    declaration) and is not UTF-8: cp1251 or KOI8-R, told apart by letter case."""
    if "charset=" in headers.get("content-type", "").lower():
        return None
    if body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or _XML_ENCODING.match(body):
        return None
    if _valid_utf8(body):
        return None
    sample = body[:65536]
    scores = {enc: _cyrillic_score(sample.decode(enc, "replace")) for enc in _CYRILLIC_GUESSES}
    best = max(scores, key=lambda enc: scores[enc])
    return best if scores[best] > 0.5 else None


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declared(body: bytes, headers: dict[str, str]) -> str | None:
    match = re.search(r"charset=[\"']?([A-Za-z0-9._-]+)", headers.get("content-type", ""), re.I)
    if match:
        return match.group(1).lower()
    xml = _XML_ENCODING.match(body)
    return xml.group(1).decode("ascii").lower() if xml else None


def repair_utf8(body: bytes, headers: dict[str, str]) -> bytes | None:
    """A UTF-8 feed with a few invalid bytes, with those bytes replaced (U+FFFD).

    feedparser would otherwise fall back to windows-1252 for the whole document and turn
    every Cyrillic letter into mojibake.  None when the body is fine or not declared UTF-8.
    """
    if _declared(body, headers) not in ("utf-8", "utf8", None) or body.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        return None
    if _valid_utf8(body):
        return None
    text = body.decode("utf-8", "replace")
    if text.count("\ufffd") > max(16, len(text) // 100):
        return None  # not UTF-8 with a few bad bytes: leave it to the sniffing
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class RawFeed:
    title: str | None
    link: str | None
    language: str | None
    version: str
    entries: list[dict[str, Any]]
    bozo: str | None


def parse_bytes(
    body: bytes, headers: dict[str, str], tz: tzinfo = UTC, max_items: int | None = None
) -> RawFeed:
    """Parse a feed body.  A recoverable malformed feed still yields its entries; anything
    that is not a feed (an HTML page, an empty body, JSON, binary) raises FeedError."""
    if not body.strip():
        raise FeedError("empty response: not a feed")
    head = body[:65536].lstrip(b"\xef\xbb\xbf")
    text = markup_text(body)
    if _DTD_WITH_ENTITIES.search(text[:65536]):
        raise FeedError("feed declares a DTD with entities; refused (XML entity expansion)")
    if max_items is not None:
        count = len(_ENTRY_TAG.findall(text))
        if count > max_items:
            raise FeedError(
                f"feed has about {count} entries, over the limit of {max_items} "
                "(settings.max_feed_items); refused"
            )
    _current_tz[0] = tz
    lowered = {k.lower(): v for k, v in headers.items()}
    repaired = repair_utf8(body, lowered)
    if repaired is not None:
        body = repaired
    guessed = sniff_encoding(body, lowered)
    if guessed is not None:
        headers = {**headers, "content-type": f"application/xml; charset={guessed}"}
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
            raise FeedError("an HTML page, not a feed")
        reason = f" ({_short(bozo)})" if bozo else ""
        raise FeedError(f"not a feed{reason}")
    feed = parsed.feed
    return RawFeed(
        title=feed.get("title"),
        link=feed.get("link"),
        language=feed.get("language"),
        version=parsed.version or "unknown",
        entries=entries,
        bozo=_short(bozo) if bozo else None,
    )


def _short(exc: object) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
