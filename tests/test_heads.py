"""The newest days' headlines (`store/heads.py`): `latest` reads a busy day's head, not the
day, and gets what reading the day whole gives — or reads the day when the head is stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzfeed import dedup
from kzfeed.config import load_config
from kzfeed.model import Item, listing_order
from kzfeed.query import Filter, newest, newest_per_group, newest_with_heads, per_group
from kzfeed.reading import Selection, Wire
from kzfeed.store import Store
from kzfeed.store import files as store_files
from kzfeed.store.heads import HEAD_DAYS, HEAD_ITEMS, head_path

from .conftest import wire_item

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
RUBRICS = ("politics", "economy", "sport", "society")


def item(n: int, when: datetime) -> Item:
    return cast(
        Item,
        wire_item(
            n,
            when.isoformat(),
            feed=f"f{n % 3}",
            title=f"Новость {n}: Тоқаев",
            rubrics=(RUBRICS[n % 4],) if n % 25 else ("culture",),
            lang="kk" if n % 5 == 0 else "ru",
            summary="АСТАНА. KAZINFORM – лид.",
        ),
    )


def wire(tmp_path: Path, per_day: tuple[int, ...]) -> Wire:
    """A store whose newest day (NOW's) holds per_day[0] items, the day before per_day[1] …"""
    items, n = [], 0
    for back, count in enumerate(per_day):
        end = NOW - timedelta(days=back)
        for k in range(count):
            # whole minutes, many items sharing one: the order falls back to the id
            items.append(item(n, end - timedelta(minutes=(k * 7) % (19 * 60))))
            n += 1
    data = tmp_path / "data"
    store = Store(data)
    with store.writer() as writer:
        writer.apply(dedup.plan(items, writer.view()))
    config = tmp_path / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{data}"\nretention_days = 0\n'
        + "".join(f'[[feeds]]\nname = "f{k}"\nurl = "https://x.invalid/{k}"\n' for k in range(3)),
        encoding="utf-8",
    )
    return Wire(load_config(config), now=NOW)


def no_reading_of(monkeypatch: pytest.MonkeyPatch, days: set[str]) -> None:
    """Reading any of ``days`` whole fails the test."""
    whole = Store.partition_items

    def guarded(self: Store, name: str) -> list[Any]:
        assert name not in days, f"the partition {name} was read whole"
        return whole(self, name)

    monkeypatch.setattr(Store, "partition_items", guarded)


