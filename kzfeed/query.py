"""Filters and ordering over stored item records (pure but for the partition iterator)."""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from itertools import chain, islice

from . import rubrics
from .dates import from_iso
from .errors import UsageError
from .model import (
    StoredItem,
    carrying_feeds,
    display_source,
    listing_order,
    primary_rubric,
    story_of,
)
from .words import tr

Record = StoredItem


@dataclass(frozen=True)
class Filter:
    rubrics: frozenset[str] = frozenset()
    feeds: frozenset[str] = frozenset()
    since: str | None = None  # ISO UTC, inclusive
    until: str | None = None  # ISO UTC, inclusive
    lang: str | None = None
    search: str | None = None
    unread: bool = False
    starred: bool = False
    tag: str | None = None
    everything: bool = False  # hidden items (muted by a rule) too

    def matches(self, record: Record) -> bool:
        if record.get("hidden") and not self.everything:
            return False
        if self.starred and not record.get("starred"):
            return False
        if self.tag is not None and self.tag.casefold() not in (
            t.casefold() for t in record.get("tags", ())
        ):
            return False
        published = record.get("published", "")
        if self.since is not None and published < self.since:
            return False
        if self.until is not None and published > self.until:
            return False
        if self.unread and record.get("read"):
            return False
        if self.lang is not None and (record.get("lang") or "") != self.lang:
            return False
        if self.rubrics and not self.rubrics.intersection(record.get("rubrics", ())):
            return False
        if self.feeds:
            carried = {record.get("feed")} | {a.get("feed") for a in record.get("also_in", ())}
            if not self.feeds.intersection(carried):
                return False
        if self.search:
            from .search import matches, parse

            if not matches(parse(self.search), record, {}):
                return False
        return True


def rubric_keys(values: Iterable[str]) -> frozenset[str]:
    """`--rubric` values (a key or a label in any language, any case) as keys."""
    keys = set()
    for value in values:
        key = rubrics.resolve(value)
        if key is None:
            known = ", ".join(rubrics.ORDER)
            raise UsageError(
                tr("unknown rubric {rubric} (known: {known}, or their labels)").format(
                    rubric=repr(value), known=known
                )
            )
        keys.add(key)
    return frozenset(keys)


def matching_days(
    partitions: Iterable[tuple[str, list[Record]]], flt: Filter
) -> Iterator[tuple[str, list[Record]]]:
    """(UTC day, its records the filter matches), newest day first, each record once.

    ``partitions`` yields (UTC day, records) newest day first; it is read no further than
    the caller asks and never past the first day that cannot hold a match any more, so the
    cost follows the window, not the history."""
    seen: set[str] = set()
    since_day = flt.since[:10] if flt.since else None
    until_day = flt.until[:10] if flt.until else None
    for day, records in partitions:
        if since_day is not None and day < since_day:
            return
        if until_day is not None and day > until_day:
            continue
        matching = [r for r in records if r["id"] not in seen and flt.matches(r)]
        seen.update(r["id"] for r in matching)
        yield day, matching


def newest(
    partitions: Iterable[tuple[str, list[Record]]], flt: Filter, limit: int | None
) -> list[Record]:
    """The newest ``limit`` matching records (all when None), newest first."""
    found: list[Record] = []
    for _day, matching in matching_days(partitions, flt):
        found.extend(matching)
        if limit is not None and len(found) >= limit:
            break  # an older day holds nothing newer: the next partition is not even read
    found.sort(key=listing_order, reverse=True)
    return found if limit is None else found[:limit]


def matching(partitions: Iterable[tuple[str, list[Record]]], flt: Filter) -> Iterator[Record]:
    """Every matching record, newest day first (in no order within a day), each once: for
    counts, which need no order and need not hold the window."""
    for _day, found in matching_days(partitions, flt):
        yield from found


def newest_per_group(
    partitions: Iterable[tuple[str, list[Record]]],
    flt: Filter,
    group: str,
    n: int,
    totals: dict[str, int] | None = None,
) -> list[Record]:
    """`per_group` over the newest matching records, a day at a time: a partition holds
    one UTC day and days come newest first, so a day sorted is the next stretch of the
    whole window sorted — only the day being read and the records kept are in memory, not
    the window (`rubrics --since 30d` on a year's wire: 107 → 37 MB)."""
    return per_group(newest_first(partitions, flt), group, n, totals)


