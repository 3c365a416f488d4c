"""The store: partitions, atomic writes, corruption, locks, retention."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from filelock import FileLock, Timeout
from hypothesis import given, settings
from hypothesis import strategies as st

from kzfeed import dedup
from kzfeed import store as store_mod
from kzfeed.errors import AmbiguousId, LockTimeout, NotFound, StoreError
from kzfeed.model import FeedState, Item
from kzfeed.store import Store, resolve_id
from kzfeed.store import files as store_files

from .conftest import wire_item


def make_item(n: int, day: str = "2026-11-24", feed: str = "kazinform-ru") -> Item:
    return cast(
        Item,
        wire_item(
            n,
            f"{day}T04:{n % 60:02d}:00+00:00",
            feed=feed,
            title=f"Новость номер {n}: Қазақстан",
            categories=("Политика",),
            summary="АСТАНА. KAZINFORM – лид новости.",
        ),
    )


def store_items(store: Store, items: list[Item]) -> tuple[int, int]:
    with store.writer() as writer:
        return writer.apply(dedup.plan(items, writer.view()))


def test_items_are_partitioned_by_day_and_read_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path)
    items = [make_item(1, "2026-11-22"), make_item(2, "2026-11-24"), make_item(3, "2026-11-23")]
    assert store_items(store, items) == (3, 0)
    assert store.partitions() == ["2026-11-24", "2026-11-23", "2026-11-22"]
    first_day, first_items = next(Store(tmp_path).iter_newest())
    assert first_day == "2026-11-24" and [r["id"] for r in first_items] == [items[1].id]


def test_text_is_stored_as_utf8_not_escapes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(1)])
    raw = (tmp_path / "items" / "2026-11-24.json").read_bytes()
    assert "Қазақстан".encode() in raw
    assert b"\\u04" not in raw


def test_one_write_per_file_per_batch_and_none_when_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    real = store_files.write_atomic

    def counting(path: Path, data: bytes) -> None:
        if "backups" not in path.parts:
            writes.append(path.name)
        real(path, data)

    monkeypatch.setattr(store_files, "write_atomic", counting)
    store = Store(tmp_path)
    items = [make_item(n) for n in range(200)]
    store_items(store, items)
    # terms.pending: the items whose terms the batch changes, until the term index has them
    # (the identity index is a database of its own: changed in place, in a transaction)
    assert sorted(writes) == ["2026-11-24.json", "terms.pending"]
    assert not (tmp_path / "terms.pending").exists()
    writes.clear()
    identity = (tmp_path / "identity.sqlite").stat().st_mtime_ns
    assert store_items(store, items) == (0, 0)
    assert writes == []
    assert (tmp_path / "identity.sqlite").stat().st_mtime_ns == identity
    with store.writer() as writer:
        writer.set_read([items[0].id], True)
    assert sorted(writes) == ["2026-11-24.json"]


def test_each_id_gets_its_shortest_unique_prefix_from_the_identity_index(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    numbers = [rng.getrandbits(64) for _ in range(3000)]
    # neighbours that share 7, 9 and 15 hex digits
    numbers += [0x1234567000000000, 0x1234567100000000, 0xABCDEF1230000000, 0xABCDEF1234000000]
    numbers += [0x0FFFFFFFFFFFFFF0, 0x0FFFFFFFFFFFFFF1]
    items = [
        replace(make_item(0), id=f"{n:016x}", feed_key=f"k{n}", link_key=f"l{n}") for n in numbers
    ]
    store = Store(tmp_path)
    store_items(store, items)
    ids = [item.id for item in items]
    short = Store(tmp_path).abbreviations(ids)
    assert set(short) == set(ids)
    for item_id, prefix in short.items():
        assert item_id.startswith(prefix) and len(prefix) >= store_mod.MIN_PREFIX
        assert [i for i in ids if i.startswith(prefix)] == [item_id]  # unique ...
        if len(prefix) > store_mod.MIN_PREFIX:  # ... and no shorter one would be
            assert len([i for i in ids if i.startswith(prefix[:-1])]) > 1
        assert resolve_id(store, prefix) == item_id
    assert short["1234567000000000"] == "12345670"
    assert short["abcdef1234000000"] == "abcdef1234"
    assert short["0ffffffffffffff1"] == "0ffffffffffffff1"
    # an id the index does not hold gets no prefix (the view shows a longer one)
    assert Store(tmp_path).abbreviations(["ffffffffffffffff", "not hex"]) == {}


def test_prefixes_follow_pruning_and_a_store_without_an_identity_index_builds_it(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(1, "2026-10-01"), make_item(0x10000, "2026-11-24")])
    assert Store(tmp_path).abbreviations([f"{1:016x}"]) == {f"{1:016x}": "0" * 12}
    with store.writer() as writer:
        writer.prune(datetime(2026, 11, 1, tzinfo=UTC))
    # the old item is gone from the list: its neighbour needs 4 digits again
    assert Store(tmp_path).abbreviations([f"{0x10000:016x}"]) == {f"{0x10000:016x}": "0000"}
    (tmp_path / "identity.sqlite").unlink()  # lost: listings show longer ids meanwhile
    assert Store(tmp_path).abbreviations([f"{0x10000:016x}"]) == {}
    assert Store(tmp_path).item_count() == -1
    store_items(Store(tmp_path), [make_item(0x7 << 60, "2026-11-24")])  # built from the files
    assert Store(tmp_path).item_count() == 2
    assert Store(tmp_path).abbreviations([f"{0x10000:016x}"]) == {f"{0x10000:016x}": "0000"}


@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00" + b"\x00" * 200, b"garbage"])
def test_a_damaged_identity_index_is_built_again_from_the_stored_files(
    tmp_path: Path, content: bytes
) -> None:
    """The identity index is derived (every record carries its keys): damaged, it is
    built again, and nothing stored comes again as new."""
    store = Store(tmp_path)
    shared = make_item(1)
    store_items(store, [shared, make_item(2)])
    copy = replace(shared, feed="tengrinews", feed_key="t1", content_hash="other")
    assert store_items(Store(tmp_path), [copy]) == (0, 0)  # another feed's copy: merged
    for suffix in ("-wal", "-shm"):
        (tmp_path / ("identity.sqlite" + suffix)).unlink(missing_ok=True)
    (tmp_path / "identity.sqlite").write_bytes(content)
    assert store_items(Store(tmp_path), [make_item(1), make_item(2), copy]) == (0, 0)
    assert store_items(Store(tmp_path), [make_item(3)]) == (1, 0)
    assert Store(tmp_path).item_count() == 3
    assert store_mod.check(tmp_path)[0] == []


def test_a_corrupt_partition_is_an_error_naming_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(1)])
    part = tmp_path / "items" / "2026-11-24.json"
    part.write_bytes(b'{"items": {"1": {"id": "tru')
    with pytest.raises(StoreError, match=r"2026-11-24\.json"):
        list(Store(tmp_path).iter_newest())
    assert part.read_bytes() == b'{"items": {"1": {"id": "tru'


def test_nothing_is_committed_when_the_batch_fails(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(1)])
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.apply(dedup.plan([make_item(2)], writer.view()))
        raise RuntimeError("boom")
    assert list(Store(tmp_path).ids()) == [make_item(1).id]


def test_the_lock_file_excludes_another_holder_and_is_free_once_released(
    tmp_path: Path,
) -> None:
    from kzfeed.store.lockfile import Busy, LockFile

    path = tmp_path / "kzfeed.lock"
    first, second = LockFile(path), LockFile(path)
    first.acquire(timeout=0)
    with pytest.raises(Busy):
        second.acquire(timeout=0)
    with pytest.raises(Timeout):  # filelock sees it too
        FileLock(str(path)).acquire(timeout=0)
    first.release()
    second.acquire(timeout=0)
    second.release()
    with FileLock(str(path), timeout=0), pytest.raises(Busy):  # and free for filelock
        first.acquire(timeout=0.1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_lets_go_of_its_copy_of_the_lock(tmp_path: Path) -> None:
    """A parse worker forked while kzfeed holds the lock closes its copy: the lock is free
    once the parent lets go, whatever the child does."""
    from kzfeed.store.lockfile import LockFile

    path = tmp_path / "kzfeed.lock"
    lock = LockFile(path)
    lock.acquire(timeout=0)
    fd = lock._fd
    assert fd is not None
    child = os.fork()
    if child == 0:  # the child: its copy of the descriptor is closed, the lock still held
        try:
            os.fstat(fd)
            os._exit(1)
        except OSError:
            pass
        lock.release()  # a child that unwound through `Store.locked`: lets go of nothing
        try:
            FileLock(str(path)).acquire(timeout=0)
        except Timeout:
            os._exit(0)
        os._exit(2)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    lock.release()
    with FileLock(str(path), timeout=0):
        pass


def test_the_lock_file_is_made_as_the_umask_says(tmp_path: Path) -> None:
    """Read and write for the group where the umask allows it (a data dir shared by a
    group), as filelock made it."""
    from kzfeed.store.lockfile import LockFile

    old = os.umask(0o002)
    try:
        lock = LockFile(tmp_path / "kzfeed.lock")
        lock.acquire(timeout=0)
        lock.release()
    finally:
        os.umask(old)
    assert (tmp_path / "kzfeed.lock").stat().st_mode & 0o777 == 0o664


@pytest.mark.filterwarnings("ignore:flock not supported:UserWarning")  # filelock says so
def test_a_file_system_without_flock_falls_back_to_filelock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where flock is missing (ENOSYS), the lock is filelock's (its lock file made
    exclusively), which still keeps a second holder out and lets go."""
    import errno
    import fcntl

    from kzfeed.store.lockfile import Busy, LockFile

    def missing(fd: int, operation: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    path = tmp_path / "kzfeed.lock"
    monkeypatch.setattr(fcntl, "flock", missing)
    lock = LockFile(path)
    lock.acquire(timeout=0)
    assert lock._fallback is not None and lock._fallback.is_locked
    with pytest.raises(Busy):
        LockFile(path).acquire(timeout=0.1)
    lock.release()
    assert not lock._fallback.is_locked
    again = LockFile(path)
    again.acquire(timeout=0)
    again.release()


def test_lock_waits_then_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    messages: list[str] = []
    with FileLock(str(tmp_path / "kzfeed.lock")):
        store = Store(tmp_path, lock_timeout=0.3)
        started = time.monotonic()
        with (
            pytest.raises(LockTimeout, match="holds the lock"),
            store.writer(on_wait=messages.append),
        ):
            pass
        assert time.monotonic() - started >= 0.3
    assert messages and "waiting" in messages[0]


def test_prune_drops_old_partitions_and_they_do_not_come_back(tmp_path: Path) -> None:
    store = Store(tmp_path)
    old = replace(make_item(1, "2026-01-10"), date_estimated=True)
    store_items(store, [old, make_item(2, "2026-11-24")])
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    with store.writer() as writer:
        assert writer.prune(datetime(2026, 6, 1, tzinfo=UTC), now) == 1
    assert store.partitions() == ["2026-11-24"]
    # the same item offered again (even with an estimated, recent date) stays out
    again = replace(old, published="2026-11-24T11:00:00+00:00")
    assert store_items(store, [again]) == (0, 0)
    assert sorted(Store(tmp_path).ids()) == [make_item(2).id]


def test_feed_state_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path)
    state = FeedState(name="tengrinews", etag='W/"abc"', last_status=200, failures=0)
    with store.writer() as writer:
        writer.save_state(state)
    assert Store(tmp_path).feed_states() == {"tengrinews": state}


