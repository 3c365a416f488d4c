"""The only module that touches TinyDB: partitioned, atomic, locked storage.

Layout of the data dir::

    kzfeed.lock              file lock held by every writer
    state.json               TinyDB, table "feeds": per-feed validators, health, failures
    index.json               identity index (derived from the partitions, compact JSON)
    ids.bin                  every item id, sorted, 8 bytes each (derived from the index):
                             the shortest unique id prefixes without reading the index
    items/2026-11-24.json    TinyDB, table "items": the items published that UTC day

* Items are partitioned by the UTC day of publication, so `latest` reads the newest
  partitions only and stops; nothing needs every item ever stored.
* The identity index maps feed keys and link keys to item ids, remembers the content hash
  last stored for each feed key, where each item lives, and tombstones of pruned items.
* Every file is written whole to a temp file, fsynced and `os.replace`d: a kill at any
  moment leaves the old or the new file.  A write happens once per batch (`Writer.commit`),
  only for files that changed.  Partitions are written before the index, so an interrupted
  commit at worst re-stores items under the same deterministic ids.
* A corrupt, truncated or empty file raises StoreError naming it and is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from . import dedup
from .dates import to_utc_iso, utcnow
from .errors import LockTimeout, StoreError
from .model import FeedState, carrying_feeds
from .words import ntr, tr

# 2: an item's index entry is one string, "published|feed,feed" (its partition is the
# published day); 1 (read and converted): [partition, published, [feeds]].  One string
# instead of two lists and three strings halves the time to read the index.
SCHEMA = 2
PARTITION_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")


ID_LIST = "ids.bin"
ID_BYTES = 8
MIN_PREFIX = 4


def restore_hint() -> str:
    """What a message about a damaged file ends with (translated when the message is made)."""
    return " " + tr("(`kzfeed db restore` brings back the last good copy)")


def _doc_id(item_id: str) -> int:
    return int(item_id, 16)


def _load_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(
            tr("{path}: cannot read the database file: {reason}").format(
                path=path, reason=exc.strerror
            )
        ) from exc
    if not raw.strip():
        raise StoreError(
            tr("{path}: database file is empty (truncated?); it was left untouched").format(
                path=path
            )
            + restore_hint()
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise StoreError(
            tr("{path}: database file is corrupt ({reason}); it was left untouched").format(
                path=path, reason=exc
            )
            + restore_hint()
        ) from exc
    if not isinstance(data, dict):
        raise StoreError(
            tr("{path}: database file is not a kzfeed store; it was left untouched").format(
                path=path
            )
            + restore_hint()
        )
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _dumps(data: Any) -> bytes:
    # UTF-8 as is: \uXXXX escapes make Cyrillic text 2.5x larger
    return orjson.dumps(data)


Saver = Callable[[Path, bytes], None]


class AtomicStorage(Storage):
    """A TinyDB storage that reads its file once, keeps changes in memory, and writes the
    whole file atomically only when `commit` is called and something changed."""

    def __init__(self, path: str | Path, save: Saver = write_atomic) -> None:
        self.path = Path(path)
        self.save = save
        self._data: dict[str, Any] | None = None
        self._loaded = False
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._data = _load_json(self.path)
            self._loaded = True
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self._loaded = True
        self.dirty = True

    def commit(self) -> bool:
        if not self.dirty or self._data is None:
            return False
        self.save(self.path, _dumps(self._data))
        self.dirty = False
        return True

    def close(self) -> None:
        pass  # never write implicitly


def _open_db(path: Path, save: Saver = write_atomic) -> tuple[TinyDB, AtomicStorage]:
    storage = AtomicStorage(path, save)
    db = TinyDB(storage=lambda: storage)
    return db, storage


def _empty_index() -> dict[str, Any]:
    return {"schema": SCHEMA, "keys": {}, "seen": {}, "items": {}, "tombstones": {}}


def _entry(published: str, feeds: Iterable[str]) -> str:
    """An item's index entry: when it was published (so its partition) and its feeds."""
    return published + "|" + ",".join(feeds)


def _entry_feeds(entry: str) -> tuple[str, list[str]]:
    """(published, feeds) of an index entry."""
    published, _, feeds = entry.partition("|")
    return published, feeds.split(",") if feeds else []


