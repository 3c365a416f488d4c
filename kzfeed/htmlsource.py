"""HTML news-list sources: a page's list of news items -> raw entries (pure: no I/O).

For agencies without a working feed (Kazinform's relaunched site, for one), a source with
``type = "html"`` names CSS selectors for the item block and, inside it, the title, link,
date, lead and rubric.  The entries this module returns have the shape feedparser's have,
so they go through the same normalize / dedup / store path as feed items.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any, NamedTuple
from urllib.parse import urljoin

from .dates import parse_day, parse_list_date
from .errors import FeedError
from .model import FeedSpec
from .presets import PRESETS
from .sanitize import clean_line
from .words import ntr, tr

REQUIRED = ("item", "title", "link")


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.I)


def selectors(spec: FeedSpec) -> dict[str, str]:
    """The preset's selectors with the config's [feeds.select] keys on top; empty when the
    source names none (its list is then found by detection)."""
    chosen = dict(PRESETS.get(spec.preset or "", {}))
    chosen.update(dict(spec.select))
    if not chosen:
        return chosen
    missing = [key for key in REQUIRED if not chosen.get(key)]
    if missing:
        raise FeedError(
            tr("HTML source needs selectors for {keys}").format(keys=", ".join(missing))
        )
    return chosen


class ListPage(NamedTuple):
    """What a news-list page gave: its title, the entries, and what to tell the user."""

    title: str | None
    entries: list[dict[str, Any]]
    note: str | None = None
    detected: dict[str, str] | None = None  # the selectors detection found, if it was used


def decode_html(body: bytes, headers: Mapping[str, str]) -> str:
    """The page's text: a BOM, else the HTTP charset, else `<meta charset>`, else UTF-8,
    else the detector's guess (cp1251/KOI8-R when it reads as Cyrillic), else UTF-8 with
    replacements."""
    from .encoding import decode

    candidates = []
    match = re.search(r"charset=[\"']?([A-Za-z0-9._-]+)", headers.get("content-type", ""), re.I)
    if match:
        candidates.append(match.group(1))
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii"))
    return decode(body, candidates)


def _text(node: Any) -> str:
    return clean_line(node.text(separator=" ")) if node is not None else ""


def alternatives(value: str) -> list[tuple[str, str | None]]:
    """A selector key's alternatives, in order: (CSS selector, attribute or None).

    "time@datetime, .date" -> [("time", "datetime"), (".date", None)]; "@href" -> the
    block's own href ("" selector).  Commas inside brackets, parentheses or quotes do not
    split."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for pos, ch in enumerate(value):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:pos])
            start = pos + 1
    parts.append(value[start:])
    out = []
    for part in parts:
        part = part.strip()
        match = re.fullmatch(r"(.*?)@([A-Za-z_:][-\w:.]*)", part, re.S)
        if match and "[" not in match.group(2):
            out.append((match.group(1).strip(), match.group(2)))
        elif part:
            out.append((part, None))
    return out


def _find(block: Any, selector: str) -> list[Any]:
    if not selector:
        return [block]
    try:
        return list(block.css(selector))
    except Exception as exc:  # selectolax: a selector it cannot read
        raise FeedError(
            tr("invalid CSS selector {selector}: {reason}").format(
                selector=repr(selector), reason=exc
            )
        ) from None


def _value(block: Any, key: str, chosen: Mapping[str, str]) -> str:
    """The first non-empty value the key's alternatives give inside ``block``."""
    for selector, attr in alternatives(chosen.get(key) or ""):
        for node in _find(block, selector)[:1]:
            if attr is not None:
                value = clean_line(node.attributes.get(attr) or "")
            elif key == "link":
                value = _href(node)
            else:
                value = _text(node)
            if value:
                return value
    return ""


def _href(node: Any) -> str:
    """A link's target: the node's href, else the first link inside it."""
    href = node.attributes.get("href")
    if not href:
        inner = node.css_first("a[href]")
        href = inner.attributes.get("href") if inner is not None else None
    return clean_line(href or "")