def test_id_prefixes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    a = replace(make_item(1), id="abc0000000000001", feed_key="abc0000000000001")
    b = replace(make_item(2), id="abc0000000000002", feed_key="abc0000000000002")
    store_items(store, [a, b])
    assert resolve_id(store, "abc0000000000001") == a.id
    assert resolve_id(store, "ABC0000000000002") == b.id
    with pytest.raises(AmbiguousId) as info:
        resolve_id(store, "abc")
    assert info.value.candidates == [a.id, b.id]
    with pytest.raises(NotFound):
        resolve_id(store, "fff")
    with pytest.raises(NotFound):
        resolve_id(store, "not-hex")


CHILD = textwrap.dedent(
    """
    import sys
    from kzfeed import dedup
    from kzfeed.store import Store
    from tests.test_store import make_item
    store = Store(sys.argv[1])
    print("ready", flush=True)
    round_ = 0
    while True:
        round_ += 1
        items = [make_item(n + round_ * 10_000, "2026-11-24") for n in range(3000)]
        with store.writer() as writer:
            writer.apply(dedup.plan(items, writer.view()))
        print(round_, flush=True)
    """
)


def test_kill_9_during_writes_leaves_a_database_that_opens(tmp_path: Path) -> None:
    """A writer killed at arbitrary moments leaves the old or the new files, never a torn one."""
    repo = Path(__file__).parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    data = tmp_path / "data"
    sizes = []
    for delay in (0.3, 0.55, 0.8):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data)], stdout=subprocess.PIPE, env=env, cwd=repo
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        reopened = Store(data)
        ids = set(reopened.ids())
        stored = {r["id"] for _day, records in reopened.iter_newest() for r in records}
        # everything the index knows is in a partition (partitions are written first)
        assert ids <= stored
        assert len(ids) % 3000 == 0
        sizes.append(len(ids))
    assert sizes[-1] > 0, "the writer never committed: the test killed nothing mid-run"
    # stray temp files of the killed writer are cleaned by the next writer
    with Store(data).writer():
        pass
    assert not list(data.rglob("*.tmp"))


