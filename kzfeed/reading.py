"""Reading the stored wire: the one core both faces (the CLI and the full-screen reader) call.

`Wire` opens a config's store and answers in data — lists of stored items, counts, feed
health rows — never in text: the CLI renders what it returns with Rich, the reader with
Textual.  A `Selection` is the listing filters as a person gives them (strings, in any
language); `Wire.filter` turns it into the `query.Filter` the pure functions apply.
"""

from __future__ import annotations

import os
from bisect import insort
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import date, datetime, timedelta, tzinfo
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import KzfeedError, NotFound, StoreError, UsageError
from .words import tr

if TYPE_CHECKING:
    from .config import Config
    from .query import DailyCounts, Filter, Record, StoryLine, StoryStream
    from .rules import Alert
    from .store import Store
    from .store.termindex import TermIndex

T = TypeVar("T")
GROUPS = ("date", "rubric", "feed")
PAGE_ROWS = 150  # items a page of `Wire.pages` holds: more than a screen
STORY_ROWS = 60  # stories a page of `Wire.story_pages` holds (each looked up whole)


def _second(published: str) -> int:
    from .dates import from_iso

    return int(from_iso(published).timestamp())


def clock() -> datetime:
    """Now, in UTC.  `KZFEED_NOW` (ISO 8601) fixes it, for reproducible output and tests."""
    from .dates import from_iso, utcnow

    fixed = os.environ.get("KZFEED_NOW")
    if not fixed:
        return utcnow()
    try:
        return from_iso(fixed)
    except ValueError:
        raise UsageError(
            tr("KZFEED_NOW={value} is not an ISO 8601 time").format(value=repr(fixed))
        ) from None


@dataclass(frozen=True)
class Selection:
    """The listing filters as given: rubric keys or labels in any language, feed names or
    shown titles, times as people type them (`24h`, `вчера`, `23 ноября`)."""

    rubrics: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    lang: str | None = None
    search: str | None = None
    unread: bool = False
    starred: bool = False
    tag: str | None = None
    everything: bool = False  # muted (hidden) items too


@dataclass
class Listing:
    """What `latest` shows: the items, newest first (per section when grouped), each
    section's total (``totals``, by section key), the default window a grouped view used
    (``window``, ISO UTC), and each item's shortest unique id prefix."""

    items: list[Record]
    group: str = "date"
    totals: dict[str, int] = field(default_factory=dict)
    window: str | None = None
    short_ids: dict[str, str] = field(default_factory=dict)
    empty_store: bool = False
    stories: dict[str, StoryLine] | None = None  # by the lead's id, in a stories listing


@dataclass(frozen=True)
class DigestOptions:
    """`kzfeed digest`'s arguments: the listing filters, a format, an explicit window
    (``selection.since/until`` or one local ``date``), a template, kept texts, a dry run."""

    selection: Selection = Selection()
    fmt: str = "md"
    date: str | None = None
    template: Path | None = None
    full: bool = False
    dry_run: bool = False


@dataclass
class Digest:
    """A digest made: its data (SPEC's JSON shape), its text in the chosen format, and the
    since-last mark to move once it is delivered (``mark_key`` None: none moves)."""

    data: dict[str, Any]
    text: str
    mark_key: str | None
    window_end: str
    marks: dict[str, str]


class StoryPages:
    """The stories of a listing a page at a time, as `latest --stories` shows them — each
    story's lead picked from all its matching versions, the stories by their leads — read
    through the term index (held open until the pages end or `close`).  Iterating raises
    `query.IndexMismatch` when the index turns out not to be the store's (a version it does
    not list), cannot be read, or leads to a damaged day: the caller then lists the stories
    of each page of items instead (a damaged day those pages reach is told then)."""

    def __init__(self, stream: StoryStream, index: TermIndex, size: int) -> None:
        self.stream = stream
        self._index: TermIndex | None = index
        self._size = size

    def __iter__(self) -> Iterator[list[StoryLine]]:
        from .query import IndexMismatch
        from .store.termindex import DatabaseError

        page: list[StoryLine] = []
        failure: Exception | None = None
        try:
            try:
                for line in self.stream:
                    page.append(line)
                    if len(page) == self._size:
                        yield page
                        page = []
            except (DatabaseError, StoreError, IndexMismatch) as exc:
                failure = exc  # the lines given so far are listed first
            if page:
                yield page
            if failure is not None:
                raise IndexMismatch(str(failure)) from failure
        finally:
            self.close()

    @property
    def position(self) -> tuple[str, str] | None:
        """Where the scan is (the order of the last record it read): what is older, or
        this, is not listed yet."""
        return self.stream.position

    def passed(self, record: Record) -> bool:
        """Whether the pages read are past ``record``, whose story is then not listed."""
        return self.stream.passed(record)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


