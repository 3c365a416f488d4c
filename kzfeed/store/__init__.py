"""The only package that touches TinyDB: partitioned, atomic, locked storage.

Layout of the data dir::

    kzfeed.lock              file lock held by every writer
    state.json               TinyDB, table "feeds": per-feed validators, health, failures
    items/2026-11-24.json    TinyDB, table "items": the items published that UTC day
    tombstones/2026-11-27.json  the keys of the items pruned that day (expire with retention)
    identity.sqlite          identity index (`identity.py`; derived from the two above)
    terms.sqlite             term index (`termindex.py`; derived from the partitions)
    alerts.pending           the alerts a commit raised, until state.json keeps them
    heads/2026-11-24.json    the newest records of one of the newest days (`heads.py`)
    outbox.json              alerts a notifier did not take, until sent (`kzfeed/outbox.py`)

* Items are partitioned by the UTC day of publication, so `latest` reads the newest
  partitions only and stops; nothing needs every item ever stored.
* The identity index maps feed keys and link keys to item ids, remembers the content hash
  last stored for each feed key, where each item lives, and tombstones of pruned items;
  it is looked up a batch of keys at a time, never read whole.  Every record carries its
  own keys, so the index is rebuilt from the files whenever it is missing or damaged.
* Every file is written whole to a temp file, fsynced and `os.replace`d: a kill at any
  moment leaves the old or the new file.  A write happens once per batch (`Writer.commit`),
  only for files that changed.  Partitions are written before the index, and the next
  writer takes in a day file the index has not seen (`identity.catch_up`).
* A corrupt, truncated or empty file raises StoreError naming it and is never overwritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tinydb import TinyDB

from ..errors import LockTimeout
from ..model import FeedState, StoredItem
from ..words import tr
from . import files
from .backups import BackupMirror, restore
from .check import check
from .files import AtomicStorage, restore_hint, write_atomic
from .identity import LEGACY, Identity, behind, sync, tombstone_days
from .index import (
    MIN_PREFIX,
    PARTITION_RE,
    SCHEMA,
    partition_of,
    resolve_id,
    shortest_prefix,
)

if TYPE_CHECKING:
    from .spans import Spans  # the byte spans of a day's records: only `show` reads them
    from .writer import Writer, retention_cutoff


def __getattr__(name: str) -> Any:
    """The writer's names, loaded when first asked for: a reader (`latest`, `show`) never
    loads the writer, dedup or the term index."""
    if name in ("Writer", "retention_cutoff"):
        from . import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MIN_PREFIX",
    "SCHEMA",
    "Store",
    "Writer",
    "check",
    "partition_of",
    "resolve_id",
    "restore",
    "restore_hint",
    "retention_cutoff",
    "write_atomic",
]


class Store(BackupMirror):
    """Read access to a data dir; `writer()` for changes under the lock."""

    def __init__(self, data_dir: Path, *, lock_timeout: float = 60.0) -> None:
        self.data_dir = Path(data_dir)
        self.items_dir = self.data_dir / "items"
        self.lock_timeout = lock_timeout
        self._identity: Identity | None = None
        self._holding = False  # the lock is held (a writer may bring the index up to date)
        self._partitions: dict[str, tuple[TinyDB, AtomicStorage]] = {}
        self._spans: dict[str, Spans] = {}  # where each record of a day lies (`spans.py`)
        self._state: tuple[TinyDB, AtomicStorage] | None = None

    # ------------------------------------------------------------------ reading

    def identity(self, build: bool = True) -> Identity:
        """The identity index (`identity.py`).  Under the lock it is brought up to date
        with the files first; a reader takes it as the last commit left it, and builds it
        (under the lock) only when there is none, or the store still has ``index.json``.
        With ``build`` false, a store without one gets an empty index."""
        if self._identity is not None:
            return self._identity
        if self._holding:
            self._identity = sync(self)
            return self._identity
        found = self._read_identity(build)
        if found is None:  # nothing stored, or not to be built for this: not kept
            return Identity.empty()
        self._identity = found
        return found

    def _read_identity(self, build: bool) -> Identity | None:
        """The identity index as a reader opens it (see `identity`)."""
        legacy = (self.data_dir / LEGACY).exists()
        found = None if legacy else Identity.open(self.data_dir)
        if found is not None:
            if build and behind(self, found):
                # a commit cut short: taken in now, unless a writer is at work (it will) or
                # the store cannot be written here (read as the last commit left it)
                with contextlib.suppress(LockTimeout, PermissionError):
                    with self.locked(wait=False):
                        sync(self).close()
                    found.close()
                    found = Identity.open(self.data_dir)
            return found
        if build and (legacy or self.partitions() or tombstone_days(self.data_dir)):
            with self.locked():
                sync(self).close()
            return Identity.open(self.data_dir)
        return None

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
            self._partitions[name] = files.open_db(self.items_dir / f"{name}.json", self.save)
        return self._partitions[name]

    def partition_items(self, name: str) -> list[StoredItem]:
        if name not in self._partitions:
            # read only: TinyDB's own file, taken as it is (TinyDB would wrap every record in
            # a Document first — a third of `latest` on a day of 7,000 items)
            data = files.load_json(self.items_dir / f"{name}.json")
            table = (data or {}).get("items", {})
            if isinstance(table, dict) and all(isinstance(v, dict) for v in table.values()):
                return [cast(StoredItem, record) for record in table.values()]
        db, _ = self._partition(name)
        return [cast(StoredItem, dict(doc)) for doc in db.table("items").all()]

    def head_items(self, name: str) -> list[StoredItem] | None:
        """A day's newest records, newest first, when its head (`heads.py`) describes the
        partition on disk; None when it has none (a small or an older day) or it is stale."""
        from .heads import read_head

        if name in self._partitions:  # read (and maybe changed) here: the file may lag
            return None
        return read_head(self.data_dir, name, self.items_dir / f"{name}.json")

    def iter_newest(self) -> Iterator[tuple[str, list[StoredItem]]]:
        """(partition, its items) from the newest partition back."""
        for name in self.partitions():
            yield name, self.partition_items(name)

    def get(self, item_id: str) -> StoredItem | None:
        entry = self.identity().entry(item_id)
        if entry is None:
            return None
        return self.record_in(partition_of(entry[0]), item_id)

    def record_in(self, name: str, item_id: str) -> StoredItem | None:
        """An item's record from the day it lies in."""
        if name not in self._partitions:  # one record read from its span, not the day
            record = self._read_one(name, files.doc_id(item_id))
            if record is not None:
                return record
        db, _ = self._partition(name)
        doc = db.table("items").get(doc_id=files.doc_id(item_id))
        return cast(StoredItem, dict(doc)) if doc is not None else None

    def _read_one(self, name: str, doc_id: int) -> StoredItem | None:
        from .spans import read_record, scan

        path = self.items_dir / f"{name}.json"
        spans = self._spans.get(name)
        if spans is None or spans.stamp is None or spans.stamp != files.stamp(path):
            spans = self._spans[name] = scan(path)
        return cast(StoredItem | None, read_record(path, spans, doc_id))

    def ids(self) -> list[str]:
        """Every stored item's id, in order (read from the identity index)."""
        return self.identity().ids()

    def ids_with_prefix(self, prefix: str, limit: int = 50) -> list[str]:
        """Stored ids that start with these hex digits (at most ``limit``), in order."""
        return self.identity().with_prefix(prefix, limit)

    def item_count(self) -> int:
        """How many items the store holds, as the identity index says; -1 when it has
        none yet (it is not built for this)."""
        if self._identity is None and not (self.data_dir / "identity.sqlite").exists():
            return -1
        return self.identity(build=False).count()

    def abbreviations(self, ids: Iterable[str]) -> dict[str, str]:
        """Each id's shortest prefix that names no other stored item (at least
        ``MIN_PREFIX`` characters): its neighbours in the identity index's sorted ids,
        looked up.  An id the index does not hold gets no entry; the caller shows a
        longer prefix."""
        if self._identity is None and not (self.data_dir / "identity.sqlite").exists():
            return {}
        identity = self.identity(build=False)
        out: dict[str, str] = {}
        for item_id in ids:
            found = identity.neighbours(item_id)
            if found is not None:
                out[item_id] = shortest_prefix(item_id, found)
        return out

    def _state_db(self) -> tuple[TinyDB, AtomicStorage]:
        if self._state is None:
            self._state = files.open_db(self.data_dir / "state.json", self.save)
        return self._state

    def feed_states(self) -> dict[str, FeedState]:
        db, _ = self._state_db()
        return {doc["name"]: FeedState.from_dict(doc) for doc in db.table("feeds").all()}

    def digest_marks(self) -> dict[str, str]:
        """The end of the period the last digest of each format covered (ISO UTC)."""
        db, _ = self._state_db()
        return {doc["format"]: doc["until"] for doc in db.table("digests").all()}

    def alert_rows(self) -> list[dict[str, Any]]:
        """The alerts raised so far (`rules.Alert` fields), oldest first."""
        db, _ = self._state_db()
        rows = [dict(doc) for doc in db.table("alerts").all()]
        return sorted(rows, key=lambda r: str(r.get("at", "")))

    def alerted_stories(self) -> set[str]:
        return {str(row.get("story")) for row in self.alert_rows()}

    def feed_stats(self) -> dict[str, tuple[int, str | None]]:
        """Per feed: how many stored items it carried and the newest one's time."""
        stats: dict[str, tuple[int, str | None]] = {}
        for feeds, published, many in self.identity().feed_rows():
            for name in feeds.split(",") if feeds else []:
                count, newest = stats.get(name, (0, None))
                stats[name] = (
                    count + many,
                    published if newest is None or published > newest else newest,
                )
        return stats

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def writer(self, on_wait: Callable[[str], None] | None = None) -> Iterator[Writer]:
        """Hold the lock, yield a Writer, commit what it changed (only if no exception)."""
        with self.locked(on_wait):
            from .writer import Writer

            writer = Writer(self)
            yield writer
            writer.commit()

    @contextlib.contextmanager
    def locked(
        self, on_wait: Callable[[str], None] | None = None, wait: bool = True
    ) -> Iterator[None]:
        """Hold the database lock (waiting up to lock_timeout, saying so; with ``wait``
        false, LockTimeout at once when another process holds it)."""
        from .lockfile import Busy, LockFile

        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.data_dir / "kzfeed.lock"
        lock = LockFile(lock_path)
        try:
            lock.acquire(timeout=0)
        except Busy:
            if not wait:
                raise LockTimeout(str(lock_path)) from None
            if on_wait is not None:
                on_wait(
                    tr("waiting for another kzfeed to finish (lock {path})").format(path=lock_path)
                )
            try:
                lock.acquire(timeout=self.lock_timeout)
            except Busy as exc:
                raise LockTimeout(
                    tr(
                        "{path}: another kzfeed still holds the lock after {seconds} s; giving up"
                    ).format(path=lock_path, seconds=f"{self.lock_timeout:g}")
                ) from exc
        try:
            self._reset()  # another process may have written while we waited
            self._clean_temp_files()
            self._holding = True
            yield
        finally:
            self._holding = False
            self._reset()
            lock.release()

    def _reset(self) -> None:
        if self._identity is not None:
            self._identity.close()
        self._identity = None
        self._partitions.clear()
        self._spans.clear()
        self._state = None
