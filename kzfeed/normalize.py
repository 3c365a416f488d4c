"""Raw feed entries -> Items: dates, canonical URLs, rubrics, plain text, identity (pure)."""

from __future__ import annotations

import calendar
import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from . import rubrics
from .dates import to_utc_iso
from .htmltext import html_to_text
from .language import language_code, text_language
from .model import FeedSpec, Item
from .sanitize import clean_line, shorten

SUMMARY_LIMIT = 1000
TEXT_LIMIT = 60_000
FUTURE_SLACK = timedelta(minutes=10)
OLDEST = datetime(1995, 1, 1, tzinfo=UTC)

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "yclid",
        "ysclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_openstat",
        "openstat",
        "ref",
        "ref_src",
        "rss",
        "from",
        "source",
        "cmpid",
        "ncid",
        "spm",
        "_ga",
        "_gl",
        "at_medium",
        "at_campaign",
        "wt.mc_id",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hmb_")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


# An absolute http(s) link in the form most agency links take: lower-case scheme and host, no
# port, query, fragment, ";" parameters, dot segments, white space or non-ASCII. Such a
# link is already what `http_url` would make of it (resolution against a base cannot change
# it), so the URL parsing below, a third of normalizing an entry, is skipped.
_PLAIN_URL = re.compile(
    r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[A-Za-z0-9_~%/:@!$&'()*+,=.-]*)?"
)


def _plain(url: str) -> re.Match[str] | None:
    match = _PLAIN_URL.fullmatch(url)
    if match is None or "/." in url:
        return None
    return match


@functools.lru_cache(maxsize=8192)  # pure, and feeds repeat links as GUIDs
def http_url(url: str | None, base: str | None = None) -> str | None:
    """``url`` resolved against ``base`` if it is http(s) (tracking parameters dropped),
    else None: the only kind of link kzfeed ever emits."""
    if not url:
        return None
    if _plain(url):
        return url if url.count("/") > 2 else url + "/"
    return _resolve(url, base)


_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def _resolve(url: str, base: str | None) -> str | None:
    """`http_url` the long way, for any link."""
    # as browsers read a link: tabs and line breaks dropped, white space around it trimmed,
    # white space inside it percent-encoded (a link never ends up with a space in it)
    url = clean_line(_TAB_OR_NEWLINE.sub("", url)).replace(" ", "%20")
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc, parts.path or "/", urlencode(query), parts.fragment)
    )


@functools.lru_cache(maxsize=8192)
def canonical_url(url: str | None, *, clean: bool = False) -> str | None:
    """The identity form of a link: https, host lower-cased without ``www.`` and default port,
    tracking parameters dropped, the rest sorted, no fragment, no trailing slash.
    ``clean``: ``url`` already came from `http_url` (skip that step)."""
    safe = url if clean else http_url(url)
    if safe is None:
        return None
    plain = _plain(safe)
    if plain is not None:
        host = plain.group(2)
        return (
            "https://"
            + (host[4:] if host.startswith("www.") else host)
            + ((plain.group(3) or "").rstrip("/"))
        )
    return _canonical(safe)


def _canonical(safe: str) -> str:
    """`canonical_url` the long way, for any link `http_url` accepted."""
    parts = urlsplit(safe)
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("https", host, path, query, ""))


_RICH_MARKUP = re.compile(r"<(?:a|blockquote)\b", re.I)