def newest_first(partitions: Iterable[tuple[str, list[Record]]], flt: Filter) -> Iterator[Record]:
    """Every matching record newest first (`listing_order`), each once, a day at a time."""
    for _day, found in matching_days(partitions, flt):
        found.sort(key=listing_order, reverse=True)
        yield from found


def newest_with_heads(
    days: Iterable[str],
    head: Callable[[str], list[Record] | None],
    whole: Callable[[str], list[Record]],
    flt: Filter,
    limit: int,
) -> list[Record]:
    """`newest`, reading a day's newest records only (``head``: `store/heads.py`; None
    when the day has no head) while they hold every match still wanted: a record a head
    leaves out is older than all it keeps, and an older day's older still.  ``days``
    newest first; ``whole`` reads a day's partition."""
    found: list[Record] = []
    seen: set[str] = set()
    since_day = flt.since[:10] if flt.since else None
    until_day = flt.until[:10] if flt.until else None
    for day in days:
        if since_day is not None and day < since_day:
            break
        if until_day is not None and day > until_day:
            continue
        kept = head(day)
        if kept is not None:
            matching = [r for r in kept if r["id"] not in seen and flt.matches(r)]
            if len(found) + len(matching) >= limit:
                found.extend(matching)
                break
        matching = [r for r in whole(day) if r["id"] not in seen and flt.matches(r)]
        seen.update(r["id"] for r in matching)
        found.extend(matching)
        if len(found) >= limit:
            break
    found.sort(key=listing_order, reverse=True)
    return found[:limit]


@dataclass
class StoryLine:
    """One story as a listing shows it: the version that leads (``lead``), every version
    matching the listing earliest first (``versions``, the lead included), and the other
    agencies that carried it (``sources``: display names, the lead's left out)."""

    lead: Record
    versions: list[Record]
    sources: list[str]

    @property
    def first(self) -> str:
        return self.versions[0]["published"]

    @property
    def last(self) -> str:
        return self.versions[-1]["published"]


def collapse(
    records: Iterable[Record],
    preferred: Sequence[str] = (),
    titles: Mapping[str, str] | None = None,
) -> list[StoryLine]:
    """Records grouped by story, one line each, newest lead first.  The lead is the
    version from the first feed of ``preferred`` that carried one, else the earliest."""
    by_story: dict[str, list[Record]] = {}
    for record in records:
        by_story.setdefault(story_of(record), []).append(record)
    rank = {name: i for i, name in enumerate(preferred)}
    names = titles or {}
    lines = []
    for versions in by_story.values():
        versions.sort(key=lambda r: (r.get("published", ""), r["id"]))
        lead = min(
            versions,
            key=lambda r: (rank.get(str(r.get("feed")), len(rank)), r.get("published", "")),
        )
        sources: list[str] = []
        shown = display_source(lead)
        for version in versions:
            for feed in carrying_feeds(version):
                if version is lead and feed == lead.get("feed"):
                    continue
                name = (
                    display_source(version)
                    if feed == version.get("feed")
                    else names.get(feed, feed)
                )
                if name != shown and name not in sources:
                    sources.append(name)
        lines.append(StoryLine(lead, versions, sources))
    lines.sort(key=lambda s: (s.lead.get("published", ""), s.lead["id"]), reverse=True)
    return lines


def newest_stories(
    partitions: Iterable[tuple[str, list[Record]]], flt: Filter, limit: int, reach_days: int = 2
) -> list[Record]:
    """The matching records of the newest ``limit`` stories' (at least): partitions are read
    newest first until ``limit`` stories are found, then ``reach_days`` more, so the older
    versions of those stories (stories span 48 h) are there too."""
    found: list[Record] = []
    stories: set[str] = set()
    extra: int | None = None
    for _day, matching in matching_days(partitions, flt):
        found.extend(matching)
        stories.update(story_of(record) for record in matching)
        if extra is not None:
            extra -= 1
        elif len(stories) >= limit:
            extra = reach_days
        if extra == 0:
            break
    return found


