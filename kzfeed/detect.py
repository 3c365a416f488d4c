"""Finding a news list on a page nobody wrote selectors for (pure: a parsed page in, blocks out).

When a site is redesigned its preset matches nothing; kzfeed then reads the list this way
instead of stopping.  The method:

1. **Story links**: every ``<a href>`` to an http(s) page of the same site (the page's host
   or one sharing its registrable domain) whose text (or the text of a heading or "title"
   element inside it) reads like a headline: 25-250 characters, at least four words.
2. **Blocks**: each story link climbs to the largest ancestor that still holds only that
   story (an image link and a title link to the same URL are one story): the card.
3. **Lists**: blocks are grouped by their shape (tag and classes of the block and of its
   parent); a group of at least three is a candidate list.
4. **The news list** is the candidate with the best score: the number of stories, more when
   they carry dates, less inside navigation, headers, footers, sidebars and "most read"
   boxes (by element names and class names).  Other candidates whose items are dated, and
   that are not in such chrome, are kept as well (a hero block above the list).

Dates: a ``time[datetime]``, else the first short text in the block that reads as a date;
a time alone takes the day of the last day heading before its block among the list's
siblings.  Each found block also says which selectors would find it, so `kzfeed add` can
write them into the config for a user to read and fix.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

from .dates import parse_day, parse_list_date
from .text import clean_line

MIN_TITLE, MAX_TITLE, MIN_WORDS = 25, 250, 4
MIN_LIST = 3
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "form"})
_CHROME_WORDS = re.compile(
    r"nav|menu|footer|header|popular|most|read|sidebar|aside|related|banner|promo|tags|"
    r"trend|top-?news|breadcrumb|social|share|subscribe|widget|recommend|partner|advert|"
    r"\bad\b|ads",
    re.I,
)
_SKIP_LINK = re.compile(r"[?&](?:page|p|start_date|end_date)=|/page/\d+|#|^mailto:|^tel:", re.I)
_TITLE_CLASS = re.compile(r"title|head|name", re.I)


@dataclass(frozen=True)
class Found:
    """One story block found on the page."""

    title: str
    link: str
    when: datetime | None


@dataclass(frozen=True)
class Detection:
    """What detection found: the stories, and selectors a user could write down."""

    items: tuple[Found, ...]
    selectors: dict[str, str]


def _classes(node: Any) -> list[str]:
    return [c for c in (node.attributes.get("class") or "").split() if c]


def _shape(node: Any) -> str:
    classes = sorted(c for c in _classes(node) if not re.search(r"\d{2,}|active|first|last", c))
    return str(node.tag) + "".join(f".{c}" for c in classes)


def _site(host: str) -> str:
    parts = host.lower().removeprefix("www.").split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else host.lower()


def _text(node: Any) -> str:
    return clean_line(node.text(separator=" ") or "")


def _headline(anchor: Any) -> str:
    """The headline a story link carries: a heading or "title" element inside it, else the
    longest text of its own, else all its text."""
    for inner in anchor.css("h1, h2, h3, h4, h5, h6, b, strong"):
        text = _text(inner)
        if len(text) >= MIN_TITLE:
            return text
    for inner in anchor.css("*"):
        if _TITLE_CLASS.search(inner.attributes.get("class") or ""):
            text = _text(inner)
            if len(text) >= MIN_TITLE:
                return text
    return _text(anchor)


def _is_headline(text: str) -> bool:
    return MIN_TITLE <= len(text) <= MAX_TITLE and len(text.split()) >= MIN_WORDS


def _story_links(tree: Any, base_url: str) -> list[tuple[Any, str, str]]:
    """(anchor, absolute URL, headline) of every link that looks like a story."""
    page = urlsplit(base_url)
    site = _site(page.hostname or "")
    out = []
    for anchor in tree.css("a[href]"):
        href = clean_line(anchor.attributes.get("href") or "")
        if not href or _SKIP_LINK.search(href) or href.lower().startswith("javascript:"):
            continue
        try:
            url = urljoin(base_url, href)
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or _site(parts.hostname or "") != site:
            continue
        if (parts.path.rstrip("/") or "/") == (page.path.rstrip("/") or "/"):
            continue  # the page itself
        if parts.path.count("/") < 1 or parts.path in ("", "/"):
            continue
        title = _headline(anchor)
        if _is_headline(title):
            out.append((anchor, url.split("#")[0], title))
    return out


def _block(anchor: Any, url: str, urls_under: dict[int, set[str]]) -> Any:
    """The largest ancestor of ``anchor`` that holds no other story."""
    node = anchor
    while node.parent is not None and node.parent.tag not in ("body", "html", "main"):
        if len(urls_under.get(node.parent.mem_id, ())) > 1:
            break
        node = node.parent
    return node


def _ancestors(node: Any) -> Iterator[Any]:
    node = node.parent
    while node is not None and node.tag not in ("html", "#document"):
        yield node
        node = node.parent


def _chrome(node: Any) -> bool:
    """Whether a block sits in navigation, a header, footer, sidebar or "most read" box."""
    for ancestor in [node, *_ancestors(node)]:
        if ancestor.tag in _CHROME_TAGS:
            return True
        names = " ".join([*_classes(ancestor), ancestor.attributes.get("id") or ""])
        if names and _CHROME_WORDS.search(names):
            return True
    return False


_DATE_CANDIDATES = "time, span, div, p, small, em, i, li, dt, td"


def _date_text(block: Any) -> tuple[str, str] | None:
    """(text or attribute value, selector) of the block's date, if it shows one."""
    for node in block.css("time[datetime]"):
        value = clean_line(node.attributes.get("datetime") or "")
        if value:
            return value, "time@datetime"
    for node in block.css(_DATE_CANDIDATES):
        text = _text(node)
        if 4 <= len(text) <= 40 and re.search(r"\d{1,2}[:.]\d\d|\d{4}", text):
            if node.css_first("a") is not None and len(text) > 20:
                continue
            return text, _shape(node)
    return None