def _hash(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def entry_time(entry: Mapping[str, Any], fetched: datetime) -> tuple[datetime, bool]:
    """The entry's publication time in UTC and whether it is estimated (missing, unusable
    or in the future: then the fetch time stands in)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: feedparser's own get() maps missing keys onto others, with a warning
        value = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if not value:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(value), UTC)
        except (OverflowError, ValueError, TypeError, OSError):
            continue
        if when < OLDEST:
            continue
        if when > fetched + FUTURE_SLACK:
            return fetched, True
        return when, False
    return fetched, True


def _categories(entry: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for tag in entry.get("tags") or ():
        term = (tag.get("term") or tag.get("label") or "") if isinstance(tag, Mapping) else ""
        for part in str(term).split(","):
            value = clean_line(part)
            if value and value not in found and len(value) <= 100:
                found.append(value)
    return found[:20]


def _full_text(entry: Mapping[str, Any]) -> str:
    for content in entry.get("content") or ():
        value = content.get("value") if isinstance(content, Mapping) else None
        if value:
            return str(value)
    for key, value in entry.items():
        if isinstance(value, str) and key.endswith(("full-text", "fulltext")) and value.strip():
            return value
    return ""


def _text_of(detail: Mapping[str, Any] | None, value: str) -> str:
    if detail and str(detail.get("type", "")).endswith("plain"):
        return clean_line(value)
    return clean_line(html_to_text(value))


def normalize_entries(
    entries: Iterable[Mapping[str, Any]],
    spec: FeedSpec,
    *,
    fetched: datetime,
    feed_title: str | None = None,
    feed_language: str | None = None,
    base_url: str | None = None,
    aliases: Mapping[str, str] | None = None,
    empty: list[int] | None = None,
    known: Iterable[Facts] = (),
    facts: list[Facts] | None = None,
) -> tuple[Item, ...]:
    """Every usable entry of one feed as an Item, in feed order.  ``empty``, if given,
    receives the position of every entry left out for having no title, text or link.
    ``known``: the identity facts (`entry_facts`) of the feed's other entries, not given
    here because their bytes did not change (`splitfeed.py`); ``facts``, if given,
    receives the facts of each entry given, in order.

    GUIDs are trusted unless several entries of the batch share one; links are used for
    identity unless several entries share one (a feed linking every item to its front page).
    """
    entries = list(entries)
    source = spec.title or clean_line(feed_title or "") or spec.name
    feed_lang = language_code(clean_line(feed_language or "")) if feed_language else None
    lang = spec.lang or feed_lang
    fetched_iso = to_utc_iso(fetched)
    links = [http_url(e.get("link"), base_url) for e in entries]
    canon = [canonical_url(link, clean=True) for link in links]
    guids = [_guid(e) for e in entries]
    # counted per story, not per position: an entry a feed carries twice (same GUID, link and
    # title) is one story, and its GUID stays trusted; the next version that carries it once
    # must give it the same identity (it was stored twice)
    given = [
        entry_facts(g, c, str(e.get("title") or ""))
        for e, g, c in zip(entries, guids, canon, strict=True)
    ]
    if facts is not None:
        facts.extend(given)
    stories = set(given) | set(known)  # of the whole feed, the unchanged entries too
    guid_counts = Counter(g for _s, g, _c in stories if g)
    link_counts = Counter(c for _s, _g, c in stories if c)
    items: list[Item] = []
    seen_keys: set[str] = set()
    for entry, link, canon_link, guid, (_s, guid_hash, link_hash) in zip(
        entries, links, canon, guids, given, strict=True
    ):
        title = _text_of(entry.get("title_detail"), str(entry.get("title") or ""))
        description = str(entry.get("summary") or "")
        content = _full_text(entry)
        # the reading form for `show`: paragraphs, lists, quotes, links with their URLs;
        # kept only when it says more than the one-line summary
        full = html_to_text(content or description, links=True, base=link)
        # without links or quotes in the description, its reading form is the plain text
        rich = bool(content) or bool(_RICH_MARKUP.search(description))
        plain = html_to_text(description) if rich else full
        summary = shorten(" ".join(plain.split()), SUMMARY_LIMIT)
        if not summary and content:
            summary = shorten(" ".join(html_to_text(content).split()), SUMMARY_LIMIT)
        if not title:
            title = shorten(summary, 120) if summary else ""
        if not title and not link:
            if empty is not None:
                empty.append(len(items))
            continue  # nothing to show and nothing to open: not an item
        if not title:
            title = link or ""
        text = full if full and full != summary else None
        if text:
            text = shorten(text, TEXT_LIMIT)
        when, estimated = entry_time(entry, fetched)
        categories = _categories(entry)
        keys = rubrics.classify(categories, aliases, spec.rubric, link)
        # the facts' hashes: there when the entry has a GUID, a link (`entry_facts`)
        trusted_guid = guid if guid_hash is not None and guid_counts[guid_hash] == 1 else None
        shared_link = link_hash is not None and link_counts[link_hash] != 1
        link_key = _hash("u", canon_link) if canon_link and not shared_link else None
        if trusted_guid:
            ident = "g:" + trusted_guid
        elif link_key:
            ident = "u:" + (canon_link or "")
        else:
            ident = "t:" + title + "\x00" + (to_utc_iso(when) if not estimated else summary[:200])
        feed_key = _hash("f", spec.name, ident)
        if feed_key in seen_keys:
            continue  # the same entry twice in one document
        seen_keys.add(feed_key)
        content_hash = _hash(
            title,
            summary,
            text or "",
            link or "",
            "|".join(categories),
            "" if estimated else to_utc_iso(when),
        )
        items.append(
            Item(
                id=feed_key,
                feed=spec.name,
                source=source,
                title=title,
                url=link,
                published=to_utc_iso(when),
                date_estimated=estimated,
                rubrics=keys,
                categories=tuple(categories),
                lang=lang or text_language(f"{title} {summary}"),
                summary=summary,
                guid=guid,
                feed_key=feed_key,
                link_key=link_key,
                content_hash=content_hash,
                text=text,
                first_seen=fetched_iso,
            )
        )
    return tuple(items)


#: What identity reads of an entry, hashed: (the story — GUID, link, title —, the GUID, the
#: canonical link); kept per entry between updates so a feed's unchanged entries need not
#: be parsed again for the others' identity to be worked out over the whole feed
Facts = tuple[str, str | None, str | None]


def facts_of(entries: Iterable[Mapping[str, Any]], base_url: str | None) -> list[Facts]:
    """The identity facts of raw entries, as `normalize_entries` works them out."""
    out = []
    for entry in entries:
        canon = canonical_url(http_url(entry.get("link"), base_url), clean=True)
        out.append(entry_facts(_guid(entry), canon, str(entry.get("title") or "")))
    return out


def same_identities(known: Iterable[Facts], new: Iterable[Facts], before: Iterable[Facts]) -> bool:
    """Whether the unchanged entries (``known``) keep the identity they had in the last
    body (``before``: all its entries) now that ``new`` entries sit beside them: a GUID or a
    link that becomes shared, or stops being shared, changes how an entry is keyed."""
    then, now = set(before), set(known) | set(new)

    def counts(stories: set[Facts]) -> tuple[Counter[str], Counter[str]]:
        return (
            Counter(g for _s, g, _c in stories if g),
            Counter(c for _s, _g, c in stories if c),
        )

    (g_then, c_then), (g_now, c_now) = counts(then), counts(now)
    for _s, guid, canon in set(known):
        if guid and (g_then[guid] == 1) != (g_now[guid] == 1):
            return False
        if canon and (c_then[canon] == 1) != (c_now[canon] == 1):
            return False
    return True


def entry_facts(guid: str | None, canon: str | None, title: str) -> Facts:
    return (
        _hash("s", guid or "", canon or "", title),
        _hash("g", guid) if guid else None,
        _hash("c", canon) if canon else None,
    )


def _guid(entry: Mapping[str, Any]) -> str | None:
    raw = entry.get("id")
    if not raw:
        return None
    value = clean_line(str(raw))[:500]
    if not value:
        return None
    canon = canonical_url(value)
    return canon or value
