"""OPML subscription lists: reading 1.0/2.0 (pure: bytes -> outlines and what was skipped)
and writing 2.0 (pure: feeds -> text).

OPML files come from other programs and from the web: they are untrusted.  A DTD with
entities is refused (expat would expand "billion laughs"), only http(s) feed URLs are taken,
and every outline that is not imported is reported with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from . import rubrics
from .errors import KzfeedError
from .normalize import canonical_url, http_url
from .sanitize import clean_line
from .words import tr

MAX_OPML_BYTES = 32 * 1024 * 1024
_DTD = re.compile(rb"<!DOCTYPE[^>\[]*\[|<!ENTITY", re.I)


@dataclass(frozen=True)
class Outline:
    url: str
    title: str | None
    rubric: str | None  # from a category attribute or an enclosing folder's text
    lang: str | None


@dataclass(frozen=True)
class Skipped:
    what: str
    reason: str


def parse_opml(data: bytes, known_urls: Iterable[str] = ()) -> tuple[list[Outline], list[Skipped]]:
    """The feed outlines of an OPML document, in document order, and the skipped ones.

    ``known_urls``: feeds already subscribed (compared by canonical URL).
    """
    if len(data) > MAX_OPML_BYTES:
        raise KzfeedError(tr("OPML file is larger than {limit} bytes").format(limit=MAX_OPML_BYTES))
    if _DTD.search(data[:65536]):
        raise KzfeedError(tr("OPML declares a DTD with entities; refused (XML entity expansion)"))
    try:
        root = ET.fromstring(data)  # noqa: S314 - DTDs/entities refused above; expat reads no URL
    except ET.ParseError as exc:
        raise KzfeedError(tr("not a valid OPML file: {reason}").format(reason=exc)) from None
    if root.tag.lower() != "opml":
        raise KzfeedError(
            tr("not an OPML file (root element <{tag}>)").format(tag=clean_line(root.tag)[:40])
        )
    body = next((child for child in root if child.tag.lower() == "body"), None)
    if body is None:
        raise KzfeedError(tr("OPML file has no <body>"))
    seen = {c for c in (canonical_url(u) for u in known_urls) if c}
    found: list[Outline] = []
    skipped: list[Skipped] = []

    def walk(element: ET.Element, folder_rubric: str | None) -> None:
        for outline in element:
            if outline.tag.lower() != "outline":
                continue
            attrs = {k.lower(): v for k, v in outline.attrib.items()}
            text = clean_line(attrs.get("title") or attrs.get("text") or "")
            raw_url = clean_line(attrs.get("xmlurl") or "")
            rubric = _rubric_of(attrs.get("category")) or folder_rubric
            if not raw_url:
                if len(outline):  # a folder: its text may name a rubric
                    walk(outline, rubrics.resolve(text) or folder_rubric)
                elif text:
                    skipped.append(Skipped(text[:80], tr("no xmlUrl: not a feed")))
                continue
            label = f"{text[:60]} <{raw_url[:120]}>" if text else raw_url[:160]
            scheme = urlsplit(raw_url).scheme.lower() if ":" in raw_url else ""
            if scheme not in ("http", "https"):
                reason = (
                    tr("{scheme}: URL refused: only http(s) feeds are imported").format(
                        scheme=scheme
                    )
                    if scheme
                    else tr("a relative or local path URL refused: only http(s) feeds are imported")
                )
                skipped.append(Skipped(label, reason))
                continue
            canon = canonical_url(raw_url)
            if canon is None:
                skipped.append(Skipped(label, tr("not a valid http(s) URL")))
                continue
            if canon in seen:
                skipped.append(
                    Skipped(label, tr("duplicate: already subscribed or listed earlier"))
                )
                continue
            seen.add(canon)
            lang = clean_line(attrs.get("language") or "")[:2].lower() or None
            found.append(Outline(raw_url, text or None, rubric, lang))
            if len(outline):
                walk(outline, rubric)

    walk(body, None)
    return found, skipped


def _rubric_of(category: str | None) -> str | None:
    """An OPML category ("/Политика", "news,Экономика") as a rubric key, if one matches."""
    if not category:
        return None
    for part in re.split(r"[,/]", category):
        key = rubrics.resolve(part)
        if key is not None:
            return key
    return None


# ---------------------------------------------------------------------------- OPML


def to_opml(feeds: Sequence[Mapping[str, Any]], generated: datetime, lang: str) -> str:
    """OPML 2.0, one folder per default rubric, that newsboat, Miniflux and reader import.

    ``feeds``: dicts with name, url, title, rubric, lang; only http(s) URLs are written.
    """
    from .digest import xml_text

    opml = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = "kzfeed subscriptions"
    from email.utils import format_datetime

    ET.SubElement(head, "dateCreated").text = format_datetime(generated)
    body = ET.SubElement(opml, "body")
    folders: dict[str, ET.Element] = {}
    for feed in sorted(
        feeds, key=lambda f: (rubrics.sort_key(f.get("rubric") or "other"), f["name"])
    ):
        url = http_url(feed.get("url"))
        if url is None:
            continue
        key = feed.get("rubric") or "other"
        if key not in folders:
            label = rubrics.label(key, lang)
            folders[key] = ET.SubElement(body, "outline", {"text": label, "title": label})
        title = xml_text(feed.get("title") or feed["name"])
        attrs = {"type": "rss", "text": title, "title": title, "xmlUrl": url, "category": key}
        if feed.get("lang"):
            attrs["language"] = str(feed["lang"])
        ET.SubElement(folders[key], "outline", attrs)
    ET.indent(opml, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(opml, encoding="unicode") + "\n"