def _as_legacy(data: Path, schema: int) -> dict[str, object]:
    """Make a store look as kzfeed left it before ``identity.sqlite``: the identity index
    in ``index.json`` (schema 1 or 2), records without their keys, an id list."""
    from kzfeed.store.identity import remove

    ident = Store(data).identity()
    items, keys, buried = ident.all_rows()
    feeds = {i: ",".join(entry[1]) for i in items if (entry := ident.entry(i)) is not None}
    ident.close()
    entries: dict[str, object] = {
        i: published + "|" + feeds[i]
        if schema == 2
        else [published[:10], published, feeds[i].split(",")]
        for i, published in items.items()
    }
    index = {
        "schema": schema,
        "keys": {k: i for k, (i, _seen) in keys.items()},
        "seen": {k: seen for k, (_i, seen) in keys.items() if seen},
        "items": entries,
        "tombstones": dict.fromkeys(buried, "2026-11-20"),
    }
    remove(data)
    for path in (data / "tombstones").glob("*.json"):
        path.unlink()
    for path in (data / "items").glob("*.json"):
        day = orjson.loads(path.read_bytes())
        for record in day["items"].values():
            del record["keys"]
        path.write_bytes(orjson.dumps(day))
    (data / "index.json").write_bytes(orjson.dumps(index))
    (data / "ids.bin").write_bytes(b"\0" * 8 * len(items))
    (data / "backups" / "last" / "index.json").write_bytes(orjson.dumps(index))
    return index


