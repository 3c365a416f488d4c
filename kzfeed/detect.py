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
   that are not in such chrome, are kept as well (a second column of news); an undated
   "main stories" block is not (it would show in the wire as the newest news).

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
from .sanitize import clean_line

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


# classes that differ between siblings of one list: BEM modifiers, numbers, states, positions
_VARYING = re.compile(r"--|\d|^(?:is-|js-)?(?:active|current|selected|first|last|odd|even)$")


def _shape(node: Any) -> str:
    """tag.class.class, without classes that vary between siblings of one list (BEM
    modifiers such as card--big, numbers, active/first/last)."""
    classes = sorted(c for c in _classes(node) if not _VARYING.search(c))
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


def _story_links(tree: Any, base_url: str) -> list[tuple[Any, str, str, bool]]:
    """(anchor, absolute URL, headline, on the page's site) of every link that looks like a
    story (links to other sites count only inside a list that is mostly the site's own: a
    sub-site such as tengrisport.kz in Tengrinews' list)."""
    page = urlsplit(base_url)
    site = _site(page.hostname or "")
    out = []
    for anchor in tree.css("a[href]"):
        rel = (anchor.attributes.get("rel") or "").lower()
        if "sponsored" in rel or "ugc" in rel:
            continue  # an advertisement or a reader's link, however headline-like
        href = clean_line(anchor.attributes.get("href") or "")
        if not href or _SKIP_LINK.search(href) or href.lower().startswith("javascript:"):
            continue
        try:
            url = urljoin(base_url, href)
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        own = _site(parts.hostname) == site
        if (parts.path.rstrip("/") or "/") == (page.path.rstrip("/") or "/") and (
            parts.query == page.query or not parts.query
        ):
            continue  # the page itself (news.php?id=55318 on news.php is a story)
        if parts.path.count("/") < 1 or parts.path in ("", "/"):
            continue
        title = _headline(anchor)
        if _is_headline(title):
            out.append((anchor, url.split("#")[0], title, own))
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


_DATE_CANDIDATES = "time, span, div, p, small, em, i, li, dt, td, b"
_LOOKS_DATED = re.compile(
    r"\d{1,2}[:.]\d\d|\d{4}-\d\d-\d\d|\d{1,2}\s+\w+\s+\d{4}|\d+\s*(?:мин|час|сағ|min|hour)",
    re.I,
)


def _date_text(block: Any, tz: tzinfo, now: datetime) -> tuple[str, str] | None:
    """(text or attribute value, selector) of the block's date, if it shows one: a
    ``time[datetime]``, else the first short text inside it that reads as a date, else the
    element just before it (a <dt> before its <dd>)."""
    for selector, attr in (
        ("time[datetime]", "datetime"),
        ("[itemprop=datePublished][content]", "content"),
        ("[itemprop=datePublished][datetime]", "datetime"),
    ):
        for node in block.css(selector):
            value = clean_line(node.attributes.get(attr) or "")
            if value and parse_list_date(value, tz, now) is not None:
                return value, f"{selector.split('[')[0] or '[itemprop=datePublished]'}@{attr}"
    for node in [*block.css(_DATE_CANDIDATES), *_previous_element(block)]:
        text = _text(node)
        if (
            4 <= len(text) <= 40
            and _LOOKS_DATED.search(text)
            and node.css_first("a") is None
            and parse_list_date(text, tz, now) is not None
        ):
            return text, _shape(node)
    return None


def _previous_element(node: Any) -> list[Any]:
    prev = node.prev
    while prev is not None and not prev.is_element_node:
        prev = prev.prev
    return [prev] if prev is not None else []


Block = tuple[Any, str, str, Any, bool]  # (block, URL, headline, anchor, on the site)


def _group_key(block: Any) -> str:
    """What the blocks of one list share: their tag with their first class (not all of
    them: WordPress gives each post its own, post-5812 category-… tag-…) and a
    ``data-type`` word (a story and an ad in one river), and their parent's and
    grandparent's shapes."""
    kind = block.attributes.get("data-type") or ""
    first = next((c for c in _classes(block) if not _VARYING.search(c)), "")
    parts = [
        block.tag
        + (f".{first}" if first else "")
        + (f"[{kind}]" if re.fullmatch(r"[A-Za-z_-]{1,20}", kind) else "")
    ]
    node = block.parent
    for _ in range(2):
        if node is None or node.tag in ("body", "html"):
            break
        parts.append(_shape(node))
        node = node.parent
    return " < ".join(parts)