def _upgrade_index(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A schema 1 index in schema 2 form (in memory; written back with the next change)."""
    try:
        items = {
            item_id: _entry(published, feeds)
            for item_id, (_partition, published, feeds) in data["items"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StoreError(
            tr("{path}: a malformed schema 1 index").format(path=path) + restore_hint()
        ) from None
    return {**data, "schema": SCHEMA, "items": items}


class Store:
    """Read access to a data dir; `writer()` for changes under the lock."""

    def __init__(self, data_dir: Path, *, lock_timeout: float = 60.0) -> None:
        self.data_dir = Path(data_dir)
        self.items_dir = self.data_dir / "items"
        self.lock_timeout = lock_timeout
        self._index: dict[str, Any] | None = None
        self._partitions: dict[str, tuple[TinyDB, AtomicStorage]] = {}
        self._state: tuple[TinyDB, AtomicStorage] | None = None

    # ------------------------------------------------------------------ reading

    @property
    def index(self) -> dict[str, Any]:
        if self._index is None:
            data = _load_json(self.data_dir / "index.json")
            if data is None:
                data = _empty_index()
            elif data.get("schema") == 1:
                data = _upgrade_index(data, self.data_dir / "index.json")
            elif data.get("schema") != SCHEMA:
                raise StoreError(
                    tr("{path}: unknown schema {schema}").format(
                        path=self.data_dir / "index.json", schema=repr(data.get("schema"))
                    )
                )
            self._index = data
        return self._index

    def partitions(self) -> list[str]:
        """Partition names (UTC days), newest first."""
        try:
            names = [
                m.group(1) for p in self.items_dir.iterdir() if (m := PARTITION_RE.match(p.name))
            ]
        except FileNotFoundError:
            return []
        return sorted(names, reverse=True)

    def _partition(self, name: str) -> tuple[TinyDB, AtomicStorage]:
        if name not in self._partitions:
            self._partitions[name] = _open_db(self.items_dir / f"{name}.json", self.save)
        return self._partitions[name]

    def partition_items(self, name: str) -> list[dict[str, Any]]:
        db, _ = self._partition(name)
        return [dict(doc) for doc in db.table("items").all()]

    def iter_newest(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(partition, its items) from the newest partition back."""
        for name in self.partitions():
            yield name, self.partition_items(name)

    def get(self, item_id: str) -> dict[str, Any] | None:
        entry = self.index["items"].get(item_id)
        if entry is None:
            return None
        db, _ = self._partition(partition_of(entry))
        doc = db.table("items").get(doc_id=_doc_id(item_id))
        return dict(doc) if doc is not None else None

    def ids(self) -> list[str]:
        return list(self.index["items"])

    def abbreviations(self, ids: Iterable[str]) -> dict[str, str]:
        """Each id's shortest prefix that names no other stored item (at least
        ``MIN_PREFIX`` characters), read from the sorted id list, not the index: a binary
        search per id.  An id the list does not hold (a store written before the list
        existed) gets no entry; the caller shows a longer prefix."""
        try:
            data = (self.data_dir / ID_LIST).read_bytes()
        except OSError:
            return {}
        return shortest_prefixes(data, ids)

    def _state_db(self) -> tuple[TinyDB, AtomicStorage]:
        if self._state is None:
            self._state = _open_db(self.data_dir / "state.json", self.save)
        return self._state

    def feed_states(self) -> dict[str, FeedState]:
        db, _ = self._state_db()
        return {doc["name"]: FeedState.from_dict(doc) for doc in db.table("feeds").all()}

    def digest_marks(self) -> dict[str, str]:
        """The end of the period the last digest of each format covered (ISO UTC)."""
        db, _ = self._state_db()
        return {doc["format"]: doc["until"] for doc in db.table("digests").all()}

    def feed_stats(self) -> dict[str, tuple[int, str | None]]:
        """Per feed: how many stored items it carried and the newest one's time."""
        stats: dict[str, tuple[int, str | None]] = {}
        for entry in self.index["items"].values():
            published, feeds = _entry_feeds(entry)
            for name in feeds:
                count, newest = stats.get(name, (0, None))
                stats[name] = (
                    count + 1,
                    published if newest is None or published > newest else newest,
                )
        return stats

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def writer(self, on_wait: Callable[[str], None] | None = None) -> Iterator[Writer]:
        """Hold the lock, yield a Writer, commit what it changed (only if no exception)."""
        with self.locked(on_wait):
            writer = Writer(self)
            yield writer
            writer.commit()

    @contextlib.contextmanager
    def locked(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the database lock (waiting up to lock_timeout, saying so)."""
        from filelock import FileLock, Timeout

        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.data_dir / "kzfeed.lock"
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait(
                    tr("waiting for another kzfeed to finish (lock {path})").format(path=lock_path)
                )
            try:
                lock.acquire(timeout=self.lock_timeout)
            except Timeout as exc:
                raise LockTimeout(
                    tr(
                        "{path}: another kzfeed still holds the lock after {seconds} s; giving up"
                    ).format(path=lock_path, seconds=f"{self.lock_timeout:g}")
                ) from exc
        try:
            self._reset()  # another process may have written while we waited
            self._clean_temp_files()
            yield
        finally:
            self._reset()
            lock.release()

    # ------------------------------------------------------------------ backups

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    def save(self, path: Path, data: bytes) -> None:
        """Write a store file atomically, and the same bytes to the backup mirror.

        ``backups/last/`` mirrors every file as of the last successful write (copies, not
        links: a file damaged in place must not damage its backup); the version it replaces
        moves to ``backups/previous/``.  Only files kzfeed itself wrote from good data ever
        reach the mirror, so it always holds the last good state.
        """
        write_atomic(path, data)
        write_atomic(self._retire_backup(path), data)

    def _retire_backup(self, path: Path) -> Path:
        """Move a store file's backup from last/ to previous/; return its last/ path."""
        rel = path.relative_to(self.data_dir)
        last = self.backup_dir / "last" / rel
        if last.exists():
            previous = self.backup_dir / "previous" / rel
            previous.parent.mkdir(parents=True, exist_ok=True)
            os.replace(last, previous)
        return last

    def seed_backups(self) -> None:
        """Start the backup mirror of a store that has none yet (created before backups
        existed, or whose backups were deleted) with copies of its files that read well."""
        if (self.backup_dir / "last" / "index.json").exists():
            return
        index = self.data_dir / "index.json"
        if not index.exists():
            return  # a new store: the mirror fills as files are written
        for path in [index, self.data_dir / "state.json", *self.items_dir.glob("*.json")]:
            try:
                if _load_json(path) is None:
                    continue
            except StoreError:
                continue  # never copy a damaged file into the backups
            target = self.backup_dir / "last" / path.relative_to(self.data_dir)
            write_atomic(target, path.read_bytes())

    def drop_file(self, path: Path) -> None:
        """Delete a store file (a pruned partition); its backup moves to previous/."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._retire_backup(path)

    def _reset(self) -> None:
        self._index = None
        self._partitions.clear()
        self._state = None

    def _clean_temp_files(self) -> None:
        backups = self.backup_dir
        folders = (
            self.data_dir,
            self.items_dir,
            backups / "last",
            backups / "last" / "items",
            backups / "previous",
            backups / "previous" / "items",
        )
        for folder in folders:
            with contextlib.suppress(FileNotFoundError):
                for path in folder.glob(".*.tmp"):
                    with contextlib.suppress(OSError):
                        path.unlink()


def partition_of(published: str) -> str:
    return published[:10]


class Writer:
    """Changes to the store, kept in memory until `commit` (called by Store.writer).

    TinyDB rewrites a whole table on every insert or update (it re-keys every document),
    so records are buffered per partition and each partition is flushed with one bulk
    remove and one bulk insert: a batch costs O(partition), not O(partition x items).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._index_dirty = False
        self._ids_changed = False  # an item added or forgotten: the id list is rewritten
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}  # partition -> id -> record
        self._states: dict[str, dict[str, Any]] = {}  # feed name -> state, written at commit
        self._removed: dict[str, set[str]] = {}  # partition -> ids to drop

    @property
    def index(self) -> dict[str, Any]:
        """The identity index, read on first use: a warm update of 304s never needs it."""
        return self.store.index

    def view(self) -> dedup.IndexView:
        return dedup.IndexView(self.index["keys"], self.index["seen"], self.index["tombstones"])

    def get(self, item_id: str) -> dict[str, Any] | None:
        """A record as this batch left it (pending changes first, then the store)."""
        entry = self.index["items"].get(item_id)
        if entry is None:
            return None
        pending = self._pending.get(partition_of(entry), {}).get(item_id)
        if pending is not None:
            return dict(pending)
        return self.store.get(item_id)

    def apply(self, decisions: Iterable[dedup.Decision]) -> tuple[int, int]:
        """Store the decisions of one feed's batch; returns (new, updated).  What they come
        to is worked out by `dedup.resolve` first (where a bad item could raise); only then
        is it written into the batch, so a failure leaves nothing of this feed applied."""
        changes = dedup.resolve(decisions, self.index["keys"], self.get)
        self.write(changes)
        return changes.new, changes.updated

    def write(self, changes: dedup.Changes) -> None:
        """Apply what dedup decided: the records, then the index's keys and hashes."""
        for record, previous in changes.records.values():
            self._put(record, previous)
        if changes.keys or changes.seen:
            self.index["keys"].update(changes.keys)
            self.index["seen"].update(changes.seen)
            self._index_dirty = True

    def _put(self, record: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        item_id = record["id"]
        partition = partition_of(record["published"])
        if previous is not None:
            old = partition_of(previous["published"])
            if old != partition:
                self._pending.get(old, {}).pop(item_id, None)
                self._removed.setdefault(old, set()).add(item_id)
        self._pending.setdefault(partition, {})[item_id] = record
        if item_id not in self.index["items"]:
            self._ids_changed = True
        self.index["items"][item_id] = _entry(record["published"], carrying_feeds(record))
        self._index_dirty = True

    def _drop(self, item_id: str) -> None:
        entry = self.index["items"].get(item_id)
        if entry is not None:
            partition = partition_of(entry)
            self._pending.get(partition, {}).pop(item_id, None)
            self._removed.setdefault(partition, set()).add(item_id)

    def set_full_text(self, item_id: str, text: str) -> None:
        """Keep an article's extracted text with the item (`show --full` reads it again)."""
        record = self.get(item_id)
        if record is not None and record.get("full_text") != text:
            record["full_text"] = text
            self._put(record)

    def set_read(self, ids: Iterable[str], read: bool) -> int:
        changed = 0
        for item_id in ids:
            record = self.get(item_id)
            if record is not None and record.get("read") != read:
                record["read"] = read
                self._put(record)
                changed += 1
        return changed

    def save_state(self, state: FeedState) -> None:
        """Remember a feed's state; written with the batch (one table write, not one per
        feed: TinyDB rewrites the whole table on every update)."""
        self._states[state.name] = state.to_dict()

    def _flush_states(self) -> None:
        if not self._states:
            return
        db, _ = self.store._state_db()
        table = db.table("feeds")
        current = {doc["name"]: dict(doc) for doc in table.all()}
        merged = {**current, **self._states}
        self._states.clear()
        if merged == current:
            return  # nothing changed: no write
        table.truncate()
        table.insert_multiple(merged[name] for name in sorted(merged))

    def mark_digest(self, fmt: str, until: str) -> None:
        from tinydb import Query

        db, _ = self.store._state_db()
        db.table("digests").upsert({"format": fmt, "until": until}, Query().format == fmt)

    def drop_state(self, name: str) -> None:
        from tinydb import Query

        self._states.pop(name, None)
        db, _ = self.store._state_db()
        db.table("feeds").remove(Query().name == name)

    def prune(self, cutoff: datetime, now: datetime | None = None) -> int:
        """Drop partitions older than ``cutoff``'s day; their keys become tombstones so the
        items do not come back.  Tombstones older than the retention window expire."""
        now = now or utcnow()
        limit = to_utc_iso(cutoff)[:10]
        old = [p for p in self.store.partitions() if p < limit]
        if not old and self.store._index is None:
            return 0  # nothing to drop; tombstones expire on a run that reads the index anyway
        doomed = {
            item_id for item_id, entry in self.index["items"].items() if partition_of(entry) < limit
        }
        removed = self._forget(doomed, now)
        for partition in old:
            self.store._partitions.pop(partition, None)
            self._pending.pop(partition, None)
            self._removed.pop(partition, None)
            self.store.drop_file(self.store.items_dir / f"{partition}.json")
        tombstones = self.index["tombstones"]
        expired = [key for key, day in tombstones.items() if day < limit]
        for key in expired:
            del tombstones[key]
        if expired:
            self._index_dirty = True
        return removed

    def _forget(self, doomed: set[str], now: datetime, tombstone: bool = True) -> int:
        if not doomed:
            return 0
        items, keys, seen = self.index["items"], self.index["keys"], self.index["seen"]
        today = to_utc_iso(now)[:10]
        for key, item_id in list(keys.items()):
            if item_id in doomed:
                del keys[key]
                seen.pop(key, None)
                if tombstone:
                    self.index["tombstones"][key] = today
        for item_id in doomed:
            items.pop(item_id, None)
        self._index_dirty = self._ids_changed = True
        return len(doomed)

    def purge_feed(self, name: str, titles: Mapping[str, str] | None = None) -> int:
        """Drop the items only ``name`` carried; a story another feed carried too stays, under
        that feed (``titles``: display names of feeds); ``name`` leaves every ``also_in``."""
        doomed: set[str] = set()
        for item_id, entry in list(self.index["items"].items()):
            if name not in _entry_feeds(entry)[1]:
                continue
            record = self.get(item_id)
            if record is None:
                continue
            others = [a for a in record.get("also_in", []) if a.get("feed") != name]
            if record.get("feed") == name and others:
                heir = others[0]
                record["feed"] = heir["feed"]
                record["url"] = heir.get("url") or record.get("url")
                record["source"] = (titles or {}).get(heir["feed"], heir["feed"])
                record["also_in"] = others[1:]
                self._put(record)
            elif record.get("feed") == name:
                self._drop(item_id)
                doomed.add(item_id)
            else:
                record["also_in"] = others
                self._put(record)
        return self._forget(doomed, utcnow(), tombstone=False)

    def _flush(self) -> None:
        for partition in sorted(set(self._pending) | set(self._removed)):
            table = self._table(partition)
            records = self._pending.get(partition, {})
            drop = set(self._removed.get(partition, ())) | set(records)
            present = [_doc_id(i) for i in drop if table.contains(doc_id=_doc_id(i))]
            if present:
                table.remove(doc_ids=present)
            if records:
                table.insert_multiple(Document(r, doc_id=_doc_id(i)) for i, r in records.items())
        self._pending.clear()
        self._removed.clear()

    def _table(self, partition: str) -> Any:
        db, _ = self.store._partition(partition)
        return db.table("items")

    def commit(self) -> None:
        """Write every changed file: partitions first, then the index, then feed state."""
        self.store.seed_backups()
        self._flush()
        self._flush_states()
        for _db, storage in list(self.store._partitions.values()):
            storage.commit()
        if self._index_dirty:
            self.store.save(self.store.data_dir / "index.json", _dumps(self.index))
            self._index_dirty = False
            ids_path = self.store.data_dir / ID_LIST
            if self._ids_changed or not ids_path.exists():  # derived: no backup copy
                write_atomic(ids_path, id_list(self.index["items"]))
                self._ids_changed = False
        if self.store._state is not None:
            self.store._state[1].commit()


def retention_cutoff(days: int, now: datetime | None = None) -> datetime | None:
    if days <= 0:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


def shortest_prefixes(data: bytes, ids: Iterable[str]) -> dict[str, str]:
    """For each hex id found in ``data`` (sorted 8-byte ids), its shortest unique prefix:
    one nibble longer than what it shares with its nearest neighbours."""
    count = len(data) // ID_BYTES
    result: dict[str, str] = {}
    for item_id in ids:
        try:
            key = bytes.fromhex(item_id)
        except ValueError:
            continue
        lo, hi = 0, count
        while lo < hi:
            mid = (lo + hi) // 2
            if data[mid * ID_BYTES : (mid + 1) * ID_BYTES] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo >= count or data[lo * ID_BYTES : (lo + 1) * ID_BYTES] != key:
            continue
        shared = 0
        for neighbour in (lo - 1, lo + 1):
            if 0 <= neighbour < count:
                other = data[neighbour * ID_BYTES : (neighbour + 1) * ID_BYTES].hex()
                same = next(
                    (i for i, (a, b) in enumerate(zip(item_id, other, strict=True)) if a != b), 16
                )
                shared = max(shared, same)
        result[item_id] = item_id[: max(MIN_PREFIX, shared + 1)]
    return result


def id_list(ids: Iterable[str]) -> bytes:
    """The sorted id list ``Store.abbreviations`` searches."""
    return b"".join(sorted(bytes.fromhex(i) for i in ids))


def resolve_id(store: Store, prefix: str) -> str:
    """The full id a unique prefix names; NotFound / AmbiguousId otherwise."""
    from .errors import AmbiguousId, NotFound

    prefix = prefix.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{1,16}", prefix):
        raise NotFound(tr("no item with id {id} (ids are hexadecimal)").format(id=repr(prefix)))
    matches = sorted(i for i in store.ids() if i.startswith(prefix))
    if not matches:
        raise NotFound(tr("no item with id {id}").format(id=repr(prefix)))
    if len(matches) > 1:
        raise AmbiguousId(prefix, matches)
    return matches[0]


def check(data_dir: Path) -> tuple[list[str], int, int]:
    """Read every file of a store and cross-check index and partitions.

    Returns (problems, items, partitions); no problem means the store is sound.
    """
    store = Store(data_dir)
    problems: list[str] = []
    try:
        index = store.index
    except StoreError as exc:
        return [str(exc)], 0, 0
    try:
        store.feed_states()
    except StoreError as exc:
        problems.append(str(exc))
    found: dict[str, str] = {}
    partitions = store.partitions()
    unreadable = set()
    for name in partitions:
        try:
            records = store.partition_items(name)
        except StoreError as exc:
            problems.append(str(exc))
            unreadable.add(name)
            continue
        for record in records:
            if not isinstance(record, dict) or "id" not in record or "published" not in record:
                problems.append(
                    tr("{path}: a record without id/published").format(
                        path=store.items_dir / (name + ".json")
                    )
                )
                continue
            found[record["id"]] = name
    missing: dict[str, int] = {}
    for item_id, entry in index.get("items", {}).items():
        partition = partition_of(entry) if isinstance(entry, str) else ""
        if not PARTITION_RE.match(partition + ".json"):
            problems.append(
                tr("{path}: item {id} has a malformed entry").format(
                    path=data_dir / "index.json", id=item_id
                )
            )
        elif found.get(item_id) != partition and partition not in unreadable:
            missing[partition] = missing.get(partition, 0) + 1
    for name, count in sorted(missing.items()):
        problems.append(
            ntr(
                "{n} indexed item(s) missing from {path}",
                "{n} indexed item(s) missing from {path}",
                count,
            ).format(n=count, path=store.items_dir / (name + ".json"))
        )
    orphans = set(found) - set(index.get("items", {}))
    if orphans:
        problems.append(
            ntr(
                "{n} stored item(s) missing from the index (next update re-adds them)",
                "{n} stored item(s) missing from the index (next update re-adds them)",
                len(orphans),
            ).format(n=len(orphans))
        )
    return problems, len(found), len(partitions)


def restore(
    data_dir: Path,
    *,
    previous: bool = False,
    lock_timeout: float = 60.0,
    on_wait: Callable[[str], None] | None = None,
) -> Path:
    """Bring back the last good state from ``backups/last`` (with ``previous``: the state
    before the last write).  The current files are moved aside, never deleted; returns
    the folder they were moved to."""
    from datetime import datetime

    store = Store(data_dir, lock_timeout=lock_timeout)
    last = store.backup_dir / "last"
    if not (last / "index.json").exists():
        raise StoreError(tr("{path}: no backup to restore from").format(path=last))
    with store.locked(on_wait=on_wait):
        stamp = f"replaced-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        aside = data_dir / stamp
        n = 1
        while True:
            try:
                aside.mkdir()
                break
            except FileExistsError:
                n += 1
                aside = data_dir / f"{stamp}-{n}"
        with contextlib.suppress(OSError):  # derived from the index: the next write redoes it
            (data_dir / ID_LIST).unlink()
        current = [
            data_dir / "index.json",
            data_dir / "state.json",
            *store.items_dir.glob("*.json"),
        ]
        for path in current:
            if path.exists():
                target = aside / path.relative_to(data_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
        sources = [last]
        if previous:
            sources.append(store.backup_dir / "previous")
        for source in sources:  # previous/ overlays last/: the files as before the last write
            for path in sorted(source.rglob("*.json")):
                target = data_dir / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(target, path.read_bytes())
    return aside