def scan_newest(
    days: Iterable[str],
    head: Callable[[str], list[Record] | None],
    whole: Callable[[str], list[Record]],
    flt: Filter,
) -> Iterator[Record]:
    """The matching records one at a time, newest first (`listing_order`), each once: a
    day's head (`store/heads.py`) first where it has one, the rest of the day read only
    when the caller goes on past the head.  ``days`` newest first."""
    seen: set[str] = set()
    since_day = flt.since[:10] if flt.since else None
    until_day = flt.until[:10] if flt.until else None
    for day in days:
        if since_day is not None and day < since_day:
            return
        if until_day is not None and day > until_day:
            continue
        kept = head(day) or []  # newest first
        for record in chain(kept, _older(whole, day, kept)):
            if record["id"] not in seen and flt.matches(record):
                seen.add(record["id"])
                yield record


def _older(whole: Callable[[str], list[Record]], day: str, head: list[Record]) -> Iterator[Record]:
    """The rest of a day past its head, newest first: the day is read only when asked."""
    reach = listing_order(head[-1]) if head else None
    rest = [r for r in whole(day) if reach is None or listing_order(r) < reach]
    rest.sort(key=listing_order, reverse=True)
    yield from rest


class IndexMismatch(Exception):
    """The scan met a version of a story that the term index does not list under it: the
    index is not the store's, and the caller reads the days instead."""


class StoryStream:
    """Every story of the matching records ``scan`` (newest first), one `collapse` line
    each made from the story's matching versions wherever they lie (``versions``: the
    term index's members of a story), newest lead first — the order `latest --stories`
    shows.  A line is given once the scan is past its lead: a story not met yet has every
    version older than where the scan is, so its lead too, whichever version leads.  So
    the stream reads no further than the lines taken need.  A version met that ``versions``
    did not give is asked for again (an update beside a reader may have stored it since):
    a line not given yet is made again with it, one given keeps what it had.  Iterating
    raises `IndexMismatch` when ``versions`` does not give it then either."""

    def __init__(
        self,
        scan: Iterable[Record],
        versions: Callable[[str], list[Record]],
        preferred: Sequence[str] = (),
        titles: Mapping[str, str] | None = None,
    ) -> None:
        self._scan = scan
        self._versions = versions
        self._preferred = preferred
        self._titles = titles
        self.met: dict[str, set[str]] = {}  # story -> the ids of its versions
        self.position: tuple[str, str] | None = None  # the order of the last record scanned

    def __iter__(self) -> Iterator[StoryLine]:
        waiting: list[tuple[tuple[str, str], StoryLine]] = []  # by their leads, oldest first
        for record in self._scan:
            here = listing_order(record)
            while waiting and waiting[-1][0] > here:
                yield waiting.pop()[1]
            self.position = here
            story = story_of(record)
            if record["id"] in self.met.get(story, ()):
                continue
            found = {v["id"]: v for v in self._versions(story) if story_of(v) == story}
            if record["id"] not in found:
                raise IndexMismatch(story)
            known = story in self.met
            self.met[story] = set(found)
            if known:  # a version stored since: its line made again if it still waits
                at = [n for n, (_o, line) in enumerate(waiting) if story_of(line.lead) == story]
                if not at:
                    continue  # given already: it keeps what it had
                del waiting[at[0]]
            (line,) = collapse(found.values(), self._preferred, self._titles)
            insort(waiting, (listing_order(line.lead), line), key=lambda w: w[0])
        while waiting:
            yield waiting.pop()[1]

    def passed(self, record: Record) -> bool:
        """Whether the scan is past ``record`` and never met its story: the story is not
        in this listing (one it met is given once the scan is past its lead)."""
        return (
            self.position is not None
            and self.position < listing_order(record)
            and story_of(record) not in self.met
        )