def partitions_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The partitions read whole from now on, in order (a list the test may clear)."""
    read: list[str] = []
    whole = Store.partition_items

    def counted(self: Store, name: str) -> list[Any]:
        read.append(name)
        return whole(self, name)

    monkeypatch.setattr(Store, "partition_items", counted)
    return read


def read_whole(w: Wire, flt: Filter, n: int) -> list[str]:
    return [r["id"] for r in newest(Store(w.store.data_dir).iter_newest(), flt, n)]


def test_a_busy_day_gets_a_head_of_its_newest_records_small_days_none(tmp_path: Path) -> None:
    w = wire(tmp_path, (600, 100, 400))
    data = w.store.data_dir
    assert head_path(data, "2026-11-24").exists()
    assert not head_path(data, "2026-11-23").exists()  # 100 items: read whole, as cheap
    assert head_path(data, "2026-11-22").exists()
    head = w.store.head_items("2026-11-24")
    records = w.store.partition_items("2026-11-24")
    assert head is not None and len(head) == HEAD_ITEMS
    assert head == sorted(records, key=listing_order, reverse=True)[:HEAD_ITEMS]


def test_latest_reads_the_head_and_shows_what_the_whole_day_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = wire(tmp_path, (600, 500))
    expected = read_whole(w, Filter(), 50)
    no_reading_of(monkeypatch, {"2026-11-24", "2026-11-23"})
    assert [r["id"] for r in w.latest(Selection(), 50).items] == expected
    # a filter the head holds 50 matches of
    flt = w.filter(Selection(rubrics=("sport",)))
    monkeypatch.undo()
    expected = read_whole(w, flt, 50)
    no_reading_of(monkeypatch, {"2026-11-24", "2026-11-23"})
    assert [r["id"] for r in w.latest(Selection(rubrics=("sport",)), 50).items] == expected


def test_a_filter_the_head_cannot_satisfy_reads_the_day(tmp_path: Path) -> None:
    w = wire(tmp_path, (600, 500))
    # culture: one item in 25, about 10 in a head of 256: the day is read, then the next
    selection = Selection(rubrics=("culture",))
    got = [r["id"] for r in w.latest(selection, 30).items]
    assert got == read_whole(w, w.filter(selection), 30) and len(got) == 30


def test_read_marks_reach_the_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = wire(tmp_path, (600,))
    first = w.latest(Selection(), 3).items
    assert w.mark([first[0]["id"]], True) == 1
    no_reading_of(monkeypatch, {"2026-11-24"})
    unread = w.latest(Selection(unread=True), 3).items
    assert [r["id"] for r in unread] == [first[1]["id"], first[2]["id"], unread[2]["id"]]
    assert first[0]["id"] not in {r["id"] for r in unread}


def test_a_head_that_no_longer_describes_its_day_is_ignored(tmp_path: Path) -> None:
    """A partition written without its head (`db restore`, an older kzfeed, a commit cut
    between the two files): the day is read whole, so nothing stale is shown."""
    w = wire(tmp_path, (600,))
    newest_id = w.latest(Selection(), 1).items[0]["id"]
    path = w.store.items_dir / "2026-11-24.json"
    data = orjson.loads(path.read_bytes())
    for record in data["items"].values():
        if record["id"] == newest_id:
            record["title"] = "Исправленный заголовок"
    store_files.write_atomic(path, orjson.dumps(data))
    fresh = Wire(w.config, now=NOW)
    assert fresh.store.head_items("2026-11-24") is None
    assert fresh.latest(Selection(), 1).items[0]["title"] == "Исправленный заголовок"


def test_a_damaged_head_is_ignored(tmp_path: Path) -> None:
    w = wire(tmp_path, (600,))
    expected = read_whole(w, Filter(), 20)
    head_path(w.store.data_dir, "2026-11-24").write_bytes(b'{"stamp": [1, 2, ')
    assert [r["id"] for r in Wire(w.config, now=NOW).latest(Selection(), 20).items] == expected


def test_only_the_newest_days_keep_heads(tmp_path: Path) -> None:
    w = wire(tmp_path, (300,) * (HEAD_DAYS + 2))
    kept = sorted(p.stem for p in (w.store.data_dir / "heads").iterdir())
    assert kept == sorted(w.store.partitions()[:HEAD_DAYS])
    # a new day: the oldest head goes
    store = Store(w.store.data_dir)
    later = [item(10_000 + k, NOW + timedelta(days=1, minutes=-k)) for k in range(300)]
    with store.writer() as writer:
        writer.apply(dedup.plan(later, writer.view()))
    kept = sorted(p.stem for p in (w.store.data_dir / "heads").iterdir())
    assert kept == sorted(store.partitions()[:HEAD_DAYS]) and "2026-11-25" in kept


# ------------------------------------------------------------------ the decision, pure

records = st.lists(
    st.tuples(
        st.integers(0, 3),  # day back
        st.integers(0, 40),  # minute of the day (many shared)
        st.sampled_from(RUBRICS),
        st.booleans(),  # read
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(
    records,
    st.integers(1, 40),
    st.integers(1, 12),
    st.sampled_from([None, *RUBRICS]),
    st.booleans(),
    st.sampled_from([None, "2026-11-22T00:20:00+00:00", "2026-11-23T00:05:00+00:00"]),
)
def test_heads_give_what_whole_days_give(
    rows: list[tuple[int, int, str, bool]],
    limit: int,
    size: int,
    rubric: str | None,
    unread: bool,
    since: str | None,
) -> None:
    by_day: dict[str, list[Any]] = {}
    for n, (back, minute, rub, read) in enumerate(rows):
        when = datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=back) + timedelta(minutes=minute)
        day = when.date().isoformat()
        by_day.setdefault(day, []).append(
            {"id": f"{n:04x}", "published": when.isoformat(), "rubrics": [rub], "read": read}
        )
    days = sorted(by_day, reverse=True)
    heads = {d: sorted(r, key=listing_order, reverse=True)[:size] for d, r in by_day.items()}
    flt = Filter(rubrics=frozenset({rubric}) if rubric else frozenset(), unread=unread, since=since)
    whole = newest(((d, by_day[d]) for d in days), flt, limit)
    assert newest_with_heads(days, heads.get, by_day.__getitem__, flt, limit) == whole


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "edit", "read", "older", "newer"]),
            st.integers(0, 10_000),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_a_busy_day_changed_in_place_keeps_a_true_head(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int]]
) -> None:
    """Adds, edits, read marks and times moved within the day, each its own commit (the
    day patched where its records lie, the head merged or made again): the day holds what
    was written, and its head is always its newest records."""
    from dataclasses import replace as dc_replace

    tmp_path = tmp_path_factory.mktemp("day")
    store = Store(tmp_path)
    day = NOW.replace(hour=0)
    current = {it.id: it for it in (item(n, day + timedelta(minutes=n % 1200)) for n in range(300))}
    with store.writer() as writer:
        writer.apply(dedup.plan(list(current.values()), writer.view()))
    next_n = 300
    for action, pick in steps:
        ids = sorted(current)
        chosen = current[ids[pick % len(ids)]]
        store = Store(tmp_path)
        with store.writer() as writer:
            if action == "add":
                new = item(next_n, day + timedelta(minutes=pick % 1200))
                next_n += 1
                current[new.id] = new
                writer.apply(dedup.plan([new], writer.view()))
            elif action == "edit":
                edited = dc_replace(chosen, title=f"Правка {pick}", content_hash=f"h{pick}")
                current[edited.id] = edited
                writer.apply(dedup.plan([edited], writer.view()))
            elif action == "read":
                writer.set_read([chosen.id], True)
            else:  # its time moved within the day, to the oldest or the newest
                moved = day + timedelta(seconds=1 if action == "older" else 86_000 - pick % 50)
                writer.set_fields(chosen.id, published=moved.isoformat())
                current[chosen.id] = dc_replace(chosen, published=moved.isoformat())
    fresh = Store(tmp_path)
    records = fresh.partition_items("2026-11-24")
    assert {r["id"] for r in records} == set(current)
    assert {r["id"]: r["title"] for r in records} == {i: it.title for i, it in current.items()}
    head = fresh.head_items("2026-11-24")
    assert head == sorted(records, key=listing_order, reverse=True)[:HEAD_ITEMS]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 24 * 60 - 1),
            st.sampled_from(RUBRICS),
            st.sampled_from(["Kazinform", "Tengrinews", "КазТАГ"]),
            st.booleans(),
        ),
        max_size=60,
    ),
    st.integers(1, 6),
    st.sampled_from(["rubric", "feed"]),
    st.booleans(),
    st.sampled_from([None, "2026-11-22T00:20:00+00:00"]),
)
def test_sections_read_a_day_at_a_time_give_what_the_whole_window_gives(
    rows: list[tuple[int, int, str, str, bool]],
    n: int,
    group: str,
    unread: bool,
    since: str | None,
) -> None:
    """A grouped view reads the window a day at a time (`newest_per_group`): the same
    sections, items and totals as the whole window sorted, then cut (`per_group`)."""
    by_day: dict[str, list[Any]] = {}
    for k, (back, minute, rub, source, read) in enumerate(rows):
        when = datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=back) + timedelta(minutes=minute)
        record = {
            "id": f"{k % 40:04x}",  # some ids twice: kept once, from the newer day
            "feed": source,
            "source": source,
            "published": when.isoformat(),
            "rubrics": [rub],
            "read": read,
        }
        by_day.setdefault(when.date().isoformat(), []).append(record)
    days = sorted(by_day, reverse=True)
    flt = Filter(unread=unread, since=since)
    whole_totals: dict[str, int] = {}
    whole = per_group(
        newest(((d, list(by_day[d])) for d in days), flt, None), group, n, whole_totals
    )
    day_totals: dict[str, int] = {}
    by_days = newest_per_group(((d, list(by_day[d])) for d in days), flt, group, n, day_totals)
    assert by_days == whole
    assert day_totals == whole_totals


def test_a_grouped_view_reads_its_newest_busy_day_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default window (7 days up to the newest dated item) is found in the newest
    day's head: the day is decoded by the listing only."""
    w = wire(tmp_path, (600, 100, 50))
    expected = w.latest(Selection(), 5, group="rubric")
    read = partitions_read(monkeypatch)
    listing = Wire(w.config, now=NOW).latest(Selection(), 5, group="rubric")
    assert sorted(read) == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert [r["id"] for r in listing.items] == [r["id"] for r in expected.items]
    assert listing.window == expected.window == "2026-11-18T00:00:00+00:00"
    assert listing.totals == expected.totals and sum(listing.totals.values()) == 750