@pytest.mark.parametrize("schema", [1, 2])
def test_a_store_with_an_index_json_is_moved_over_once_and_loses_nothing(
    tmp_path: Path, schema: int
) -> None:
    store = Store(tmp_path)
    shared = make_item(2, "2026-11-23")
    pruned = make_item(5, "2026-01-10")
    store_items(store, [make_item(1, "2026-11-22"), shared, pruned])
    copy = replace(shared, feed="tengrinews", feed_key="t2", content_hash="other")
    store_items(store, [copy])  # a merged story: a key of its own, and its own hash
    with store.writer() as writer:
        writer.prune(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    legacy = _as_legacy(tmp_path, schema)
    assert "t2" in legacy["keys"] and pruned.id in legacy["tombstones"]  # type: ignore[operator]

    old = Store(tmp_path)  # a reader: the store is moved over under the lock
    assert old.get(shared.id)["also_in"] == [{"feed": "tengrinews", "url": shared.url}]
    assert old.feed_stats() == {
        "kazinform-ru": (2, "2026-11-23T04:02:00+00:00"),
        "tengrinews": (1, "2026-11-23T04:02:00+00:00"),
    }
    for gone in ("index.json", "ids.bin", "backups/last/index.json"):
        assert not (tmp_path / gone).exists(), gone
    records = {r["id"]: r for r in old.partition_items("2026-11-23")}
    assert records[shared.id]["keys"] == {
        shared.id: shared.content_hash,
        str(shared.link_key): "",
        "t2": "other",
    }
    assert store_mod.check(tmp_path)[0] == []
    # the merged copy, the first feed's item and the pruned one: all known
    again = replace(pruned, published="2026-11-24T11:00:00+00:00")
    assert store_items(Store(tmp_path), [copy, shared, again]) == (0, 0)
    assert store_items(Store(tmp_path), [make_item(3, "2026-11-24")]) == (1, 0)
    # and once more from the files alone: the keys moved into the records and tombstones
    from kzfeed.store.identity import remove

    remove(tmp_path)
    assert store_items(Store(tmp_path), [copy, shared, again]) == (0, 0)
    assert resolve_id(Store(tmp_path), shared.id) == shared.id


def test_a_malformed_schema_1_index_names_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(1)])
    (tmp_path / "index.json").write_text(
        '{"schema": 1, "keys": {}, "seen": {}, "items": {"a": 5}, "tombstones": {}}'
    )
    with pytest.raises(StoreError, match=r"index\.json: a malformed schema 1 index"):
        Store(tmp_path).get("a")


# ------------------------------------------------------------------ appending to a day


def day_file(tmp_path: Path, day: str = "2026-11-24") -> Path:
    return tmp_path / "items" / f"{day}.json"