def detect(tree: Any, base_url: str, tz: tzinfo, now: datetime) -> Detection:
    """The news list on a parsed page (a selectolax tree), or an empty Detection."""
    links = _story_links(tree, base_url)
    urls_under: dict[int, set[str]] = defaultdict(set)
    for anchor, url, _title in links:
        for ancestor in _ancestors(anchor):
            urls_under[ancestor.mem_id].add(url)
    blocks: dict[int, tuple[Any, str, str, Any]] = {}
    for anchor, url, title in links:
        block = _block(anchor, url, urls_under)
        if block.mem_id not in blocks:  # an image link and a title link: the first wins
            blocks[block.mem_id] = (block, url, title, anchor)
    groups: dict[str, list[tuple[Any, str, str, Any]]] = defaultdict(list)
    for found in blocks.values():
        block = found[0]
        parent = block.parent
        key = f"{_shape(parent) if parent is not None else ''} > {_shape(block)}"
        groups[key].append(found)
    scored = []
    for key, members in groups.items():
        if len(members) < MIN_LIST:
            continue
        dated = sum(1 for m in members if _date_text(m[0]) is not None)
        chrome = sum(1 for m in members if _chrome(m[0])) > len(members) / 2
        score = len(members) * (1.0 + dated / len(members)) * (0.1 if chrome else 1.0)
        scored.append((score, key, members, dated, chrome))
    if not scored:
        return Detection((), {})
    scored.sort(key=lambda s: -s[0])
    best = scored[0][2]
    chosen = list(best)
    for _score, _key, members, dated, chrome in scored[1:]:
        if not chrome and dated >= len(members) / 2:
            chosen.extend(members)
    seen: set[str] = set()
    order = {node.mem_id: k for k, node in enumerate(tree.css("*"))}
    chosen.sort(key=lambda m: order.get(m[0].mem_id, 0))
    days = _days(chosen, tz, now)
    items = []
    for block, url, title, _anchor in chosen:
        if url in seen:
            continue
        seen.add(url)
        found_date = _date_text(block)
        when = (
            parse_list_date(found_date[0], tz, now, days.get(block.mem_id))
            if found_date is not None
            else None
        )
        items.append(Found(title, url, when))
    return Detection(tuple(items), _selectors(best))


def _days(chosen: list[tuple[Any, str, str, Any]], tz: tzinfo, now: datetime) -> dict[int, date]:
    """Day headings among the siblings before each block (text that reads as a day only)."""
    out: dict[int, date] = {}
    ids = {m[0].mem_id for m in chosen}
    containers = {m[0].parent.mem_id: m[0].parent for m in chosen if m[0].parent is not None}
    for container in containers.values():
        current: date | None = None
        for child in container.iter():
            if child.mem_id in ids:
                if current is not None:
                    out[child.mem_id] = current
                continue
            text = _text(child)
            if text and len(text) <= 40 and child.css_first("a[href]") is None:
                day = parse_day(text, tz, now)
                if day is not None:
                    current = day
    return out


def _selectors(members: list[tuple[Any, str, str, Any]]) -> dict[str, str]:
    """Selectors that find these blocks, for a user to read and fix."""
    block, _url, _title, anchor = members[0]
    parent = block.parent
    item = _shape(block)
    if parent is not None and _classes(parent):
        item = f"{_shape(parent)} > {item}"
    link = "@href" if block.mem_id == anchor.mem_id else f"{_anchor_selector(anchor)}@href"
    selectors = {"item": item, "title": _anchor_selector(anchor), "link": link}
    if block.mem_id == anchor.mem_id:
        selectors["title"] = _title_selector(anchor) or "a"
    else:
        selectors["title"] = _title_selector(anchor) or selectors["title"]
    found = _date_text(block)
    if found is not None:
        selectors["date"] = found[1]
    return selectors


def _anchor_selector(anchor: Any) -> str:
    classes = _classes(anchor)
    return "a" + (f".{classes[0]}" if classes else "")


def _title_selector(anchor: Any) -> str | None:
    for inner in anchor.css("h1, h2, h3, h4, h5, h6, b, strong, *"):
        text = _text(inner)
        if len(text) >= MIN_TITLE and (
            inner.tag in ("h1", "h2", "h3", "h4", "h5", "h6", "b", "strong")
            or _TITLE_CLASS.search(inner.attributes.get("class") or "")
        ):
            return _shape(inner)
    return None
