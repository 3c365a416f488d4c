"""`latest --stories` by date: the newest stories found from the newest records on (the
newest days' heads first), each story's versions looked up in the term index — the same
lines as collapsing every matching record of the store, without reading the newest days
whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzfeed import dedup
from kzfeed.config import load_config
from kzfeed.model import Item, listing_order, story_of
from kzfeed.query import Filter, StoryStream, collapse, scan_newest, top_stories
from kzfeed.reading import Selection, Wire
from kzfeed.store import Store
from kzfeed.store.termindex import PENDING

from .conftest import wire_item
from .test_heads import no_reading_of, partitions_read

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
FEEDS = ("kazinform-ru", "tengri", "kaztag")


def item(n: int, when: datetime) -> Item:
    return cast(
        Item,
        wire_item(
            n,
            when.isoformat(),
            feed=FEEDS[n % 3],
            source=FEEDS[n % 3].title(),
            title=f"Новость {n}: Тоқаев",
            summary="АСТАНА. KAZINFORM – лид.",
        ),
    )


def story_wire(tmp_path: Path, per_day: tuple[int, ...], preferred: str = "") -> Wire:
    """A store whose newest day (NOW's) holds per_day[0] items, the day before per_day[1] …,
    7 minutes apart; stories of 3 versions, one in ten of the newest day's with two more
    versions the day before; some read, one in seven muted by a rule."""
    items: list[Item] = []
    story: dict[str, str] = {}
    starts = []
    n = 0
    for back, count in enumerate(per_day):
        end = NOW - timedelta(days=back)
        starts.append(n)
        for k in range(count):
            items.append(item(n, end - timedelta(minutes=(k * 7) % (19 * 60))))
            story[items[-1].id] = items[starts[-1] + k - k % 3].id
            n += 1
    for k in range(1, min(per_day[0], per_day[1] - 3 if len(per_day) > 1 else 0), 10):
        # told the day before too, by the two other agencies
        for j in range(starts[1] + k, starts[1] + k + 3):
            if items[j].feed != items[k].feed:
                story[items[j].id] = story[items[k].id]
    data = tmp_path / "data"
    store = Store(data)
    with store.writer() as writer:
        writer.apply(dedup.plan(items, writer.view()))
        for k, it in enumerate(items):
            fields: dict[str, Any] = {"story": story[it.id]}
            if k % 7 == 3:
                fields["hidden"] = True
            if k % 5 == 1:
                fields["read"] = True
            writer.set_fields(it.id, **fields)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{data}"\nretention_days = 0\nstories = true\n'
        f"preferred_feeds = [{preferred!r}]\n"
        + "".join(f'[[feeds]]\nname = "{f}"\nurl = "https://x.invalid/{f}"\n' for f in FEEDS),
        encoding="utf-8",
    )
    return Wire(load_config(config), now=NOW)


def every_line(w: Wire, flt: Filter, n: int) -> list[tuple[str, list[str]]]:
    """What the listing must be: every matching record of the store collapsed."""
    store = Store(w.store.data_dir)
    records = [r for _d, day in store.iter_newest() for r in day if flt.matches(r)]
    lines = collapse(records, w.config.settings.preferred_feeds, w.feed_titles())[:n]
    return [(line.lead["id"], [v["id"] for v in line.versions]) for line in lines]


def shown(w: Wire, selection: Selection, n: int) -> list[tuple[str, list[str]]]:
    listing = w.latest(selection, n, stories=True)
    assert listing.stories is not None
    return [(r["id"], [v["id"] for v in listing.stories[r["id"]].versions]) for r in listing.items]


@pytest.mark.parametrize("preferred", ["", "tengri"])
def test_stories_come_from_the_heads_and_the_index_as_from_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preferred: str
) -> None:
    w = story_wire(tmp_path, (900, 700, 300), preferred)
    expected = every_line(w, w.filter(Selection()), 30)
    # the versions reach back into the day before (read a record at a time, not whole)
    if preferred:  # a version of today leads a story told yesterday too
        store = Store(w.store.data_dir)
        days = [{store.get(v)["published"][:10] for v in vs} for _lead, vs in expected]  # type: ignore[index]
        assert any(len(d) > 1 for d in days)
    no_reading_of(monkeypatch, {"2026-11-24", "2026-11-23", "2026-11-22"})
    assert shown(w, Selection(), 30) == expected


def test_filters_and_muted_versions_as_from_every_record(tmp_path: Path) -> None:
    w = story_wire(tmp_path, (900, 700))
    for selection in (Selection(unread=True), Selection(everything=True)):
        assert shown(w, selection, 25) == every_line(w, w.filter(selection), 25)


def test_a_stale_term_index_is_not_asked(tmp_path: Path) -> None:
    """A commit cut short leaves ``terms.pending``: the days are read, as before."""
    w = story_wire(tmp_path, (600, 300))
    expected = shown(w, Selection(), 20)
    (w.store.data_dir / PENDING).write_text("")
    with pytest.MonkeyPatch.context() as patch:
        read = partitions_read(patch)
        assert shown(Wire(w.config, now=NOW), Selection(), 20) == expected
    assert "2026-11-24" in read


def test_an_index_that_files_a_version_under_another_story_is_not_trusted(
    tmp_path: Path,
) -> None:
    """A version the scan meets that the index does not list under its story (an index
    of an earlier kzfeed kept some under their own id): the days are read instead."""
    import sqlite3

    w = story_wire(tmp_path, (600, 300))
    expected = every_line(w, w.filter(Selection()), 20)
    lead, versions = next((lead, vs) for lead, vs in expected if len(vs) > 1)
    stray = next(v for v in versions if v != lead)
    db = sqlite3.connect(w.store.data_dir / "terms.sqlite")
    with db:
        db.execute("UPDATE items SET grp = id WHERE id = ?", (stray,))
    db.close()
    assert shown(Wire(w.config, now=NOW), Selection(), 20) == expected


rows = st.lists(
    st.tuples(
        st.integers(0, 3),  # day back
        st.integers(0, 23 * 60),  # minute of the day
        st.integers(0, 15),  # story
        st.sampled_from(FEEDS),
        st.booleans(),  # read
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(
    rows,
    st.integers(1, 12),
    st.sampled_from([(), ("tengri",), ("kaztag", "kazinform-ru")]),
    st.booleans(),
    st.integers(0, 40),
)
def test_the_newest_stories_found_early_are_those_of_every_record(
    rows: list[tuple[int, int, int, str, bool]],
    limit: int,
    preferred: tuple[str, ...],
    unread: bool,
    head_size: int,
) -> None:
    """`top_stories` over `scan_newest` (heads of any size) gives what collapsing every
    matching record gives: the same leads, in order, with the same versions."""
    by_day: dict[str, list[Any]] = {}
    for k, (back, minute, story, feed, read) in enumerate(rows):
        when = datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=back, minutes=-minute)
        by_day.setdefault(when.date().isoformat(), []).append(
            {
                "id": f"{k:04x}",
                "feed": feed,
                "source": feed,
                "published": when.isoformat(),
                "story": f"s{story}",
                "read": read,
            }
        )
    flt = Filter(unread=unread)
    everything = [r for day in by_day.values() for r in day if flt.matches(r)]
    expected = collapse(everything, preferred)[:limit]
    days = sorted(by_day, reverse=True)
    heads = {d: sorted(r, key=listing_order, reverse=True)[:head_size] for d, r in by_day.items()}

    def versions(story: str) -> list[Any]:
        return [r for r in everything if story_of(r) == story]

    scan = scan_newest(days, heads.get, by_day.__getitem__, flt)
    got = top_stories(scan, versions, limit, preferred)
    assert got is not None
    assert [(x.lead["id"], [v["id"] for v in x.versions], x.sources) for x in got] == [
        (x.lead["id"], [v["id"] for v in x.versions], x.sources) for x in expected
    ]
    # the whole stream, as the reader reads it a page at a time: every story, in order;
    # and once a story is given, the scan has met it (a record it is past, it can tell)
    stream = StoryStream(scan_newest(days, heads.get, by_day.__getitem__, flt), versions, preferred)
    given = []
    for line in stream:
        given.append(line)
        assert story_of(line.lead) in stream.met
        assert stream.position is not None and stream.position <= listing_order(line.lead)
        assert not any(stream.passed(v) for v in line.versions)
    assert [(x.lead["id"], [v["id"] for v in x.versions]) for x in given] == [
        (x.lead["id"], [v["id"] for v in x.versions]) for x in collapse(everything, preferred)
    ]


def test_a_damaged_day_met_only_through_the_index_does_not_stop_the_listing(
    tmp_path: Path,
) -> None:
    import sqlite3

    """A version of a top story lies on an old day that is damaged: the index leads there,
    the listing falls back to reading the newest days (which never reach it), and lists."""
    w = story_wire(tmp_path, (600, 300, 300, 300, 40))
    top = shown(w, Selection(), 10)
    old_day = sorted(p.name for p in (w.store.data_dir / "items").glob("*.json"))[0]
    store = Store(w.store.data_dir)
    (_day, records), *_ = reversed(list(store.iter_newest()))
    story = story_of(store.get(top[0][0]))  # type: ignore[arg-type]
    with store.writer() as writer:  # an old item joins the newest story
        writer.set_fields(records[0]["id"], story=story)
    db = sqlite3.connect(w.store.data_dir / "terms.sqlite")
    with db:  # as the update that put it there indexed it
        db.execute("UPDATE items SET grp = ? WHERE id = ?", (story, records[0]["id"]))
    db.close()
    path = w.store.data_dir / "items" / old_day
    path.write_bytes(path.read_bytes()[:-40] + b"garbage")
    listing = Wire(w.config, now=NOW).latest(Selection(), 10, stories=True)
    assert [r["id"] for r in listing.items] == [lead for lead, _vs in top]


@pytest.mark.parametrize("query", ["Тоқаев", "новость -kaztag", "feed:tengri Тоқаев"])
def test_a_search_lists_from_the_index_a_record_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """`latest --search`, of items and of stories, as from every record — read one
    candidate at a time as the term index hands them out, newest first, not a day of
    candidates whole (0.44 → 0.13 s and 0.90 → 0.14 s on a day of 7,500 items)."""
    w = story_wire(tmp_path, (900, 700, 300))
    selection = Selection(search=query)
    flt = w.filter(selection)
    store = Store(w.store.data_dir)
    matching = [r for _d, day in store.iter_newest() for r in day if flt.matches(r)]
    matching.sort(key=listing_order, reverse=True)
    stories = every_line(w, flt, 20)
    no_reading_of(monkeypatch, {"2026-11-24", "2026-11-23", "2026-11-22"})
    assert [r["id"] for r in w.latest(selection, 60).items] == [r["id"] for r in matching[:60]]
    assert shown(w, selection, 20) == stories


def test_a_search_lists_a_second_s_items_in_order_whatever_their_rows(tmp_path: Path) -> None:
    """Items of one second stored by two updates, the second's id smaller: the term index
    gave the later one the next free row, after the first's, so its candidates came out of
    `listing_order`; a search puts each second's matches in order before listing them."""
    when = NOW - timedelta(hours=1)
    first = [item(n, when) for n in (5, 9)]
    later = [item(n, when) for n in (3, 7)]
    data = tmp_path / "data"
    for batch in (first, later):
        with Store(data).writer() as writer:
            writer.apply(dedup.plan(batch, writer.view()))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{data}"\nretention_days = 0\n'
        '[[feeds]]\nname = "tengri"\nurl = "https://x.invalid/t"\n',
        encoding="utf-8",
    )
    w = Wire(load_config(config), now=NOW)
    listed = [r["id"] for r in w.latest(Selection(search="Тоқаев"), 10).items]
    assert listed == [f"{n:016x}" for n in (9, 7, 5, 3)]


