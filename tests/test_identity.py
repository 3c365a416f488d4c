"""The identity index (``identity.sqlite``): looked up, never read whole, and derived —
whatever a store went through, the index built again from its files is the one its
commits kept."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kzfeed import dedup
from kzfeed.model import Item
from kzfeed.store import Store
from kzfeed.store.identity import Identity, remove
from tests.test_store import store_items


def key(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def story(feed: str, n: int, version: int = 0, day: int = 24) -> Item:
    """Story ``n`` as ``feed`` carries it: the same link in every feed (so other feeds'
    copies merge), its text as of ``version``."""
    feed_key = key("f", feed, n)
    return Item(
        id=feed_key,
        feed=feed,
        source=feed,
        title=f"История {n}, версия {version}",
        url=f"https://example.kz/news/{n}",
        published=f"2026-11-{day:02d}T0{n % 10}:00:00+00:00",
        date_estimated=False,
        rubrics=("politics",),
        categories=(),
        lang="ru",
        summary=f"Текст {n}.{version}",
        feed_key=feed_key,
        link_key=key("u", n),
        content_hash=key("h", feed, n, version),
    )


def everything(data: Path) -> tuple[object, ...]:
    ident = Store(data).identity()
    try:
        items, keys, buried = ident.all_rows()
        feeds = {i: ident.entry(i) for i in items}
        stamps = {name: found[:2] for name, found in ident.stamps().items()}
        return items, keys, buried, feeds, stamps, ident.count()
    finally:
        ident.close()


FEEDS = ("kazinform", "tengri", "zakon")


def _cut(self: Identity, delta: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def cut_at_the_index(cut: bool = True) -> Iterator[None]:
    """Commits in this block are cut (Ctrl-C) after their day files, before the index."""
    real = Identity.apply
    if cut:
        Identity.apply = _cut  # type: ignore[method-assign]
    try:
        yield
    finally:
        Identity.apply = real  # type: ignore[method-assign]


@contextlib.contextmanager
def cut_after_days(many: int) -> Iterator[list[str]]:
    """Commits in this block are cut (Ctrl-C) once ``many`` day files are written; yields
    the days written."""
    from kzfeed.store.writer import Writer

    real = Writer._write_day
    written: list[str] = []

    def cut(self: Writer, partition: str, *args: object) -> object:
        if len(written) == many:
            raise KeyboardInterrupt
        written.append(partition)
        return real(self, partition, *args)  # type: ignore[arg-type]

    Writer._write_day = cut  # type: ignore[method-assign]
    try:
        yield written
    finally:
        Writer._write_day = real  # type: ignore[method-assign]


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("store"),
            st.sampled_from(FEEDS),
            st.lists(
                st.tuples(
                    st.integers(0, 7), st.integers(0, 2), st.integers(20, 24)
                ),  # story, version, day
                min_size=1,
                max_size=5,
            ),
        ),
        st.tuples(st.just("prune"), st.integers(20, 24), st.just([])),
        st.tuples(st.just("purge"), st.sampled_from(FEEDS), st.just([])),
        # in one session: a feed purged, then stories stored, the commit cut before the
        # index (the next writer takes the days in)
        st.tuples(
            st.sampled_from(["purge+store", "purge+store, cut"]),
            st.sampled_from(FEEDS),
            st.lists(
                st.tuples(st.integers(0, 7), st.integers(0, 2), st.integers(20, 24)),
                min_size=1,
                max_size=3,
            ),
        ),
        st.tuples(st.just("read"), st.integers(0, 7), st.just([])),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_the_index_built_again_from_the_files_is_the_one_the_commits_kept(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, object, list[object]]]
) -> None:
    data = tmp_path_factory.mktemp("store")
    for op, arg, stories in ops:
        store = Store(data)
        if op == "store":
            items = [story(str(arg), n, v, d) for n, v, d in stories]  # type: ignore[misc]
            store_items(store, items)
        elif op == "prune":
            with store.writer() as writer:
                writer.prune(datetime(2026, 11, int(str(arg)), tzinfo=UTC))
        elif op == "purge":
            with store.writer() as writer:
                writer.purge_feed(str(arg))
        elif op.startswith("purge+store"):
            items = [story(FEEDS[n % 3], n, v, d) for n, v, d in stories]  # type: ignore[misc]
            with (
                contextlib.suppress(KeyboardInterrupt),
                cut_at_the_index(op.endswith("cut")),
                store.writer() as writer,
            ):
                writer.purge_feed(str(arg))
                writer.apply(dedup.plan(items, writer.view(items)))
        else:
            with store.writer() as writer:
                writer.set_read([story(FEEDS[0], int(str(arg))).id], True)
    with Store(data).writer():
        pass  # a writer takes in what a cut commit left
    kept = everything(data)
    again = data.parent / (data.name + "-again")
    shutil.copytree(data, again)
    remove(again)
    assert everything(again) == kept


def test_a_batch_asks_the_index_a_query_per_500_keys_not_one_per_key(tmp_path: Path) -> None:
    store_items(Store(tmp_path), [story("kazinform", n) for n in range(50)])
    store_items(Store(tmp_path), [story("zakon", n, day=10) for n in range(100, 110)])
    with Store(tmp_path).writer() as writer:  # tombstones to ask about
        writer.prune(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
    asked: list[str] = []
    batch = [story("tengri", n) for n in range(1200)]  # 1,200 items: 2,400 keys
    store = Store(tmp_path)
    with store.writer() as writer:
        writer.identity.db.set_trace_callback(asked.append)
        writer.apply(dedup.plan(batch, writer.view(batch)))
        writer.identity.db.set_trace_callback(None)
    lookups = [q for q in asked if "FROM keys" in q or "FROM tombstones" in q]
    # keys: 2,400 in 5 queries; tombstones: the 2,300 keys not found, in 5; and whether
    # there are any tombstones at all (a store that never pruned is not asked about them)
    probe = "SELECT 1 FROM tombstones LIMIT 1"
    assert 0 < len(lookups) <= 11 and all("IN (" in q or q == probe for q in lookups), lookups
    assert any("FROM tombstones WHERE key IN" in q for q in lookups)
    # and where each of the 50 stories another feed already carried lies (to merge it)
    others = [q for q in asked if q.lstrip().upper().startswith("SELECT") and q not in lookups]
    assert len(others) <= 50 and all("WHERE id = " in q for q in others)
    assert store_items(Store(tmp_path), batch) == (0, 0)


def test_a_reader_sees_the_last_commit_while_a_writer_works(tmp_path: Path) -> None:
    store_items(Store(tmp_path), [story("kazinform", n) for n in range(3)])
    store = Store(tmp_path)
    with store.writer() as writer:
        writer.apply(dedup.plan([story("kazinform", 9)], writer.view()))
        reader = Store(tmp_path)
        assert reader.item_count() == 3
        assert reader.get(story("kazinform", 9).id) is None
        assert writer.get(story("kazinform", 9).id) is not None
    assert Store(tmp_path).item_count() == 4


def test_an_identity_index_of_another_version_is_built_again(tmp_path: Path) -> None:
    items = [story("kazinform", n) for n in range(4)]
    store_items(Store(tmp_path), items)
    db = sqlite3.connect(tmp_path / "identity.sqlite")
    db.execute("UPDATE meta SET value = '0' WHERE key = 'version'")
    db.commit()
    db.close()
    assert Identity.open(tmp_path) is None  # not this version: not used as it is
    assert store_items(Store(tmp_path), items) == (0, 0)
    assert Store(tmp_path).item_count() == 4


def test_pruned_keys_survive_in_tombstone_files_and_expire_with_them(tmp_path: Path) -> None:
    old = replace(story("kazinform", 1, day=20), date_estimated=True)
    store_items(Store(tmp_path), [old, story("kazinform", 2, day=25)])
    with Store(tmp_path).writer() as writer:
        writer.prune(datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
    tombstones = tmp_path / "tombstones" / "2026-11-24.json"
    assert tombstones.exists()
    assert (tmp_path / "backups" / "last" / "tombstones" / "2026-11-24.json").exists()
    remove(tmp_path)  # the tombstones come back from their file
    again = replace(old, published="2026-11-24T10:00:00+00:00")
    assert store_items(Store(tmp_path), [again]) == (0, 0)
    # once the retention window has passed their day, they go with their file
    with Store(tmp_path).writer() as writer:
        writer.prune(datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC))
    assert not tombstones.exists()
    assert Store(tmp_path).identity().all_rows()[2] == set()


# ------------------------------------------------------------------ found by review


def moved(item: Item, day: int) -> Item:
    """The item once its feed gives its real date (it was estimated)."""
    return replace(
        item,
        published=f"2026-11-{day:02d}T08:00:00+00:00",
        date_estimated=False,
        content_hash="dated",
    )


def test_a_prune_in_the_batch_that_moved_an_item_across_its_limit(tmp_path: Path) -> None:
    """The batch's own moves count, not the committed index's days: an item moved into a
    pruned day is pruned, one moved out of it stays (found by review: the first was left
    in a day file the index no longer knew, its keys tombstoned)."""
    into = replace(story("kazinform", 1, day=24), date_estimated=True)
    out = replace(story("kazinform", 2, day=10), date_estimated=True)
    store_items(Store(tmp_path), [into, out, story("kazinform", 3, day=9)])
    with Store(tmp_path).writer() as writer:
        batch = [moved(into, 5), moved(out, 23)]
        writer.apply(dedup.plan(batch, writer.view(batch)))
        writer.prune(datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
    store = Store(tmp_path)
    assert store.get(into.id) is None and store.get(out.id)["published"][:10] == "2026-11-23"
    on_disk = {r["id"] for _day, records in store.iter_newest() for r in records}
    assert on_disk == {out.id}
    kept = everything(tmp_path)
    remove(tmp_path)
    assert everything(tmp_path) == kept
    assert store_items(Store(tmp_path), [moved(out, 23)]) == (0, 0)


def test_a_commit_cut_between_two_days_leaves_the_moved_item_in_the_newer(
    tmp_path: Path,
) -> None:
    """An item moved to an earlier day, the commit cut after that day was written: it is
    in both files.  The next writer keeps the newer file's copy and takes the older out
    of its file; the index is the one a rebuild makes (found by review)."""
    from kzfeed.store import check

    item = replace(story("kazinform", 1, day=24), date_estimated=True)
    store_items(Store(tmp_path), [item, story("kazinform", 2, day=24)])
    with pytest.raises(KeyboardInterrupt), cut_after_days(1) as written:
        store_items(Store(tmp_path), [moved(item, 20)])
    assert written == ["2026-11-20"]
    assert check(tmp_path)[0] == []  # a cut commit: not a fault
    with Store(tmp_path).writer():
        pass  # the next writer
    days = {day: [r["id"] for r in records] for day, records in Store(tmp_path).iter_newest()}
    assert days == {"2026-11-20": [item.id], "2026-11-24": [story("kazinform", 2).id]}
    kept = everything(tmp_path)
    remove(tmp_path)
    assert everything(tmp_path) == kept
    assert check(tmp_path)[0] == []


def test_no_reader_sees_an_index_half_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kzfeed.store import identity

    store_items(Store(tmp_path), [story("kazinform", n, day=20 + n % 5) for n in range(10)])
    remove(tmp_path)
    seen: list[object] = []
    real = identity.catch_up

    def watched(store: Store, ident: Identity) -> int:
        taken = real(store, ident)
        seen.append(Identity.open(tmp_path))  # what a reader finds meanwhile: none
        return taken

    monkeypatch.setattr(identity, "catch_up", watched)
    assert Store(tmp_path).item_count() == -1
    assert Store(tmp_path).get(story("kazinform", 3, day=23).id) is not None  # built
    assert seen == [None] and Store(tmp_path).item_count() == 10
    assert not list(tmp_path.glob("identity.sqlite.building*"))


def test_a_reader_takes_in_a_day_a_cut_commit_left(tmp_path: Path) -> None:
    """After a commit cut before the index, `show` finds what `latest` lists, although
    no update has stored anything since (found by review)."""
    store_items(Store(tmp_path), [story("kazinform", 1)])
    late = story("kazinform", 2)
    with pytest.raises(KeyboardInterrupt), cut_at_the_index():
        store_items(Store(tmp_path), [late])
    assert Store(tmp_path).get(late.id) is not None
    assert Store(tmp_path).item_count() == 2


def test_the_count_of_a_damaged_index_is_not_kept_for_the_store(tmp_path: Path) -> None:
    store_items(Store(tmp_path), [story("kazinform", n) for n in range(3)])
    remove(tmp_path)
    (tmp_path / "identity.sqlite").write_bytes(b"\x00" * 100)
    store = Store(tmp_path)
    assert store.item_count() == 0  # not built for a count
    assert store.get(story("kazinform", 1).id) is not None  # built for a record
    assert store.item_count() == 3


@pytest.mark.parametrize(
    "index",
    [
        b'{"schema": 2, "keys": ["k"], "seen": {}, "items": {}, "tombstones": {}}',
        b'{"schema": 2, "keys": {}, "seen": [], "items": {}, "tombstones": {}}',
        b'{"schema": 2, "keys": {}, "seen": {}, "items": {}, "tombstones": 5}',
    ],
)
def test_a_malformed_old_index_is_an_error_naming_it(tmp_path: Path, index: bytes) -> None:
    from kzfeed.errors import StoreError

    store_items(Store(tmp_path), [story("kazinform", 1)])
    (tmp_path / "index.json").write_bytes(index)
    with pytest.raises(StoreError, match=r"index\.json: a malformed index"):
        Store(tmp_path).get(story("kazinform", 1).id)
    assert (tmp_path / "index.json").read_bytes() == index


def test_moving_a_store_over_stops_at_a_damaged_day_and_loses_nothing(tmp_path: Path) -> None:
    """A damaged day stops the move with its name; the old index stays, and once the day
    is restored the move goes through.  The versions `db restore --previous` would bring
    back get their keys too (found by review: a merged copy came back as new)."""
    from kzfeed.errors import StoreError
    from kzfeed.store import restore
    from tests.test_store import _as_legacy

    first = story("kazinform", 1, day=20)
    copy = story("tengri", 1, day=20)  # the same story from another feed: merged
    store_items(Store(tmp_path), [first, story("kazinform", 2, day=21)])
    store_items(Store(tmp_path), [copy])
    _as_legacy(tmp_path, 2)
    day = tmp_path / "items" / "2026-11-20.json"
    good = day.read_bytes()
    day.write_bytes(b"\x00garbage")
    with pytest.raises(StoreError, match=r"2026-11-20\.json"):
        Store(tmp_path).get(first.id)
    assert (tmp_path / "index.json").exists()
    day.write_bytes(good)  # as `db restore` would bring it back
    assert store_items(Store(tmp_path), [copy, first]) == (0, 0)
    assert not (tmp_path / "index.json").exists()
    previous = tmp_path / "backups" / "previous" / "items" / "2026-11-20.json"
    assert '"keys"' in previous.read_text(encoding="utf-8")
    restore(tmp_path, previous=True)
    assert store_items(Store(tmp_path), [copy, first]) == (0, 0)


def test_an_item_forgotten_and_stored_again_on_another_day_in_a_cut_commit(
    tmp_path: Path,
) -> None:
    """Another feed's key names an item; the item is purged and its first feed sends it
    again, dated another day, in a commit cut before the index.  Taking the new day in,
    the next writer lets go of every key the index held for it — the other feed's too,
    which no record carries any more (found by review's fuzzing)."""
    first = story("kazinform", 1, day=24)
    store_items(Store(tmp_path), [first])
    store_items(Store(tmp_path), [story("tengri", 1, day=24)])  # merged: tengri's key
    with Store(tmp_path).writer() as writer:
        writer.purge_feed("kazinform")  # tengri carries it on
    with pytest.raises(KeyboardInterrupt), cut_at_the_index(), Store(tmp_path).writer() as writer:
        writer.purge_feed("tengri")  # gone, with every key
        again = [story("kazinform", 1, version=1, day=21)]
        writer.apply(dedup.plan(again, writer.view(again)))
    with Store(tmp_path).writer():
        pass
    kept = everything(tmp_path)
    assert key("f", "tengri", 1) not in kept[1]  # type: ignore[operator]
    remove(tmp_path)
    assert everything(tmp_path) == kept


def test_a_commit_cut_between_two_days_never_loses_an_item_moved_to_a_later_day(
    tmp_path: Path,
) -> None:
    """The day an item moves to is written before the day it leaves (found by review: in
    name order, a cut between the two lost it)."""
    item = replace(story("kazinform", 1, day=20), date_estimated=True)
    store_items(Store(tmp_path), [item, story("kazinform", 2, day=20)])
    with pytest.raises(KeyboardInterrupt), cut_after_days(1) as written:
        store_items(Store(tmp_path), [moved(item, 24)])
    assert written == ["2026-11-24"]
    stored = Store(tmp_path).get(item.id)
    assert stored is not None and stored["published"][:10] == "2026-11-24"
    days = {day: [r["id"] for r in records] for day, records in Store(tmp_path).iter_newest()}
    assert days == {"2026-11-24": [item.id], "2026-11-20": [story("kazinform", 2).id]}


def test_a_day_of_json_that_is_no_kzfeed_day_is_left_out_of_the_index(tmp_path: Path) -> None:
    """A record whose fields are of the wrong kinds (valid JSON) is not taken in, and no
    Python error reaches the user (found by review: `"also_in": 5`)."""
    import orjson

    store_items(Store(tmp_path), [story("kazinform", 1, day=20), story("kazinform", 2)])
    path = tmp_path / "items" / "2026-11-20.json"
    day = orjson.loads(path.read_bytes())
    for record in day["items"].values():
        record["also_in"] = 5
    path.write_bytes(orjson.dumps(day))
    store = Store(tmp_path)
    assert store.get(story("kazinform", 2).id) is not None
    assert store.item_count() == 1


def test_items_that_swap_days_survive_a_commit_cut_between_the_two(tmp_path: Path) -> None:
    """Every day's gains are written before any day's losses (found by review: with a
    day that both gains and loses, an item could leave before it arrived)."""
    x = replace(story("kazinform", 1, day=20), date_estimated=True)
    y = replace(story("kazinform", 2, day=24), date_estimated=True)
    store_items(Store(tmp_path), [x, y, story("kazinform", 3, day=22)])
    with (
        pytest.raises(KeyboardInterrupt),
        cut_after_days(2) as written,
        Store(tmp_path).writer() as writer,
    ):
        batch = [moved(x, 24), moved(y, 20)]
        writer.apply(dedup.plan(batch, writer.view(batch)))
    with Store(tmp_path).writer():
        pass
    assert written == ["2026-11-20", "2026-11-24"]  # both days' gains; no loss yet
    store = Store(tmp_path)
    days = {day: sorted(r["id"] for r in records) for day, records in store.iter_newest()}
    assert days == {
        "2026-11-20": [y.id],
        "2026-11-22": [story("kazinform", 3).id],
        "2026-11-24": [x.id],
    }
    assert store.get(x.id)["published"][:10] == "2026-11-24"  # type: ignore[index]
    kept = everything(tmp_path)
    remove(tmp_path)
    assert everything(tmp_path) == kept


def test_an_item_moved_out_of_a_pruned_day_survives_a_run_cut_before_its_commit(
    tmp_path: Path,
) -> None:
    """The pruned day files go at the commit, after the days that took their moved items
    (found by review: deleted at once, a cut lost the item)."""
    x = replace(story("kazinform", 1, day=5), date_estimated=True)
    store_items(Store(tmp_path), [x, story("kazinform", 2, day=24)])
    with pytest.raises(KeyboardInterrupt), Store(tmp_path).writer() as writer:
        batch = [moved(x, 23)]
        writer.apply(dedup.plan(batch, writer.view(batch)))
        writer.prune(datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
        raise KeyboardInterrupt  # before the commit
    assert Store(tmp_path).get(x.id) is not None  # still in its old day
    assert "2026-11-05" in Store(tmp_path).partitions()


def test_a_reader_of_a_store_it_cannot_write_reads_it_as_the_last_commit_left_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day file the index has not taken in, on a store this user may not write (a
    shared, read-only copy): the reader goes on with the index as it is."""
    store_items(Store(tmp_path), [story("kazinform", 1)])
    late = story("kazinform", 2)
    with pytest.raises(KeyboardInterrupt), cut_at_the_index():
        store_items(Store(tmp_path), [late])

    def read_only(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "kzfeed.lock"))

    monkeypatch.setattr(Store, "locked", read_only)
    store = Store(tmp_path)
    assert store.get(story("kazinform", 1).id) is not None
    assert store.get(late.id) is None  # not taken in: that needs a writer
