"""The records passed between kzfeed's stages (stdlib only).

Data flows one way::

    FeedSpec -> fetch -> FetchResult -> parse+normalize -> ParsedFeed (Items)
             -> dedup (decisions) -> store -> query -> render/export

Records named *from the feed* (FetchResult, ParsedFeed, Item) carry what a server
sent, already cleaned; records named as *intents* (see dedup.Plan) say what the
store must do.  All of them are frozen: a stage returns new records, it never
edits the ones it was given.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Required, TypedDict

#: The public fields of an item, in the order of SPEC's JSON shape.
PUBLIC_FIELDS = (
    "id",
    "feed",
    "source",
    "title",
    "url",
    "published",
    "date_estimated",
    "rubrics",
    "categories",
    "lang",
    "summary",
    "read",
    "also_in",
    "story",
)


class AlsoInRecord(TypedDict):
    """Another feed that carried a stored story, and its link there."""

    feed: str
    url: str | None


class StoredItem(TypedDict, total=False):
    """A stored item as the store keeps it and every reader of the store sees it (SPEC's
    JSON fields first, then the store's own).  `Item.to_record` makes one; derived fields
    (primary rubric, carrying feeds, display source) are functions below, not keys."""

    id: Required[str]
    feed: Required[str]
    source: str
    title: str
    url: str | None
    published: Required[str]  # ISO 8601 UTC; its day is the partition
    date_estimated: bool
    rubrics: list[str]
    categories: list[str]
    lang: str | None
    summary: str
    read: bool
    also_in: list[AlsoInRecord]
    # the store's own
    guid: str | None
    first_seen: str
    hash: str  # the content hash last stored
    text: str  # longer plain text from the feed's <content>
    full_text: str  # the article page's main text (show --full, full_text feeds)
    story: str  # the id of the story's first item (stories.py); absent: its own id
    starred: bool  # by `star` or a rule
    tags: list[str]  # by rules
    hidden: bool  # muted by a rule: out of every list and digest unless --all
    keys: dict[str, str]  # its identity keys -> the content hash each last brought ("": none)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One subscription, as the config file declares it."""

    name: str
    url: str
    title: str | None = None
    lang: str | None = None
    rubric: str | None = None
    type: str = "feed"
    preset: str | None = None
    select: tuple[tuple[str, str], ...] = ()
    disabled: bool = False
    timezone: str | None = None  # the feed's own, for dates written without an offset
    full_text: bool = False  # fetch and keep each new item's article text


@dataclass(frozen=True, slots=True)
class FeedState:
    """What kzfeed remembers about a feed between runs (lives in the database)."""

    name: str
    url: str | None = None  # the URL in use after a permanent redirect, else None
    config_url: str | None = None  # the config URL that redirected there
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # the same body's hash as it came compressed (Content-Encoding), when it did: the next
    # fetch that brings the very same bytes is not even decompressed
    wire_hash: str | None = None
    last_fetch: str | None = None  # ISO 8601 UTC
    last_success: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    failures: int = 0
    next_fetch: str | None = None  # not before this time (Retry-After, max-age)
    disabled: bool = False
    title: str | None = None  # the feed's own title
    note: str | None = None  # what the last successful read has to tell (detection used …)
    # the last body split into items (splitfeed.py): its head's fingerprint, and each item's
    # fingerprint with its identity facts (normalize.Facts), so the next body's unchanged
    # items need not be parsed again
    head_print: str | None = None
    item_facts: dict[str, str] = field(default_factory=dict)  # fingerprint -> "s,g,c[,e]"

    def to_dict(self) -> dict[str, Any]:
        # shallow: asdict would copy the item facts value by value (a third of a warm run)
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if not isinstance(known.get("item_facts", {}), dict):
            known["item_facts"] = {}  # damaged or foreign: the next body is parsed whole
        return cls(**known)


def effective_url(spec: FeedSpec, state: FeedState | None) -> str:
    """The URL to request: a permanent redirect's target, while the config still names the
    URL that redirected (editing the config's URL starts afresh)."""
    if state is not None and state.url and state.config_url == spec.url:
        return state.url
    return spec.url


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one request for a feed gave: bytes and metadata, never parsed."""

    name: str
    url: str  # the URL that was requested first
    final_url: str  # after redirects
    status: int | None  # HTTP status; None when no response came (or a local file)
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None  # set when every redirect hop was 301/308
    not_modified: bool = False
    error: str | None = None
    fetched_at: str = ""  # ISO 8601 UTC
    retry_after: str | None = None  # ISO 8601 UTC, from Retry-After / Cache-Control
    gone: bool = False  # 410
    wire_hash: str | None = None  # a compressed body's hash as it came (wire.body_hash)
    same_wire: bool = False  # those bytes were the last stored body's: not decompressed
    # the content coding ("gzip", "deflate") of a body left compressed for the parse worker
    # to undo (`wire.inflate`); None: ``body`` is the body itself
    coding: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class AlsoIn:
    feed: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Item:
    """One normalized entry, in the shape SPEC's JSON uses (plus private fields)."""

    id: str
    feed: str
    source: str
    title: str
    url: str | None
    published: str  # ISO 8601 UTC
    date_estimated: bool
    rubrics: tuple[str, ...]
    categories: tuple[str, ...]
    lang: str | None
    summary: str
    # identity, computed by normalize, used by dedup; not shown
    guid: str | None = None
    feed_key: str = ""
    link_key: str | None = None
    content_hash: str = ""
    text: str | None = None  # longer plain text from <content>, when the feed has one
    read: bool = False
    also_in: tuple[AlsoIn, ...] = field(default_factory=tuple)
    first_seen: str = ""

    def __reduce__(self) -> tuple[type[Item], tuple[Any, ...]]:
        """Pickled as its fields in order, rebuilt by its constructor: the parse workers send
        every new item to kzfeed, and dataclasses' own pickling of a frozen slotted class
        (`fields()` and a `setattr` per field, each time) took half of unpickling an answer."""
        return (Item, _item_fields(self))

    def to_record(self) -> StoredItem:
        """The stored document (JSON-safe)."""
        rec: StoredItem = {
            "id": self.id,
            "feed": self.feed,
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "date_estimated": self.date_estimated,
            "rubrics": list(self.rubrics),
            "categories": list(self.categories),
            "lang": self.lang,
            "summary": self.summary,
            "read": self.read,
            "also_in": [{"feed": a.feed, "url": a.url} for a in self.also_in],
            "guid": self.guid,
            "first_seen": self.first_seen,
            "hash": self.content_hash,
        }
        if self.text:
            rec["text"] = self.text
        return rec


def primary_rubric(record: Mapping[str, Any]) -> str:
    """The rubric an item is filed under in listings and digests: its first."""
    rubrics = record.get("rubrics") or ["other"]
    return str(rubrics[0])


def carrying_feeds(record: Mapping[str, Any]) -> list[str]:
    """Every feed that carried the stored item: its own, then ``also_in``."""
    feeds = [str(record.get("feed"))]
    for entry in record.get("also_in", []):
        name = entry.get("feed")
        if name and name not in feeds:
            feeds.append(name)
    return feeds


def display_source(record: Mapping[str, Any]) -> str:
    """The agency name an item is shown with: the source title stored with it, else its
    feed's name."""
    return str(record.get("source") or record.get("feed") or "")


def listing_order(record: Mapping[str, Any]) -> tuple[str, str]:
    """The order listings show records in, newest first when reversed: by publication
    time, then id."""
    return (str(record.get("published", "")), str(record.get("id", "")))


def story_of(record: Mapping[str, Any]) -> str:
    """The story an item belongs to: the id of the story's first item; an item stored
    before stories were grouped is a story of its own."""
    return str(record.get("story") or record.get("id"))


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """The SPEC JSON shape of a stored item record."""
    out = {k: record.get(k) for k in PUBLIC_FIELDS}
    out["story"] = story_of(record)
    return out


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A fetched body, parsed and normalized (the output of the parse worker)."""

    name: str
    title: str | None
    items: tuple[Item, ...]
    error: str | None = None
    empty: int = 0  # entries left out: no title, text or link
    note: str | None = None  # e.g. "selectors matched nothing; 24 items found by detection …"
    # the body's head fingerprint and its items' (fingerprint -> identity facts), when it
    # split; None: the next body is parsed whole
    prints: tuple[str, dict[str, str]] | None = None
    unchanged: int = 0  # items not parsed again: their bytes were as last time
    # each item's terms and story features (grouping.analyse), made in the parse worker
    # while it had the item: id -> (content hash, analysis)
    analysed: dict[str, tuple[str, Any]] = field(default_factory=dict)
    # the hash of a body the worker inflated (`wire.body_hash`), and whether it was the last
    # stored body's (then nothing was parsed)
    body_hash: str | None = None
    same_body: bool = False
    # the body as it came could not be used (a corrupt, cut or over-cap compressed stream):
    # a failed fetch, not a parse — no status, no redirect or cache headers kept
    refused: bool = False


_item_fields = operator.attrgetter(*(f.name for f in fields(Item)))


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What `update` did for one feed (SPEC's `update --json` feeds[] entry)."""

    name: str
    status: str  # ok | not_modified | error | skipped
    http_status: int | None = None
    new: int = 0
    updated: int = 0
    error: str | None = None
    empty: int = 0  # entries of the body left out: no title, text or link
    note: str | None = None
    unchanged: int = 0  # items not parsed again: their bytes were as last time

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "http_status": self.http_status,
            "new": self.new,
            "updated": self.updated,
            "error": self.error,
            "empty_entries": self.empty,
            "unchanged_entries": self.unchanged,
            "note": self.note,
        }


def feed_names(
    specs: tuple[FeedSpec, ...] | list[FeedSpec], states: dict[str, FeedState]
) -> dict[str, str]:
    """Display names of feeds: the configured title, else the feed's own, else the name."""
    out = {}
    for spec in specs:
        state = states.get(spec.name)
        out[spec.name] = spec.title or (state.title if state and state.title else spec.name)
    return out