def no_tinydb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a day through TinyDB (decoding it) fails the test."""
    monkeypatch.setattr(Store, "_partition", lambda self, name: pytest.fail(f"{name} via TinyDB"))


def test_a_day_that_only_gains_items_is_appended_to_not_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(n) for n in range(50)])
    before = day_file(tmp_path).read_bytes()
    # the old records are neither parsed nor rebuilt: TinyDB is not asked for the day
    no_tinydb(monkeypatch)
    assert store_items(Store(tmp_path), [make_item(n) for n in range(50, 80)]) == (30, 0)
    monkeypatch.undo()
    after = day_file(tmp_path).read_bytes()
    assert after.startswith(before[:-2]) and len(after) > len(before)
    records = Store(tmp_path).partition_items("2026-11-24")
    assert sorted(r["id"] for r in records) == sorted(make_item(n).id for n in range(80))
    backup = tmp_path / "backups" / "last" / "items" / "2026-11-24.json"
    assert backup.read_bytes() == after  # the mirror has the same bytes
    # the index describes the file as written: the next batch is appended to it again
    stamp = Store(tmp_path).identity().stamps()["items/2026-11-24"]
    assert (stamp[0], stamp[2]) == (len(after), zlib.crc32(after))


def test_an_edit_is_written_in_place_and_a_file_written_elsewhere_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    store = Store(tmp_path)
    store_items(store, [make_item(n) for n in range(5)])
    before = day_file(tmp_path).read_bytes()
    # an edit: the record's bytes replaced where they lie, the day not decoded
    no_tinydb(monkeypatch)
    edited = replace(make_item(1), title="Заголовок исправлен", content_hash="h2")
    with_new = [edited, make_item(7)]
    assert store_items(Store(tmp_path), with_new) == (1, 1)
    monkeypatch.undo()
    raw = day_file(tmp_path).read_bytes()
    key = b'"%d":' % store_files.doc_id(edited.id)
    assert raw.count(key) == 1 and "Заголовок исправлен".encode() in raw
    assert raw[: raw.index(key)] == before[: before.index(key)]  # what lies before: as it was
    records = {r["id"]: r for r in Store(tmp_path).partition_items("2026-11-24")}
    assert len(records) == 6 and records[edited.id]["title"] == "Заголовок исправлен"
    assert records[make_item(2).id]["title"] == make_item(2).title
    # a file this store did not write last (another tool, `db restore`): not appended to
    data = json.loads(raw)
    day_file(tmp_path).write_text(json.dumps(data, indent=1, ensure_ascii=False))
    assert store_items(Store(tmp_path), [make_item(9)]) == (1, 0)
    raw = day_file(tmp_path).read_bytes()
    assert not raw.startswith(b'{\n "items"')  # rewritten by kzfeed
    listed = Store(tmp_path).partition_items("2026-11-24")
    assert len(listed) == 7 and len({r["id"] for r in listed}) == 7


def test_a_commit_cut_after_the_days_stores_no_item_twice(tmp_path: Path) -> None:
    """Partitions are written before the index: a commit that died in between leaves a
    day holding items the index does not know.  `db check` finds no fault, and the next
    writer takes the day in (its size and time are not the ones the index knows): the
    items are not stored again, and each is in the day once."""
    from kzfeed.store.identity import Identity

    store = Store(tmp_path)
    store_items(store, [make_item(n) for n in range(10)])
    late = [make_item(n) for n in range(10, 15)]

    def cut(self: Identity, delta: object) -> None:
        raise KeyboardInterrupt

    real = Identity.apply
    Identity.apply = cut  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            store_items(Store(tmp_path), late)
    finally:
        Identity.apply = real  # type: ignore[method-assign]
    assert Store(tmp_path).item_count() == 10  # a reader sees the last commit
    assert store_mod.check(tmp_path) == ([], 15, 1)
    assert store_items(Store(tmp_path), late) == (0, 0)
    assert Store(tmp_path).item_count() == 15
    raw = day_file(tmp_path).read_bytes()
    for item in late:
        assert raw.count(b'"%d":' % store_files.doc_id(item.id)) == 1


def test_a_truncated_day_is_never_appended_to(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(n) for n in range(10)])
    whole = day_file(tmp_path).read_bytes()
    cut = whole[: len(whole) // 2] + b"}}"  # ends as a partition does, but is not one
    day_file(tmp_path).write_bytes(cut)
    with pytest.raises(StoreError, match=r"2026-11-24\.json"):
        store_items(Store(tmp_path), [make_item(20)])
    assert day_file(tmp_path).read_bytes() == cut
    backup = tmp_path / "backups" / "last" / "items" / "2026-11-24.json"
    assert backup.read_bytes() == whole  # the damage never reached the backup


def test_a_new_day_and_an_empty_day_are_written_as_partitions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store_items(store, [make_item(1, "2026-11-25")])
    assert Store(tmp_path).partition_items("2026-11-25")[0]["id"] == make_item(1).id
    with store.writer() as writer:  # the day's only item goes: an empty table stays
        writer.purge_feed("kazinform-ru")
    assert Store(tmp_path).partition_items("2026-11-25") == []
    assert store_items(Store(tmp_path), [make_item(2, "2026-11-25")]) == (1, 0)
    assert [r["id"] for r in Store(tmp_path).partition_items("2026-11-25")] == [make_item(2).id]


# ------------------------------------------------------------------ one record, not the day


def test_one_record_is_read_from_its_span_not_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kzfeed.store.spans import scan

    store = Store(tmp_path)
    items = [make_item(n) for n in range(40)]
    items[7] = replace(items[7], title='Кавычки " и {"1":{ в заголовке', summary='a,"2":{b')
    store_items(store, items)
    spans = scan(day_file(tmp_path))
    assert spans.at is not None and len(spans.at) == 40
    no_tinydb(monkeypatch)
    fresh = Store(tmp_path)
    for item in items:
        record = fresh.get(item.id)
        assert record is not None and record["title"] == item.title
        assert record["summary"] == item.summary


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=97), st.integers(min_value=0, max_value=6))
def test_spans_found_a_chunk_at_a_time_are_the_spans_of_the_whole_file(
    chunk: int, tricky: int
) -> None:
    """A day is surveyed a megabyte at a time: keys cut by a chunk's end (at any byte,
    with chunks of 1 to 97 bytes here) are found once, where they start, and text that
    looks like a key inside a string is not one."""
    import io
    import json

    from kzfeed.store.spans import survey

    records = {
        str(10**n + n): {"id": format(10**n + n, "x"), "title": 'x,"1":{y' * (n % (tricky + 1) + 1)}
        for n in range(1, 20)
    }
    raw = orjson.dumps({"items": records})
    whole = survey(io.BytesIO(raw), chunk=len(raw) + 1)
    pieces = survey(io.BytesIO(raw), chunk=chunk)
    assert (pieces.size, pieces.crc, pieces.at) == (whole.size, whole.crc, whole.at)
    assert pieces.size == len(raw) and pieces.crc == zlib.crc32(raw)
    # the CRC of all but the closing braces: known unless a chunk's end cut them apart
    assert whole.head_crc == zlib.crc32(raw[:-2])
    cut = (len(raw) % chunk or chunk) < 2  # the last chunk read holds one byte
    assert pieces.head_crc == (None if cut else zlib.crc32(raw[:-2]))
    assert pieces.at is not None and set(pieces.at) == {int(k) for k in records}
    for doc, (start, end) in pieces.at.items():
        assert json.loads(raw[start:end]) == records[str(doc)]
    for bad in (raw[:-3], b" " + raw, json.dumps({"items": records}, indent=1).encode()):
        assert survey(io.BytesIO(bad), chunk=chunk).at is None
    assert survey(io.BytesIO(b'{"items":{}}'), chunk=chunk).at == {}


def test_a_patched_day_is_written_from_the_old_file_without_holding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old day's bytes are copied from the open file a megabyte at a time, to the file
    and then to its backup: the backup is the same bytes although the day's path was
    replaced in between, and the CRC kept in the index is the one of those bytes."""
    import tracemalloc

    from kzfeed.store.writer import Writer

    grown: list[int] = []
    write = Writer._write_partitions

    def measured(self: Writer) -> None:  # memory taken while the days are written
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        write(self)
        grown.append(tracemalloc.get_traced_memory()[1] - before)

    monkeypatch.setattr(Writer, "_write_partitions", measured)
    store = Store(tmp_path)
    store_items(store, [replace(make_item(n), summary="Текст " * 60) for n in range(8000)])
    size = day_file(tmp_path).stat().st_size
    assert size > 8 * (1 << 20)
    grown.clear()
    tracemalloc.start()
    try:
        store_items(Store(tmp_path), [make_item(9000 + n) for n in range(3)])
    finally:
        tracemalloc.stop()
    after = day_file(tmp_path).read_bytes()
    assert len(after) > size and after.count(b'"id":') == 8003
    backup = tmp_path / "backups" / "last" / "items" / day_file(tmp_path).name
    assert backup.read_bytes() == after
    stamps = Store(tmp_path).identity().stamps()
    assert stamps["items/" + day_file(tmp_path).stem][2] == zlib.crc32(after)
    assert len(grown) == 1 and grown[0] < size * 3 / 4, (grown, size)  # the old: > size