class Wire:
    """One config's stored wire, opened for reading (and for the small writes reading
    makes: read marks, an article's text)."""

    def __init__(
        self,
        config: Config,
        *,
        now: datetime | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        from .dates import zone
        from .store import Store

        self.config = config
        self.now = now or clock()
        self.tz: tzinfo = zone(config.settings.timezone)
        self.lang = config.settings.language
        self.store: Store = Store(config.data_dir, lock_timeout=config.settings.lock_timeout)
        self._on_wait = on_wait

    # ------------------------------------------------------------------ filters

    def filter(self, selection: Selection) -> Filter:
        """The selection as a filter; a usage error for an unknown rubric or feed, a time
        nobody could mean, or a window that ends before it starts."""
        from .dates import parse_when, to_utc_iso
        from .language import parse_language
        from .query import Filter, rubric_keys

        feeds = frozenset(self.feed_name(name) for name in selection.feeds)
        start = parse_when(selection.since, self.tz, self.now) if selection.since else None
        end = parse_when(selection.until, self.tz, self.now, end=True) if selection.until else None
        if start is not None and end is not None and start > end:
            raise UsageError(
                tr(
                    "the window ends before it starts: --since {since} is after --until {until}"
                ).format(since=selection.since, until=selection.until)
            )
        return Filter(
            rubrics=rubric_keys(selection.rubrics),
            feeds=feeds,
            since=to_utc_iso(start) if start else None,
            until=to_utc_iso(end) if end else None,
            lang=parse_language(selection.lang) if selection.lang else None,
            search=selection.search or None,
            unread=selection.unread,
            starred=selection.starred,
            tag=selection.tag or None,
            everything=selection.everything,
        )

    def feed_name(self, given: str) -> str:
        """A feed's name from its name or its shown title (any case): `--feed Tengrinews`."""
        cfg = self.config
        if cfg.feed(given) is not None:
            return given
        folded = given.casefold()
        by_title = [f.name for f in cfg.feeds if f.title and f.title.casefold() == folded]
        if not by_title:
            by_title = [n for n, title in self.feed_titles().items() if title.casefold() == folded]
        if len(by_title) == 1:
            return by_title[0]
        known = ", ".join(sorted(f.name for f in cfg.feeds)) or tr("none")
        raise UsageError(
            tr("unknown feed {feed} (feeds: {known})").format(feed=repr(given), known=known)
        )

    def feed_titles(self) -> dict[str, str]:
        """Each feed's shown title (the config's, the feed's own, else its name)."""
        from .model import feed_names

        return feed_names(self.config.feeds, self.store.feed_states())

    # ------------------------------------------------------------------ listing

    def latest(
        self, selection: Selection, n: int, group: str = "date", stories: bool = False
    ) -> Listing:
        """The newest ``n`` items (per section when grouped by rubric or feed); with
        ``stories``, the newest ``n`` stories, one lead item each (`Listing.stories`)."""
        from .query import newest, newest_per_group, newest_with_heads

        if group not in GROUPS:
            raise UsageError(
                tr("--group must be date, rubric or feed, not {group}").format(group=repr(group))
            )
        flt = self.filter(selection)
        listing = Listing(items=[], group=group)
        if stories:
            self._latest_stories(listing, flt, n)
        elif group == "date" and not flt.search:  # the newest days' heads, not the days
            listing.items = newest_with_heads(
                self.store.partitions(), self.store.head_items, self.store.partition_items, flt, n
            )
        elif group == "date":
            found = self._through_index(lambda index: self._newest_searched(index, flt, n))
            listing.items = found if found is not None else newest(self.partitions(flt), flt, n)
        else:
            if flt.since is None:
                listing.window = self.default_window()
                flt = dc_replace(flt, since=listing.window)
            listing.items = newest_per_group(self.partitions(flt), flt, group, n, listing.totals)
        if not listing.items:
            listing.empty_store = not self.store.partitions()
        return listing

    def _latest_stories(self, listing: Listing, flt: Filter, n: int) -> None:
        from .query import collapse, newest, newest_stories, per_group

        preferred = self.config.settings.preferred_feeds
        if listing.group == "date":
            found = self._stories_by_index(flt, n)
            if found is None:
                records = newest_stories(self.partitions(flt), flt, n)
                found = collapse(records, preferred, self.feed_titles())[:n]
            lines = found
            listing.items = [line.lead for line in lines]
        else:
            if flt.since is None:
                listing.window = self.default_window()
                flt = dc_replace(flt, since=listing.window)
            records = newest(self.partitions(flt), flt, None)
            lines = collapse(records, preferred, self.feed_titles())
            listing.items = per_group(
                [line.lead for line in lines], listing.group, n, listing.totals
            )
        listing.stories = {line.lead["id"]: line for line in lines}

    def _stories_by_index(self, flt: Filter, n: int) -> list[StoryLine] | None:
        """The newest ``n`` stories read from the newest records on (the newest days'
        heads first) with each story's versions looked up in the term index, wherever
        they lie: not the newest days read whole, then two more for the stories' older
        versions.  None when the index cannot answer (missing, stale, damaged, or a version
        met that it does not list under its story)."""
        from .query import top_stories

        def answer(index: TermIndex) -> list[StoryLine] | None:
            sources = self._story_sources(index, flt)
            if sources is None:
                return None
            preferred = self.config.settings.preferred_feeds
            return top_stories(*sources, n, preferred, self.feed_titles())

        return self._through_index(answer)

    def story_pages(self, selection: Selection) -> StoryPages | None:
        """The stories of a selection ``STORY_ROWS`` at a time, in the order and with the
        leads `latest --stories` gives them (a page of items collapsed alone would lead a
        story by the versions on that page, and place it by them); None when the term
        index cannot answer (missing, stale, damaged, or a search without a word it can
        look up): then the caller collapses each page of `pages`."""
        from .query import StoryStream

        flt = self.filter(selection)
        index = self._current_index()
        if index is None:
            return None
        try:
            sources = self._story_sources(index, flt)
            if sources is None:
                index.close()
                return None
            preferred = self.config.settings.preferred_feeds
            stream = StoryStream(*sources, preferred, self.feed_titles())
        except BaseException:
            index.close()
            raise
        return StoryPages(stream, index, STORY_ROWS)

    def _story_sources(
        self, index: TermIndex, flt: Filter
    ) -> tuple[Iterator[Record], Callable[[str], list[Record]]] | None:
        """What a stories listing is made from: the matching records newest first (the
        newest days' heads first; a search's, the index's candidates), and a story's
        matching versions as the term index lists them, each read from its span — or from
        the day the scan is on, where it has them at hand.  None when a search has no
        word the index can look up."""
        from .query import scan_newest
        from .store import partition_of

        read: dict[str, dict[str, Record]] = {}  # the day the scan is on: its head or all

        def head(day: str) -> list[Record] | None:
            found = self.store.head_items(day)
            read.clear()
            read[day] = {r["id"]: r for r in found or ()}
            return found

        def whole(day: str) -> list[Record]:
            found = self.store.partition_items(day)
            read.clear()
            read[day] = {r["id"]: r for r in found}
            return found

        def versions(story: str) -> list[Record]:
            out = []
            for published, item_id in index.members(story):
                day = partition_of(published)
                found = read.get(day, {}).get(item_id) or self.store.record_in(day, item_id)
                if found is not None and flt.matches(found):
                    out.append(found)
            return out

        if flt.search:
            searched = self._searched_records(index, flt)
            return None if searched is None else (searched, versions)
        return scan_newest(self.store.partitions(), head, whole, flt), versions

    def _newest_searched(self, index: TermIndex, flt: Filter, n: int) -> list[Record] | None:
        records = self._searched_records(index, flt)
        return None if records is None else list(islice(records, n))

    def _searched_records(self, index: TermIndex, flt: Filter) -> Iterator[Record] | None:
        """The records a search matches, newest first, read one at a time: the term index
        hands out its candidates newest first, and each is read from its span and checked
        against the whole query and the filters — so a listing stops reading once it has
        shown enough, whatever the size of a day (a search read each day of candidates
        whole: 0.45 s for `latest --search` on a day of 7,500 items, 0.9 s listing
        stories).  None when the query has no word the index can look up."""
        from .model import listing_order
        from .search import index_clauses, parse
        from .store import partition_of

        assert flt.search
        clauses = index_clauses(parse(flt.search))
        found = index.matching(clauses, flt.since, flt.until) if clauses else None
        if found is None:
            return None

        def records() -> Iterator[Record]:
            # Rows are by the second, then 24 bits of the id; a row taken is pushed to the
            # next free one, at most into the next second.  So a match is handed on once
            # the candidates are more than a second older: nothing to come lists before it.
            held: list[tuple[tuple[str, str], int, Record]] = []  # oldest first
            for published, item_id in found:
                second = _second(published)
                while held and held[-1][1] > second + 1:
                    yield held.pop()[2]
                record = self.store.record_in(partition_of(published), item_id)
                if record is not None and flt.matches(record):
                    insort(held, (listing_order(record), second, record), key=lambda h: h[0])
            while held:
                yield held.pop()[2]

        return records()

    def _through_index(self, answer: Callable[[TermIndex], T | None]) -> T | None:
        """``answer`` asked of the term index when it holds every stored item as stored
        (no commit's changes pending, its count the store's); None when it does not, or
        is damaged, or leads to a damaged day: then the caller reads the days."""
        from .store.termindex import DatabaseError

        index = self._current_index()
        if index is None:
            return None
        try:
            return answer(index)
        except (DatabaseError, StoreError):
            return None
        finally:
            index.close()

    def _current_index(self) -> TermIndex | None:
        """The term index, open, when it holds every stored item as stored (no commit's
        changes pending, its count the store's); None when it does not or is damaged."""
        from .store.termindex import DatabaseError, TermIndex, is_pending

        if is_pending(self.store.data_dir):
            return None
        index = TermIndex.open(self.store.data_dir)
        if index is None:
            return None
        try:
            if index.count() == self.store.item_count():
                return index
        except DatabaseError:
            pass
        index.close()
        return None

    def story(self, prefix: str) -> StoryLine:
        """Every stored version of the story an item (id or prefix) belongs to, hidden
        ones included, the lead first as `latest --stories` would pick it."""
        from .grouping import window_days
        from .model import story_of
        from .query import collapse
        from .store import partition_of

        record = self.item(prefix)
        story = story_of(record)
        versions = self._indexed_story(story)
        if versions is None or record["id"] not in {v["id"] for v in versions}:
            days = window_days({partition_of(record["published"])}, 24 * 4)
            stored = set(self.store.partitions())
            versions = [
                r
                for day in sorted(days & stored, reverse=True)
                for r in self.store.partition_items(day)
                if story_of(r) == story
            ]
        (line,) = collapse(versions, self.config.settings.preferred_feeds, self.feed_titles())
        return line

    def _indexed_story(self, story: str) -> list[Record] | None:
        """Every version of a story as the term index lists them, each read from its span
        (not four days read whole: 0.25 s a story on a wire of 7,500 items a day); None
        when the index cannot answer (missing, stale, or a version it lists under a story
        the store does not)."""
        from .model import story_of
        from .store import partition_of

        def answer(index: TermIndex) -> list[Record] | None:
            versions = []
            for published, item_id in index.members(story):
                record = self.store.record_in(partition_of(published), item_id)
                if record is None or story_of(record) != story:
                    return None
                versions.append(record)
            return versions

        return self._through_index(answer)

    def reindex(self) -> int:
        """Build the term index again; how many items it holds."""
        from .store.termindex import TermIndex

        with self.store.writer(on_wait=self._on_wait) as writer:
            writer.rebuild_term_index()
        index = TermIndex.open(self.store.data_dir)
        if index is None:
            return 0
        try:
            return index.count()
        finally:
            index.close()

    def searched(self, flt: Filter) -> Iterator[tuple[str, list[Record]]] | None:
        """The partitions a search needs, newest first, each holding only the items the
        term index says can match, read as the listing goes on (None: the index cannot
        answer — missing, stale, or a query without a word to look up; then every
        partition is read)."""
        from .search import index_clauses, parse
        from .store.termindex import TermIndex, is_pending

        if not flt.search:
            return None
        clauses = index_clauses(parse(flt.search))
        if not clauses or is_pending(self.store.data_dir):  # a commit's changes not in it
            return None
        index = TermIndex.open(self.store.data_dir)
        if index is None:
            return None
        try:
            current = index.count() == self.store.item_count()
            found = index.matching(clauses, flt.since, flt.until) if current else None
        except Exception:  # derived data: without it, the partitions are read
            found = None
        if found is None:
            index.close()
            return None
        return self._by_day(index, found)

    def _by_day(
        self, index: Any, found: Iterator[tuple[str, str]]
    ) -> Iterator[tuple[str, list[Record]]]:
        try:
            day, wanted = "", set[str]()
            for published, item_id in found:
                if published[:10] != day:
                    if wanted:
                        yield day, self._kept(day, wanted)
                    day, wanted = published[:10], set[str]()
                wanted.add(item_id)
            if wanted:
                yield day, self._kept(day, wanted)
        finally:
            index.close()

    def _kept(self, day: str, wanted: set[str]) -> list[Record]:
        return [r for r in self.store.partition_items(day) if r["id"] in wanted]

    def partitions(self, flt: Filter) -> Iterator[tuple[str, list[Record]]]:
        """What a listing reads: the partitions newest first (only the candidates of a
        search the term index answers)."""
        found = self.searched(flt)
        return found if found is not None else self.store.iter_newest()

    def abbreviate(self, listing: Listing) -> Listing:
        """The listing with each item's shortest unique id prefix."""
        listing.short_ids = self.store.abbreviations(r["id"] for r in listing.items)
        return listing

    def default_window(self) -> str | None:
        """For grouped views without --since: the 7 days up to the newest *dated* story (an
        item whose feed gave no date stands at its fetch time and must not pull the
        window)."""
        for day in self.store.partitions():
            # a busy day's head (its newest records) holds the day's newest dated one when
            # it holds any: the day is then read once, by the listing, not twice
            head = self.store.head_items(day)
            dated = [r["published"] for r in head or () if not r.get("date_estimated")]
            if not dated:
                records = self.store.partition_items(day)
                dated = [r["published"] for r in records if not r.get("date_estimated")]
            if dated:
                start = date.fromisoformat(max(dated)[:10]) - timedelta(days=6)
                return f"{start.isoformat()}T00:00:00+00:00"
        return None

    def pages(
        self, selection: Selection, through: tuple[str, str] | None = None
    ) -> Iterator[list[Record]]:
        """The matching items newest first, ``PAGE_ROWS`` at a time: a reader shows the
        first page at once and reads the next when scrolled there.  The newest days are
        read through their heads first, so the first page of a busy day neither decodes
        the day nor lists it whole (a reader took 1.4 s to open on a day of 7,500 items,
        5.2 s on one of 45,000).  ``through``: from there on (a `listing_order`) — where a
        reader listing stories had got to when the term index failed it."""
        from .model import listing_order
        from .query import newest_first, scan_newest
        from .store import partition_of

        flt = self.filter(selection)
        records: Iterator[Record]
        if flt.search:  # the term index's candidates, a day at a time
            records = newest_first(self.partitions(flt), flt)
        else:
            days = self.store.partitions()
            if through is not None:
                days = [d for d in days if d <= partition_of(through[0])]
            records = scan_newest(days, self.store.head_items, self.store.partition_items, flt)
        if through is not None:
            records = (r for r in records if listing_order(r) <= through)
        page: list[Record] = []
        for record in records:
            page.append(record)
            if len(page) == PAGE_ROWS:
                yield page
                page = []
        if page:
            yield page

    def rubric_counts(self, selection: Selection) -> list[tuple[str, int]]:
        """Items per primary rubric in the selection, in the site's rubric order."""
        from .query import matching, rubric_counts

        flt = self.filter(selection)
        return rubric_counts(matching(self.partitions(flt), flt))

    def daily(self, selection: Selection, days: int) -> DailyCounts:
        """Items per local day, rubric and feed over the last ``days`` local days."""
        from .dates import parse_when, to_utc_iso
        from .query import daily_counts, matching

        first = self.now.astimezone(self.tz).date() - timedelta(days=days - 1)
        flt = dc_replace(
            self.filter(dc_replace(selection, since=None, until=None)),
            since=to_utc_iso(parse_when(first.isoformat(), self.tz, self.now)),
        )
        return daily_counts(matching(self.store.iter_newest(), flt), self.tz, first, days)

    def unread_counts(self, days: int = 7) -> tuple[dict[str, int], dict[str, int]]:
        """Unread items per primary rubric and per carrying feed, published in the last
        ``days`` days."""
        from .model import carrying_feeds, primary_rubric

        since = (self.now - timedelta(days=days)).date().isoformat()
        rubrics: dict[str, int] = {}
        feeds: dict[str, int] = {}
        for day, records in self.store.iter_newest():
            if day < since:
                break
            for record in records:
                if record.get("read") or record.get("hidden"):  # muted: not waiting for you
                    continue
                rubric = primary_rubric(record)
                rubrics[rubric] = rubrics.get(rubric, 0) + 1
                for name in carrying_feeds(record):
                    feeds[name] = feeds.get(name, 0) + 1
        return rubrics, feeds

    # ------------------------------------------------------------------ items

    def item(self, prefix: str) -> Record:
        """The stored item an id or a unique prefix names."""
        from .store import resolve_id

        record = self.store.get(resolve_id(self.store, prefix))
        if record is None:
            raise NotFound(
                tr("item {id} is in the index but not in its partition; run update").format(
                    id=repr(prefix)
                )
            )
        return record

    def next_unread(self, selection: Selection) -> Record | None:
        """The newest unread item the selection allows."""
        from .query import newest

        flt = self.filter(dc_replace(selection, unread=True))
        found = newest(self.partitions(flt), flt, 1)
        return found[0].copy() if found else None

    def select_ids(self, selection: Selection) -> list[str]:
        """Every item the selection matches (for `read --all`)."""
        from .query import newest

        flt = self.filter(selection)
        return [r["id"] for r in newest(self.partitions(flt), flt, None)]

    def mark(self, ids: Sequence[str], read: bool) -> int:
        """Mark items read or unread (ids or unique prefixes); how many changed."""
        from .store import resolve_id

        full = [resolve_id(self.store, i) for i in ids]
        with self.store.writer(on_wait=self._on_wait) as writer:
            return writer.set_read(full, read)

    def article(self, record: Record) -> str:
        """The item's article page, fetched under the feeds' rules (no lock held while it
        is fetched), as its main text; kept with the item (`show --full` reads it again)."""
        from .article import extract_text
        from .fetch import fetch_now
        from .normalize import http_url

        if record.get("full_text"):
            return str(record["full_text"])
        url = http_url(record.get("url"))
        if url is None:
            raise KzfeedError(
                tr("item {id} has no http(s) link to fetch").format(id=record["id"][:8])
            )
        (fetched,) = fetch_now(self.config.settings, [url], record["feed"])
        if fetched.error:
            raise KzfeedError(
                tr("cannot fetch the article {url}: {reason}").format(url=url, reason=fetched.error)
            )
        text = extract_text(fetched.body, dict(fetched.headers), fetched.final_url)
        with self.store.writer(on_wait=self._on_wait) as writer:
            writer.set_full_text(record["id"], text)
        record["full_text"] = text
        return text

    def star(self, ids: Sequence[str], starred: bool) -> int:
        """Star or unstar items (ids or unique prefixes); how many changed."""
        from .store import resolve_id

        full = [resolve_id(self.store, i) for i in ids]
        changed = 0
        with self.store.writer(on_wait=self._on_wait) as writer:
            for item_id in full:
                record = writer.get(item_id)
                if record is not None and bool(record.get("starred")) != starred:
                    writer.set_fields(item_id, starred=starred)
                    changed += 1
        return changed

    # ------------------------------------------------------------------ rules and alerts

    def apply_rules(self) -> tuple[int, int]:
        """The rules as they are now, applied to every stored item: hidden and tags worked
        out again, read and star added (no alert is raised); (items read, items changed)."""
        from .rules import effect

        titles = self.feed_titles()
        seen = changed = 0
        with self.store.writer(on_wait=self._on_wait) as writer:
            for name in self.store.partitions():
                for record in writer.partition_records(name):
                    seen += 1
                    found = effect(record, self.config.rules, titles, fresh=False)
                    if found.fields:
                        writer.set_fields(record["id"], **found.fields)
                        changed += 1
        return seen, changed

    def alerts(self, since: str | None = None) -> list[Alert]:
        """The alerts raised since ``since`` (as people type it; default 7 days), oldest
        first."""
        from .dates import parse_when, to_utc_iso
        from .rules import Alert

        start = to_utc_iso(parse_when(since or "7d", self.tz, self.now))
        rows = [Alert.from_dict(row) for row in self.store.alert_rows()]
        return [alert for alert in rows if alert.at >= start]

    def waiting_alerts(self) -> set[tuple[str, str]]:
        """The alerts (item id, rule) a notifier has not taken yet: they wait in the
        outbox to be sent again (`outbox.py`)."""
        from .outbox import waiting_keys

        return waiting_keys(self.config.data_dir)

    # ------------------------------------------------------------------ digests

    def digest(self, options: DigestOptions) -> Digest:
        """A digest of the selection.  Without a window of its own: everything since the
        previous digest of the same format and filters (`window.plan` decides, the store
        keeps the marks); the text is rendered from the data, in the chosen format."""
        from . import digest as digests
        from . import window as windows
        from .dates import parse_when, to_utc_iso
        from .query import newest

        if options.fmt not in digests.FORMATS:
            raise UsageError(
                tr("--format must be one of {known}, not {format}").format(
                    known=", ".join(digests.FORMATS), format=repr(options.fmt)
                )
            )
        selection = options.selection
        if options.date is not None and (selection.since or selection.until):
            raise UsageError(tr("--date is one local day: use it without --since/--until"))
        flt = self.filter(selection)
        if options.date is not None:
            flt = dc_replace(
                flt,
                since=to_utc_iso(parse_when(options.date, self.tz, self.now)),
                until=to_utc_iso(parse_when(options.date, self.tz, self.now, end=True)),
            )
        template = options.template
        filters = {
            "rubric": flt.rubrics,
            "feed": flt.feeds,
            "lang": flt.lang,
            "search": flt.search,
            "unread": flt.unread,
            "template": template.name if template is not None else None,
        }
        marks = self.store.digest_marks()
        chosen = windows.plan(
            fmt=options.fmt,
            filters=filters,
            since=flt.since,
            until=flt.until,
            by_date=options.date is not None,
            marks=marks,
            now=self.now,
            dry_run=options.dry_run,
        )
        # the window is closed: what arrives later is the next digest's
        flt = dc_replace(flt, since=chosen.since, until=chosen.until)
        data = digests.build_digest(
            newest(self.store.iter_newest(), flt, None),
            tz=self.tz,
            lang=self.lang,
            generated=self.now,
            since=flt.since,
            until=chosen.until,
            sources=self.feed_titles(),
            full=options.full,
            basis=chosen.basis,
            preferred=self.config.settings.preferred_feeds,
        )
        if template is not None:
            text = _from_template(template, data)
        elif options.fmt == "json":
            text = digests.to_json(data)
        elif options.fmt == "md":
            text = digests.to_markdown(data, self.tz)
        elif options.fmt == "html":
            text = digests.to_html(data, self.tz)
        elif options.fmt == "txt":
            text = digests.to_text(data, self.tz)
        else:
            text = digests.to_atom(data, self.tz, digests.feed_id(flt, self.lang))
        return Digest(data, text, chosen.mark_key, chosen.until, marks)

    def keep_digest_mark(self, made: Digest) -> None:
        """Move the since-last mark a delivered digest earned (never backwards)."""
        from . import window as windows

        if made.mark_key is None:
            return
        with self.store.writer(on_wait=self._on_wait) as writer:
            until = windows.moved(made.marks, made.mark_key, made.window_end)
            writer.mark_digest(made.mark_key, until)

    # ------------------------------------------------------------------ housekeeping

    def prune(self, older_than: str | None = None) -> tuple[datetime | None, int]:
        """Drop items published before the cut-off (``older_than`` as people type it, else
        `retention_days`); (the cut-off, how many went).  No cut-off: nothing is pruned."""
        from .dates import parse_when
        from .store import retention_cutoff

        cutoff = (
            parse_when(older_than, self.tz, self.now)
            if older_than
            else retention_cutoff(self.config.settings.retention_days, self.now)
        )
        if cutoff is None:
            return None, 0
        with self.store.writer(on_wait=self._on_wait) as writer:
            return cutoff, writer.prune(cutoff, self.now)

    def opml_feeds(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The subscriptions OPML can carry (http(s) feeds, with their shown titles) and
        the names of those it cannot."""
        states = self.store.feed_states()
        feeds, left_out = [], []
        for spec in self.config.feeds:
            state = states.get(spec.name)
            if spec.type != "feed" or not spec.url.startswith(("http://", "https://")):
                left_out.append(spec.name)
                continue
            feeds.append(
                {
                    "name": spec.name,
                    "url": spec.url,
                    "rubric": spec.rubric,
                    "lang": spec.lang,
                    "title": spec.title or (state.title if state else None),
                }
            )
        return feeds, left_out

    # ------------------------------------------------------------------ feeds

    def feed_rows(self) -> list[dict[str, Any]]:
        """Each subscription's health, in config order (SPEC's `feeds --json` shape)."""
        from .dates import from_iso
        from .model import effective_url

        states = self.store.feed_states()
        stats = self.store.feed_stats()
        rows = []
        for spec in self.config.feeds:
            state = states.get(spec.name)
            count, newest = stats.get(spec.name, (0, None))
            rows.append(
                {
                    "name": spec.name,
                    "url": effective_url(spec, state),
                    "config_url": spec.url,
                    "title": spec.title or (state.title if state else None),
                    "type": spec.type,
                    "last_fetch": state.last_fetch if state else None,
                    "last_success": state.last_success if state else None,
                    "last_status": state.last_status if state else None,
                    "last_error": state.last_error if state else None,
                    "note": state.note if state else None,
                    "failures": state.failures if state else 0,
                    "next_fetch": state.next_fetch if state else None,
                    "items": count,
                    "newest": newest,
                    "newest_age_days": (  # never -0: a story up to 10 min "ahead" is now
                        max(0.0, round((self.now - from_iso(newest)).total_seconds() / 86400, 1))
                        if newest
                        else None
                    ),
                    "disabled": spec.disabled or bool(state and state.disabled),
                }
            )
        return rows


def _from_template(template: Path, data: dict[str, Any]) -> str:
    from . import digest as digests

    try:
        source = template.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KzfeedError(
            tr("cannot read template {path}: {reason}").format(path=template, reason=exc)
        ) from None
    try:
        return digests.render_template(source, template.name, data)
    except Exception as exc:  # a template error is the user's to fix: one line
        raise KzfeedError(
            tr("template {path}: {reason}").format(
                path=template, reason=f"{type(exc).__name__}: {exc}"
            )
        ) from None
