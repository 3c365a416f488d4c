"""Finding the feeds an HTML page links to (pure: page text -> candidate URLs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from .sanitize import clean_line

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "json",
    "application/json": "json",
    "text/xml": "xml",
    "application/xml": "xml",
}


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str
    kind: str


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "link":
            self.links.append(values)
        elif tag == "a" and values.get("href"):
            self.anchors.append(values["href"])


_FEEDISH = re.compile(r"(?:^|/)(?:rss|feed|atom)(?:[./_-]|$)|\.(?:rss|xml)$", re.I)


def find_feeds(page: str, base_url: str) -> list[Candidate]:
    """`<link rel="alternate">` feeds first, then `<a>` links that look like feeds; only
    http(s) URLs, each once, in page order."""
    finder = _LinkFinder()
    try:
        finder.feed(page)
        finder.close()
    except Exception:  # noqa: S110 - a broken page simply yields fewer candidates
        pass
    found: list[Candidate] = []
    seen: set[str] = set()

    def add(href: str, title: str, kind: str) -> None:
        url = urljoin(base_url, clean_line(href))
        if urlsplit(url).scheme.lower() not in ("http", "https") or url in seen:
            return
        seen.add(url)
        found.append(Candidate(url, clean_line(title), kind))

    for link in finder.links:
        rels = link.get("rel", "").lower().split()
        kind = FEED_TYPES.get(link.get("type", "").lower().split(";")[0].strip())
        if "alternate" in rels and kind and link.get("href"):
            add(link["href"], link.get("title", ""), kind)
    if not found:
        for href in finder.anchors:
            path = urlsplit(href).path
            if _FEEDISH.search(path):
                add(href, "", "guess")
    return found