def records_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The days of the records read one at a time, in order."""
    read: list[str] = []
    one = Store.record_in

    def counted(self: Store, name: str, item_id: str) -> Any:
        read.append(name)
        return one(self, name, item_id)

    monkeypatch.setattr(Store, "record_in", counted)
    return read


@pytest.mark.parametrize("stories", [False, True])
def test_a_search_with_since_reads_no_candidate_older_than_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stories: bool
) -> None:
    """Fewer matches in the window than asked for: the candidates the index hands out stop
    at the window (found in review: every older candidate of the history was read, and
    failed --since one at a time: 0.05 → 5.3 s on a year's wire)."""
    w = story_wire(tmp_path, (900, 700, 300))
    selection = Selection(search="Тоқаев", since="1h")
    expected = [r["id"] for r in w.latest(selection, 60, stories=stories).items]
    assert 0 < len(expected) < 60
    read = records_read(monkeypatch)
    wholes = partitions_read(monkeypatch)
    assert [r["id"] for r in w.latest(selection, 60, stories=stories).items] == expected
    older = [d for d in read + wholes if d < "2026-11-23"]
    assert not older, f"{len(older)} records/days read from before the window's day before"


def test_the_reader_s_first_page_of_a_search_with_since_stays_in_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = story_wire(tmp_path, (900, 700, 300))
    read = records_read(monkeypatch)
    pages = w.story_pages(Selection(search="Тоқаев", since="1h"))
    assert pages is not None
    first = next(iter(pages))
    pages.close()
    assert 0 < len(first) < 60
    older = [d for d in read if d < "2026-11-23"]
    assert not older, f"{len(older)} records of 2026-11-22 read for the first page"


def test_a_row_pushed_into_the_next_second_keeps_the_listing_order(tmp_path: Path) -> None:
    """A collision at the last row of a second (24 bits all ones) takes the next free row:
    one of the next second, above a row that second already holds (found in review)."""
    when = NOW - timedelta(hours=1)
    later = when + timedelta(seconds=1)
    a, b, c = 0xFFFFFF0000000001, 0xFFFFFF0000000002, 0x1
    data = tmp_path / "data"
    for batch in ([item(a, when), item(c, later)], [item(b, when)]):
        with Store(data).writer() as writer:
            writer.apply(dedup.plan(batch, writer.view()))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{data}"\nretention_days = 0\n'
        + "".join(f'[[feeds]]\nname = "{f}"\nurl = "https://x.invalid/{f}"\n' for f in FEEDS),
        encoding="utf-8",
    )
    w = Wire(load_config(config), now=NOW)
    listed = [r["id"] for r in w.latest(Selection(search="Тоқаев"), 10).items]
    assert listed == [f"{n:016x}" for n in (c, b, a)]


def test_a_grouped_search_with_until_reads_no_newer_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's days, for a grouped view, come from the index's rows of the window only:
    a day of candidates after `--until` is not read whole, only to be skipped."""
    w = story_wire(tmp_path, (900, 700, 300))
    selection = Selection(search="Тоқаев", since="2026-11-22", until="2026-11-22T23:59:59")
    flt = w.filter(selection)
    assert flt.until is not None and flt.until < "2026-11-23"
    store = Store(w.store.data_dir)
    expected = sorted(r["id"] for r in store.partition_items("2026-11-22") if flt.matches(r))
    no_reading_of(monkeypatch, {"2026-11-24", "2026-11-23"})
    listing = w.latest(selection, 1000, group="rubric")
    assert sorted(r["id"] for r in listing.items) == expected