def detect(tree: Any, base_url: str, tz: tzinfo, now: datetime) -> Detection:
    """The news list on a parsed page (a selectolax tree), or an empty Detection."""
    links = _story_links(tree, base_url)
    urls_under: dict[int, set[str]] = defaultdict(set)
    for anchor, url, _title, _own in links:
        for ancestor in _ancestors(anchor):
            urls_under[ancestor.mem_id].add(url)
    blocks: dict[int, Block] = {}
    for anchor, url, title, own in links:
        block = _block(anchor, url, urls_under)
        if block.mem_id not in blocks:  # an image link and a title link: the first wins
            blocks[block.mem_id] = (block, url, title, anchor, own)
    groups: dict[str, list[Block]] = defaultdict(list)
    for found in blocks.values():
        groups[_group_key(found[0])].append(found)
    # each block's date text, read once (text, and the selector that finds it)
    dates = {key: _date_text(found[0], tz, now) for key, found in blocks.items()}
    scored = []
    for members in groups.values():
        on_site = sum(1 for m in members if m[4])
        if len(members) < MIN_LIST or on_site <= len(members) / 2:
            continue
        dated = sum(1 for m in members if dates[m[0].mem_id] is not None)
        chrome = sum(1 for m in members if _chrome(m[0])) > len(members) / 2
        score = len(members) * (1.0 + dated / len(members)) * (0.1 if chrome else 1.0)
        scored.append((score, members, dated, chrome))
    if not scored:
        return Detection((), {})
    scored.sort(key=lambda s: -s[0])
    dated_ids = {key for key, found in dates.items() if found is not None}
    best = _without_undated_corners(scored[0][1], dated_ids)
    chosen = list(best)
    for _score, members, dated, chrome in scored[1:]:
        # a second list counts when it is dated: an undated "main stories" block (features,
        # old analyses) would otherwise show in the wire as the newest news, at fetch time
        if not chrome and dated >= len(members) / 2:
            chosen.extend(members)
    order = {node.mem_id: k for k, node in enumerate(tree.css("*"))}
    chosen.sort(key=lambda m: order.get(m[0].mem_id, 0))
    days = _days(chosen, tz, now)
    seen: set[str] = set()
    items = []
    for block, url, title, _anchor, _own in chosen:
        if url in seen:
            continue
        seen.add(url)
        shown = dates[block.mem_id]
        day = days.get(block.mem_id)
        when = parse_list_date(shown[0], tz, now, day) if shown is not None else None
        items.append(Found(title, url, when))
    return Detection(tuple(items), _selectors(best, dates.get(best[0][0].mem_id)))


def _without_undated_corners(members: list[Block], dated_ids: set[int]) -> list[Block]:
    """A mostly dated list without the blocks of a container that holds no dated one (a
    menu table of story links shaped like the archive's rows)."""
    dated_parents = {
        m[0].parent.mem_id for m in members if m[0].parent is not None and m[0].mem_id in dated_ids
    }
    if len(dated_parents) == 0 or sum(
        1 for m in members if m[0].parent is not None and m[0].parent.mem_id in dated_parents
    ) < 0.6 * len(members):
        return members
    return [m for m in members if m[0].parent is not None and m[0].parent.mem_id in dated_parents]


def _lowest_common_ancestor(nodes: list[Any]) -> Any:
    paths = [[n, *_ancestors(n)] for n in nodes]
    common = {a.mem_id for a in paths[0]}
    for path in paths[1:]:
        common &= {a.mem_id for a in path}
    return next((a for a in paths[0] if a.mem_id in common), paths[0][-1])


def _days(chosen: list[Block], tz: tzinfo, now: datetime) -> dict[int, date]:
    """Day headings between the blocks: in document order, inside the part of the page that
    holds the list, a short text outside the blocks that reads as a day only ("Сегодня",
    "23 ноября", "22 ноября 2026") gives its day to the blocks after it."""
    out: dict[int, date] = {}
    if not chosen:
        return out
    ids = {m[0].mem_id for m in chosen}
    inside: set[int] = set()
    for block in (m[0] for m in chosen):
        inside.update(n.mem_id for n in block.css("*"))
    container = _lowest_common_ancestor([m[0] for m in chosen])
    current: date | None = None
    for node in container.css("*"):
        if node.mem_id in ids:
            if current is not None:
                out[node.mem_id] = current
            continue
        if node.mem_id in inside or node.css_first("a[href]") is not None:
            continue
        text = _text(node)
        if text and len(text) <= 40:
            day = parse_day(text, tz, now)
            if day is not None:
                current = day
    return out


def _selectors(members: list[Block], found: tuple[str, str] | None) -> dict[str, str]:
    """Selectors that find these blocks, for a user to read and fix (``found``: the first
    block's date text and the selector that read it)."""
    block, _url, _title, anchor, _own = members[0]
    parent = block.parent
    item = _shape(block)
    if parent is not None and _classes(parent):
        item = f"{_shape(parent)} > {item}"
    itself = block.mem_id == anchor.mem_id
    link = "@href" if itself else f"{_anchor_selector(anchor)}@href"
    title = _title_selector(anchor) or ("a" if itself else _anchor_selector(anchor))
    selectors = {"item": item, "title": title, "link": link}
    if found is not None and block.css_first(found[1].split("@")[0]) is not None:
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