def test_where_an_open_file_cannot_be_replaced_the_day_is_patched_from_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows a file open for reading cannot be replaced (found by review): there the
    old day's bytes are read first, and the patch writes the same file as elsewhere."""
    import kzfeed.store.writer

    for replaces in (True, False):
        monkeypatch.setattr(kzfeed.store.writer, "REPLACES_OPEN_FILES", replaces)
        data = tmp_path / str(replaces)
        store_items(Store(data), [make_item(n) for n in range(300)])
        edited = replace(make_item(7), title="Новость номер 7 (обновлено)", content_hash="h2")
        no_tinydb(monkeypatch)
        store_items(Store(data), [make_item(n) for n in range(300, 303)] + [edited])
        monkeypatch.undo()
    same = [(tmp_path / str(r) / "items" / day_file(tmp_path).name) for r in (True, False)]
    assert same[0].read_bytes() == same[1].read_bytes()
    assert "(обновлено)".encode() in same[1].read_bytes()


def test_a_day_that_cannot_be_read_record_by_record_is_read_whole(tmp_path: Path) -> None:
    import json

    store = Store(tmp_path)
    items = [make_item(n) for n in range(5)]
    store_items(store, items)
    data = json.loads(day_file(tmp_path).read_bytes())
    # pretty-printed by another tool: no spans; the day is read whole and nothing is lost
    day_file(tmp_path).write_text(json.dumps(data, indent=2, ensure_ascii=False))
    fresh = Store(tmp_path)
    assert [fresh.get(i.id)["id"] for i in items] == [i.id for i in items]  # type: ignore[index]
    # spans that no longer fit the file: the same records in another order, the same size,
    # even the old modification time (so the stamp cannot tell): a record read where it is
    # no longer is not the record asked for, and the day is read whole
    store = Store(tmp_path)
    store_items(store, [make_item(9)])  # kzfeed's own layout again
    fresh = Store(tmp_path)
    assert fresh.get(items[0].id) is not None  # its spans are kept
    before = day_file(tmp_path).stat()
    table = orjson.loads(day_file(tmp_path).read_bytes())["items"]
    shuffled = {"items": dict(reversed(list(table.items())))}
    store_files.write_atomic(day_file(tmp_path), orjson.dumps(shuffled))
    os.utime(day_file(tmp_path), ns=(before.st_atime_ns, before.st_mtime_ns))
    assert day_file(tmp_path).stat().st_size == before.st_size
    for item in [*items, make_item(9)]:
        record = fresh.get(item.id)
        assert record is not None and record["id"] == item.id