def top_stories(
    scan: Iterable[Record],
    versions: Callable[[str], list[Record]],
    limit: int,
    preferred: Sequence[str] = (),
    titles: Mapping[str, str] | None = None,
) -> list[StoryLine] | None:
    """The ``limit`` newest stories as `collapse` orders them (by their lead), from the
    matching records newest first (``scan``) and each story's matching versions wherever
    they lie (``versions``): the first ``limit`` lines of a `StoryStream`.  None when the
    scan meets a version ``versions`` did not give (the index is not the store's)."""
    try:
        return list(islice(StoryStream(scan, versions, preferred, titles), limit))
    except IndexMismatch:
        return None


def local_day(record: Record, tz: tzinfo) -> date:
    return from_iso(record["published"]).astimezone(tz).date()


def group_by_day(records: Sequence[Record], tz: tzinfo) -> list[tuple[date, list[Record]]]:
    """Records (already newest first) grouped by local day, newest day first."""
    groups: dict[date, list[Record]] = {}
    for record in records:
        groups.setdefault(local_day(record, tz), []).append(record)
    return sorted(groups.items(), key=lambda kv: kv[0], reverse=True)


def group_by_rubric(records: Sequence[Record]) -> list[tuple[str, list[Record]]]:
    """Records grouped under their primary rubric, in the site's rubric order."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        primary = primary_rubric(record)
        groups.setdefault(primary, []).append(record)
    return sorted(groups.items(), key=lambda kv: rubrics.sort_key(kv[0]))


def group_by_feed(records: Sequence[Record]) -> list[tuple[str, list[Record]]]:
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(display_source(record), []).append(record)
    return sorted(groups.items(), key=lambda kv: kv[0].casefold())


def rubric_counts(records: Iterable[Record]) -> list[tuple[str, int]]:
    """Items per primary rubric, in rubric order."""
    counts: dict[str, int] = {}
    for record in records:
        primary = primary_rubric(record)
        counts[primary] = counts.get(primary, 0) + 1
    return sorted(counts.items(), key=lambda kv: rubrics.sort_key(kv[0]))


def section_key(record: Record, group: str) -> str:
    """The section a record is listed under: its primary rubric, or its source."""
    if group == "rubric":
        return str(primary_rubric(record))
    return display_source(record)


def per_group(
    records: Iterable[Record], group: str, n: int, totals: dict[str, int] | None = None
) -> list[Record]:
    """The ``n`` newest records of each section (primary rubric, or source), newest first.
    ``totals``, if given, receives how many each section holds in all (to say "+N more")."""
    counts: dict[str, int] = {}
    kept = []
    for record in records:
        key = section_key(record, group)
        if totals is not None:
            totals[key] = totals.get(key, 0) + 1
        if counts.get(key, 0) < n:
            counts[key] = counts.get(key, 0) + 1
            kept.append(record)
    return kept


@dataclass(frozen=True)
class DailyCounts:
    days: list[date]
    total: list[int]
    rubrics: list[tuple[str, list[int]]]  # in rubric order
    feeds: list[tuple[str, list[int]]]  # by total, descending


def daily_counts(records: Iterable[Record], tz: tzinfo, first: date, days: int) -> DailyCounts:
    """Items per local day from ``first`` over ``days`` days: in all, per primary rubric, and
    per feed (every feed that carried the item, also_in included)."""
    span = [first + timedelta(days=i) for i in range(days)]
    index = {day: i for i, day in enumerate(span)}
    total = [0] * days
    by_rubric: dict[str, list[int]] = {}
    by_feed: dict[str, list[int]] = {}
    for record in records:
        slot = index.get(local_day(record, tz))
        if slot is None:
            continue
        total[slot] += 1
        primary = primary_rubric(record)
        by_rubric.setdefault(primary, [0] * days)[slot] += 1
        carriers = {record.get("feed")} | {a.get("feed") for a in record.get("also_in", ())}
        for name in carriers:
            if name:
                by_feed.setdefault(str(name), [0] * days)[slot] += 1
    return DailyCounts(
        days=span,
        total=total,
        rubrics=sorted(by_rubric.items(), key=lambda kv: rubrics.sort_key(kv[0])),
        feeds=sorted(by_feed.items(), key=lambda kv: (-sum(kv[1]), kv[0])),
    )
