"""HTML news-list sources: a page's list of news items -> raw entries (pure: no I/O).

For agencies without a working feed (Kazinform's relaunched site, for one), a source with
``type = "html"`` names CSS selectors for the item block and, inside it, the title, link,
date, lead and rubric.  The entries this module returns have the shape feedparser's have,
so they go through the same normalize / dedup / store path as feed items.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

from .dates import parse_human_date
from .errors import FeedError
from .model import FeedSpec
from .text import clean_line

#: Built-in selectors, by preset name.  They describe the news-list pages (`/ru/lenta`,
#: `/kz/lenta`, `/en/lenta`) as kzfeed's fixture pages model them; when a site changes its
#: markup, override any of them under [feeds.select] in the config.
PRESETS: dict[str, dict[str, str]] = {
    "kazinform": {
        "item": "article.lenta-item",
        "title": ".lenta-item__title",
        "link": "a.lenta-item__title",
        "date": ".lenta-item__date",
        "lead": ".lenta-item__lead",
        "rubric": ".lenta-item__rubric",
    },
}
REQUIRED = ("item", "title", "link")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.I)


def selectors(spec: FeedSpec) -> dict[str, str]:
    """The preset's selectors with the config's [feeds.select] keys on top."""
    chosen = dict(PRESETS.get(spec.preset or "", {}))
    chosen.update(dict(spec.select))
    missing = [key for key in REQUIRED if not chosen.get(key)]
    if missing:
        raise FeedError(f"HTML source needs selectors for {', '.join(missing)}")
    return chosen


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


def parse_list(
    body: bytes,
    headers: Mapping[str, str],
    spec: FeedSpec,
    *,
    base_url: str,
    tz: tzinfo,
    now: datetime,
) -> tuple[str | None, list[dict[str, Any]]]:
    """(the page title, entries) of a news-list page.  A page whose item selector matches
    nothing is an error for that source, never an empty success."""
    from selectolax.lexbor import LexborHTMLParser

    chosen = selectors(spec)
    tree = LexborHTMLParser(decode_html(body, headers))
    title_node = tree.css_first("title")
    page_title = _text(title_node) or None
    try:
        blocks = tree.css(chosen["item"])
    except Exception as exc:  # selectolax: a selector it cannot read
        raise FeedError(f"invalid CSS selector {chosen['item']!r}: {exc}") from None
    if not blocks:
        raise FeedError(f"selectors matched no items (item = {chosen['item']!r})")
    entries = []
    for block in blocks:
        try:
            entries.append(_entry(block, chosen, base_url, tz, now))
        except FeedError:
            raise
        except Exception as exc:
            raise FeedError(f"invalid CSS selector in {dict(chosen)!r}: {exc}") from None
    return page_title, [e for e in entries if e["title"] or e["link"]]


def _entry(
    block: Any, chosen: Mapping[str, str], base_url: str, tz: tzinfo, now: datetime
) -> dict[str, Any]:
    title = _text(block.css_first(chosen["title"]))
    link_node = block.css_first(chosen["link"])
    href = link_node.attributes.get("href") if link_node is not None else None
    if not href and link_node is not None:  # the selector named a block around the link
        inner = link_node.css_first("a[href]")
        href = inner.attributes.get("href") if inner is not None else None
    link = urljoin(base_url, clean_line(href)) if href else None
    entry: dict[str, Any] = {
        "title": title,
        "title_detail": {"type": "text/plain"},
        "link": link,
        "summary": _text(block.css_first(chosen["lead"])) if chosen.get("lead") else "",
    }
    if chosen.get("rubric"):
        terms = [_text(node) for node in block.css(chosen["rubric"])]
        entry["tags"] = [{"term": term} for term in terms if term]
    if chosen.get("date"):
        when = parse_human_date(_text(block.css_first(chosen["date"])), tz, now)
        if when is not None:
            entry["published_parsed"] = when.astimezone(UTC).timetuple()
    return entry