def test_a_big_day_is_decoded_as_a_small_one_and_damage_is_still_named(tmp_path: Path) -> None:
    """Days over 1 MB are decoded by the standard library's json (orjson's decoder holds
    about twelve times the input while it works): the same records, the same errors."""
    assert store_files.BIG_JSON == 1 << 20
    store = Store(tmp_path)
    items = [replace(make_item(n), summary="Лид. " * 200) for n in range(1500)]
    store_items(store, items)
    raw = day_file(tmp_path).read_bytes()
    assert len(raw) > store_files.BIG_JSON
    records = Store(tmp_path).partition_items("2026-11-24")
    assert {r["id"]: r["summary"] for r in records} == {i.id: i.summary for i in items}
    assert store_files.loads(raw) == orjson.loads(raw)
    for damage in (raw[: len(raw) // 2], raw.replace(b'"id"', b'"id', 1), b"[" * 100_000):
        day_file(tmp_path).write_bytes(damage)
        with pytest.raises(StoreError, match=r"2026-11-24\.json"):
            Store(tmp_path).partition_items("2026-11-24")


# ------------------------------------------------------------------ found by review


def test_ids_a_cut_commit_left_in_a_day_rewritten_since_are_not_appended_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit cut after the day was written (Ctrl-C in the term index step) leaves items
    the index does not know; the next writer (a read mark) takes the day in and rewrites
    it; the feed serves the items again: they are known, and each is in the day once."""
    from kzfeed.store.writer import Writer

    store_items(Store(tmp_path), [make_item(1)])

    def cut(self: Writer) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Writer, "_update_term_index", cut)
    with pytest.raises(KeyboardInterrupt):
        store_items(Store(tmp_path), [make_item(2), make_item(3)])
    monkeypatch.undo()
    with Store(tmp_path).writer() as writer:
        writer.set_read([make_item(1).id], True)
    assert store_items(Store(tmp_path), [make_item(2), make_item(3)]) == (0, 0)
    raw = day_file(tmp_path).read_bytes()
    for n in (1, 2, 3):
        assert raw.count(b'"%d":{' % store_files.doc_id(make_item(n).id)) == 1


@pytest.mark.parametrize("count", [5, 300])  # without and with a head
def test_a_day_damaged_in_place_with_its_size_and_time_is_never_patched(
    tmp_path: Path, count: int
) -> None:
    store_items(Store(tmp_path), [make_item(n) for n in range(count)])
    path = day_file(tmp_path)
    good = path.read_bytes()
    st = path.stat()
    damaged = bytearray(good)
    at = damaged.index(b'"title"')
    damaged[at : at + 7] = b"\x00\xff{{{[["
    path.write_bytes(bytes(damaged))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(StoreError, match=r"2026-11-24\.json"):
        store_items(Store(tmp_path), [make_item(100_000)])
    assert path.read_bytes() == bytes(damaged)
    assert (tmp_path / "backups" / "last" / "items" / "2026-11-24.json").read_bytes() == good


def test_a_big_day_with_bytes_that_are_not_utf8_is_damage(tmp_path: Path) -> None:
    items = [replace(make_item(n), summary="Лид. " * 200) for n in range(1500)]
    store_items(Store(tmp_path), items)
    raw = bytearray(day_file(tmp_path).read_bytes())
    assert len(raw) > store_files.BIG_JSON
    at = raw.index("Лид".encode())
    raw[at : at + 3] = b"\xed\xa0\x80"  # a surrogate encoded: not UTF-8
    day_file(tmp_path).write_bytes(bytes(raw))
    with pytest.raises(StoreError, match=r"2026-11-24\.json"):
        Store(tmp_path).partition_items("2026-11-24")
    assert store_mod.check(tmp_path)[0]


def test_a_day_with_another_table_is_written_whole_and_stays_json(tmp_path: Path) -> None:
    store_items(Store(tmp_path), [make_item(1)])
    table = orjson.loads(day_file(tmp_path).read_bytes())
    table["_default"] = {}
    day_file(tmp_path).write_bytes(orjson.dumps(table))
    for n in (2, 3, 4):
        store_items(Store(tmp_path), [make_item(n)])
        for path in (day_file(tmp_path), tmp_path / "backups/last/items/2026-11-24.json"):
            decoded = orjson.loads(path.read_bytes())
            assert len(decoded["items"]) == n


def test_a_patched_day_is_backed_up_as_written_and_the_last_copy_kept(tmp_path: Path) -> None:
    store_items(Store(tmp_path), [make_item(n) for n in range(300)])
    path = day_file(tmp_path)
    first = path.read_bytes()
    store_items(Store(tmp_path), [make_item(1000)])  # patched: new bytes after the old
    second = path.read_bytes()
    assert second != first and second.startswith(first[:-2])
    backups = tmp_path / "backups"
    assert (backups / "last" / "items" / path.name).read_bytes() == second
    assert (backups / "previous" / "items" / path.name).read_bytes() == first
    assert not list(tmp_path.rglob(".*.tmp"))


def test_a_copy_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "backups" / "day.json"
    store_files.write_atomic(target, b'{"old":1}')
    source = tmp_path / "day.json"
    source.write_bytes(b'{"new":2}')
    store_files.copy_atomic(source, target)
    assert target.read_bytes() == b'{"new":2}'
    with pytest.raises(OSError):
        store_files.copy_atomic(tmp_path / "gone.json", target)
    assert target.read_bytes() == b'{"new":2}'
    assert sorted(p.name for p in target.parent.iterdir()) == ["day.json"]


@pytest.mark.parametrize("replaces", [True, False])
def test_a_day_only_appended_to_is_copied_by_the_kernel_and_its_crc_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replaces: bool
) -> None:
    """A patch that only appends copies the old bytes up to the closing braces in the
    kernel, with the CRC the survey found for them; where the open file cannot be used
    (Windows: the day read into memory first) the bytes go through Python, the same."""
    import kzfeed.store.writer

    monkeypatch.setattr(kzfeed.store.writer, "REPLACES_OPEN_FILES", replaces)
    copied: list[int] = []
    copy = store_files._copy_span

    def counted(span: store_files.Span, fh: Any, ways: Any = None) -> bool:
        done = copy(span, fh, ways)
        if ways is None:  # the day's own write, not its backup's
            copied.append(done)
        return done

    monkeypatch.setattr(store_files, "_copy_span", counted)
    store_items(Store(tmp_path), [make_item(n) for n in range(300)])
    for batch in range(3):  # each patched from the last, whose CRC the index keeps
        before = day_file(tmp_path).read_bytes()
        no_tinydb(monkeypatch)
        store_items(Store(tmp_path), [make_item(1000 + 10 * batch + n) for n in range(4)])
        after = day_file(tmp_path).read_bytes()
        assert after.startswith(before[:-2]) and after.count(b'"id":') == 304 + 4 * batch
        stamps = Store(tmp_path).identity().stamps()
        assert stamps["items/" + day_file(tmp_path).stem][2] == zlib.crc32(after)
        assert (tmp_path / "backups" / "last" / "items" / day_file(tmp_path).name).read_bytes() == (
            after
        )
    assert copied == [replaces] * 3
    # an edit: the old bytes are copied around the edited record, through Python
    edited = replace(make_item(7), title="Новость номер 7 (обновлено)", content_hash="h2")
    no_tinydb(monkeypatch)
    store_items(Store(tmp_path), [edited])
    after = day_file(tmp_path).read_bytes()
    assert "(обновлено)".encode() in after and copied == [replaces] * 3
    stamps = Store(tmp_path).identity().stamps()
    assert stamps["items/" + day_file(tmp_path).stem][2] == zlib.crc32(after)


def _span_file(tmp_path: Path) -> tuple[Path, bytes]:
    source = tmp_path / "old.json"
    raw = ("День " * 50_000).encode()
    source.write_bytes(raw)
    return source, raw


@pytest.mark.parametrize("refuse", ["nothing", "copy_file_range", "both"])
def test_a_span_with_its_crc_is_written_whole_however_the_kernel_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refuse: str
) -> None:
    import errno

    source, raw = _span_file(tmp_path)

    def refused(*args: Any) -> int:
        raise OSError(errno.EXDEV, "refused")

    if refuse in ("copy_file_range", "both"):
        monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    if refuse == "both":
        monkeypatch.setattr(os, "sendfile", refused, raising=False)
    target = tmp_path / "new.json"
    with open(source, "rb") as fh:
        span = store_files.Span(fh, 7, len(raw) - 3, zlib.crc32(raw[7:-3]))
        crc = store_files.write_atomic(target, [span, b"+tail"])
    assert target.read_bytes() == raw[7:-3] + b"+tail"
    assert crc == zlib.crc32(target.read_bytes())


def test_a_span_longer_than_its_file_is_never_written_cut(tmp_path: Path) -> None:
    source, raw = _span_file(tmp_path)
    target = tmp_path / "new.json"
    store_files.write_atomic(target, b"old")
    with open(source, "rb") as fh, pytest.raises(OSError, match="ended before"):
        store_files.write_atomic(target, [store_files.Span(fh, 0, len(raw) + 10, 0), b"x"])
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.json", "old.json"]


def test_a_backup_is_a_copy_of_its_own_never_sharing_the_files_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """copy_file_range may share the source's blocks (a reflink on btrfs or XFS): a backup
    is never made with it, and is the same bytes, whichever way the kernel copies."""

    def shared(*args: Any) -> int:
        raise AssertionError("a backup made with copy_file_range")

    monkeypatch.setattr(os, "copy_file_range", shared, raising=False)
    source, raw = _span_file(tmp_path)
    store_files.copy_atomic(source, tmp_path / "backups" / "old.json")
    assert (tmp_path / "backups" / "old.json").read_bytes() == raw
    monkeypatch.delattr(os, "sendfile", raising=False)  # no kernel copy at all: Python's
    monkeypatch.setattr(store_files, "_OWN_COPIES", [])
    store_files.copy_atomic(source, tmp_path / "backups" / "again.json")
    assert (tmp_path / "backups" / "again.json").read_bytes() == raw


def test_a_kernel_copy_that_fails_part_way_fails_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call copies, the second fails (a disk error): the write fails with that
    error and leaves the old file; a way refused at the start is only passed over."""
    import errno

    source, raw = _span_file(tmp_path)
    calls = []

    def flaky(src: int, dst: int, count: int, offset: int | None = None) -> int:
        calls.append(offset)
        if len(calls) > 1:
            raise OSError(errno.EIO, "disk error")
        return os.sendfile(dst, src, offset, min(count, 4096))

    monkeypatch.setattr(os, "copy_file_range", flaky, raising=False)
    target = tmp_path / "new.json"
    store_files.write_atomic(target, b"old")
    with open(source, "rb") as fh, pytest.raises(OSError, match="disk error"):
        store_files.write_atomic(target, [store_files.Span(fh, 0, len(raw), zlib.crc32(raw))])
    assert target.read_bytes() == b"old" and calls == [0, 4096]