def test_the_readers_pages_start_from_the_head_and_go_on_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Wire.pages` (the reader's list): pages of `PAGE_ROWS`, newest first; the first comes
    from a busy day's head without reading the day, and all of them together are the days
    read whole, in the order `latest` shows."""
    from kzfeed.reading import PAGE_ROWS

    w = wire(tmp_path, (600, 100, 400))
    read = partitions_read(monkeypatch)
    for selection in (Selection(), Selection(unread=True), Selection(rubrics=("sport",))):
        expected = read_whole(w, w.filter(selection), 10_000)
        pages = w.pages(selection)
        read.clear()
        first = next(pages)
        if not selection.rubrics:  # the head holds a page of them (sport: a quarter, not)
            assert read == []
        assert 0 < len(first) <= PAGE_ROWS
        rest = [r for page in pages for r in page]
        assert [r["id"] for r in [*first, *rest]] == expected


def test_a_story_opens_through_the_term_index_without_reading_its_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kzfeed story` and the reader's story pane: every version, as reading the four days
    around it gives, each read from its span."""
    from .test_stories_index import story_wire

    w = story_wire(tmp_path, (600, 300))
    store = Store(w.store.data_dir)
    records = [r for _d, day in store.iter_newest() for r in day]
    sizes: dict[str, int] = {}
    for r in records:
        sizes[r.get("story", r["id"])] = sizes.get(r.get("story", r["id"]), 0) + 1
    told = [s for s, n in sizes.items() if n > 2][:5]  # stories told over two days among them
    expected = {}
    for story in told:
        line = w.story(story)
        expected[story] = ([v["id"] for v in line.versions], line.lead["id"], line.sources)
    (w.store.data_dir / "terms.pending").write_text("")  # the days, read whole
    for story in told:
        line = Wire(w.config, now=NOW).story(story)
        assert ([v["id"] for v in line.versions], line.lead["id"], line.sources) == expected[story]
    (w.store.data_dir / "terms.pending").unlink()
    no_reading_of(monkeypatch, {"2026-11-24", "2026-11-23"})
    for story in told:
        line = Wire(w.config, now=NOW).story(story)
        assert ([v["id"] for v in line.versions], line.lead["id"], line.sources) == expected[story]