def _blocks(tree: Any, chosen: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The item blocks: those of the first ``item`` alternative that matches any."""
    for selector, _attr in alternatives(chosen["item"]):
        blocks = _find(tree, selector)
        if blocks:
            return selector, blocks
    return "", []


def parse_list(
    body: bytes,
    headers: Mapping[str, str],
    spec: FeedSpec,
    *,
    base_url: str,
    tz: tzinfo,
    now: datetime,
) -> ListPage:
    """The entries of a news-list page.  When the selectors match nothing (or there are
    none), the list is found by detection and the page says so in its ``note``; a page
    where nothing story-like is found is an error for that source, never an empty
    success."""
    from selectolax.lexbor import LexborHTMLParser

    chosen = selectors(spec)
    tree = LexborHTMLParser(decode_html(body, headers))
    page_title = site_name(tree)
    base_url = _document_base(tree, base_url)
    item_selector, blocks = _blocks(tree, chosen) if chosen else ("", [])
    if not blocks:
        return _detected(tree, page_title, chosen, base_url, tz, now)
    days = (
        _day_of_each(tree, item_selector, chosen.get("day"), tz, now) if chosen.get("day") else {}
    )
    entries = []
    for block in blocks:
        entry = _entry(block, chosen, base_url, tz, now, days.get(block.mem_id))
        if entry["title"] or entry["link"]:
            entries.append(entry)
    return ListPage(page_title, entries)


_TITLE_PARTS = re.compile(r"\s+[|—–·:-]{1,2}\s+")


def site_name(tree: Any) -> str | None:
    """The agency's name for a news-list page: its ``og:site_name``, else the part of its
    <title> after the last separator ("Лента новостей Казахстана и мира | Kazinform" ->
    "Kazinform"), else the whole title."""
    meta = tree.css_first('meta[property="og:site_name"]')
    if meta is not None:
        name = clean_line(meta.attributes.get("content") or "")
        if name:
            return name
    title = _text(tree.css_first("title"))
    parts = [p for p in _TITLE_PARTS.split(title) if p]
    if len(parts) > 1 and len(parts[-1]) <= 40:
        return parts[-1]
    return title or None


def _document_base(tree: Any, base_url: str) -> str:
    """Where the page's relative links point: its ``<base href>`` when that is http(s) (a
    saved page keeps its site's address there), else the address it was fetched from."""
    node = tree.css_first("base[href]")
    if node is None:
        return base_url
    try:
        base = urljoin(base_url, clean_line(node.attributes.get("href") or ""))
    except ValueError:
        return base_url
    return base if base.startswith(("http://", "https://")) else base_url


def _detected(
    tree: Any,
    page_title: str | None,
    chosen: Mapping[str, str],
    base_url: str,
    tz: tzinfo,
    now: datetime,
) -> ListPage:
    """The page read by list detection: when the selectors match nothing (a redesign), or
    when the source names none."""
    from .detect import detect

    found = detect(tree, base_url, tz, now)
    if not found.items:
        if chosen:
            raise FeedError(
                tr(
                    "selectors matched no items (item = {item}) and "
                    "no news list was found on the page"
                ).format(item=repr(chosen["item"]))
            )
        raise FeedError(tr("no selectors given and no news list was found on the page"))
    entries = []
    for item in found.items:
        entry: dict[str, Any] = {
            "title": item.title,
            "title_detail": {"type": "text/plain"},
            "link": item.link,
            "summary": "",
        }
        if item.when is not None:
            entry["published_parsed"] = item.when.astimezone(UTC).timetuple()
        entries.append(entry)
    count = ntr("{n} item found by detection", "{n} items found by detection", len(entries)).format(
        n=len(entries)
    )
    note = (
        tr("selectors matched nothing; {count} — update the preset or your [feeds.select]").format(
            count=count
        )
        if chosen
        else tr("no selectors; {count}").format(count=count)
    )
    return ListPage(page_title, entries, note, found.selectors)


def _day_of_each(
    tree: Any, item: str, day: str | None, tz: tzinfo, now: datetime
) -> dict[int, date]:
    """For lists whose day headings sit between time-only items: each item block's day
    (its own day node if it holds one, else the last heading above it), by block id."""
    out: dict[int, date] = {}
    current: date | None = None
    for selector, attr in alternatives(day or ""):
        nodes = _find(tree, f"{item}, {selector}")
        if not any(not n.css_matches(item) for n in nodes):
            continue  # this alternative names no heading on the page
        for node in nodes:
            if node.css_matches(item):
                inner = node.css_first(selector)
                own = _day_text(inner, attr) if inner is not None else ""
                parsed = parse_day(own, tz, now) if own else None
                if parsed is not None:
                    out[node.mem_id] = parsed
                elif current is not None:
                    out[node.mem_id] = current
            else:
                found = parse_day(_day_text(node, attr), tz, now)
                current = found if found is not None else current
        return out
    return out


def _day_text(node: Any, attr: str | None) -> str:
    return clean_line(node.attributes.get(attr) or "") if attr else _text(node)


def _entry(
    block: Any,
    chosen: Mapping[str, str],
    base_url: str,
    tz: tzinfo,
    now: datetime,
    day: date | None = None,
) -> dict[str, Any]:
    title = _value(block, "title", chosen)
    href = _value(block, "link", chosen)
    link = urljoin(base_url, href) if href else None
    entry: dict[str, Any] = {
        "title": title,
        "title_detail": {"type": "text/plain"},
        "link": link,
        "summary": _value(block, "lead", chosen) if chosen.get("lead") else "",
    }
    if chosen.get("rubric"):
        terms = []
        for selector, attr in alternatives(chosen["rubric"]):
            nodes = _find(block, selector)
            terms = [_day_text(node, attr) for node in nodes]
            if any(terms):
                break
        entry["tags"] = [{"term": term} for term in terms if term]
    if chosen.get("date"):
        for selector, attr in alternatives(chosen["date"]):
            when = None
            for node in _find(block, selector)[:1]:
                when = parse_list_date(_day_text(node, attr), tz, now, day)
            if when is not None:
                entry["published_parsed"] = when.astimezone(UTC).timetuple()
                break
    return entry
