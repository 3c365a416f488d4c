"""Changes to the store under its lock: what dedup decided, read marks, feed state,
digest marks, pruning; written once per batch, partitions first, then the identity index
(`identity.py`), which the batch asks about the keys it meets, never reading it whole."""

from __future__ import annotations

import contextlib
import io
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tinydb.table import Document

from .. import dedup
from ..dates import to_utc_iso, utcnow
from ..errors import StoreError
from ..model import FeedState, StoredItem, carrying_feeds
from . import files
from .identity import Delta, Identity, tombstone_days, write_tombstones
from .index import partition_of

#: whether a file may be replaced (os.replace) while it is open for reading: not on Windows
REPLACES_OPEN_FILES = os.name != "nt"

if TYPE_CHECKING:
    from . import Store


class Writer:
    """Changes to the store, kept in memory until `commit` (called by Store.writer).

    TinyDB rewrites a whole table on every insert or update (it re-keys every document),
    so records are buffered per partition and each partition is flushed with one bulk
    remove and one bulk insert: a batch costs O(partition), not O(partition x items).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._delta = Delta()  # what the commit changes in the identity index
        self._found: dict[str, tuple[str, str | None] | None] = {}  # keys asked of the index
        self._buried: dict[str, bool] = {}  # keys asked of the tombstones
        self._forgotten: set[str] = set()  # ids this batch forgets: their keys name nothing
        self._day_stamps: dict[str, Any] | None = None
        self._any_buried: bool | None = None  # whether the index holds any tombstone
        self._alerts_made: list[dict[str, Any]] = []  # raised by this batch (`add_alerts`)
        self._pending_taken = False  # alerts.pending read (and settled) by this batch
        self._doomed: list[Path] = []  # files pruned, deleted at the commit
        self._pending: dict[str, dict[str, StoredItem]] = {}  # partition -> id -> record
        self._states: dict[str, dict[str, Any]] = {}  # feed name -> state, written at commit
        self._removed: dict[str, set[str]] = {}  # partition -> ids to drop
        self.new_ids: list[str] = []  # items this batch stored for the first time
        self._to_index: dict[str, StoredItem] = {}  # new or edited: their terms change
        self._unindex: set[str] = set()
        self._pruned_before: str | None = None
        self._rebuild = False
        self._added: set[str] = set()  # ids no partition held before this batch
        self._whole: dict[str, list[StoredItem]] = {}  # days this commit wrote new: records
        self.analysed: dict[str, Any] = {}  # new items' terms and features (grouping.analyse)
        self.story_keys: dict[str, frozenset[str]] = {}  # new items' story keys (grouping)

    @property
    def identity(self) -> Identity:
        """The identity index, opened (and brought up to date) on first use: a warm update
        of 304s never needs it."""
        return self.store.identity()

    def prefetch(self, items: Iterable[Any]) -> None:
        """Ask the index about the keys of these items (`model.Item`) at once: a query per
        500 keys, not one per key."""
        wanted = []
        for item in items:
            for key in (item.feed_key, item.link_key):
                if key and key not in self._found and key not in self._delta.keys:
                    wanted.append(key)
        if not wanted:
            return
        found = self.identity.lookup(wanted)
        for key in wanted:
            self._found[key] = found.get(key)
        missing = [k for k in wanted if found.get(k) is None and k not in self._buried]
        if self._any_buried is None:
            self._any_buried = self.identity.has_tombstones()
        buried = self.identity.tombstoned(missing) if missing and self._any_buried else set()
        for key in missing:
            self._buried[key] = key in buried

    def key(self, key: str) -> tuple[str, str | None] | None:
        """(item id, content hash last stored) a key names, as this batch leaves it."""
        if key in self._delta.keys:
            return self._delta.keys[key]
        if key not in self._found:
            self._found[key] = self.identity.lookup([key]).get(key)
        found = self._found[key]
        if found is not None and found[0] in self._forgotten:
            return None
        return found

    def buried(self, key: str) -> bool:
        """Whether a key is a pruned item's (a tombstone)."""
        if key in self._delta.tombstones:
            return True
        if key not in self._buried:
            self._buried[key] = bool(self.identity.tombstoned([key]))
        return self._buried[key]

    def view(self, items: Iterable[Any] = ()) -> dedup.IndexView:
        """What dedup reads of the index, for a batch of these items (their keys are
        looked up at once; any other key is looked up when asked)."""
        self.prefetch(items)
        return dedup.IndexView(_Keys(self), _Seen(self), _Tombstones(self))

    def entry(self, item_id: str) -> tuple[str, str] | None:
        """(published, feeds) of an item as this batch leaves it; None when not stored."""
        if item_id in self._delta.items:
            return self._delta.items[item_id]
        found = self.identity.entry(item_id)
        return (found[0], ",".join(found[1])) if found is not None else None

    def get(self, item_id: str) -> StoredItem | None:
        """A record as this batch left it (pending changes first, then the store)."""
        entry = self.entry(item_id)
        if entry is None:
            return None
        day = partition_of(entry[0])
        pending = self._pending.get(day, {}).get(item_id)
        if pending is not None:
            return pending.copy()
        return self.store.record_in(day, item_id)

    def apply(self, decisions: Iterable[dedup.Decision]) -> tuple[int, int]:
        """Store the decisions of one feed's batch; returns (new, updated).  What they come
        to is worked out by `dedup.resolve` first (where a bad item could raise); only then
        is it written into the batch, so a failure leaves nothing of this feed applied."""
        changes = dedup.resolve(decisions, _Keys(self), self.get)
        self.write(changes)
        return changes.new, changes.updated

    def write(self, changes: dedup.Changes) -> None:
        """Apply what dedup decided: the records (which carry their keys), then the
        index's keys and hashes."""
        for record, previous in changes.records.values():
            self._put(record, previous, new=previous is None)
            if previous is None:
                self.new_ids.append(record["id"])
            if previous is None or any(
                record.get(k) != previous.get(k) for k in ("title", "summary", "lang", "published")
            ):
                self._to_index[record["id"]] = record
        for key, target in changes.keys.items():
            self._delta.keys[key] = (target, changes.seen.get(key) or None)

    def _put(
        self, record: StoredItem, previous: StoredItem | None = None, *, new: bool = False
    ) -> None:
        item_id = record["id"]
        partition = partition_of(record["published"])
        if previous is not None:
            old = partition_of(previous["published"])
            if old != partition:
                self._pending.get(old, {}).pop(item_id, None)
                self._removed.setdefault(old, set()).add(item_id)
        self._pending.setdefault(partition, {})[item_id] = record
        if item_id in self._to_index:  # to be indexed as it is now: `get` hands out copies,
            self._to_index[item_id] = record  # so a story set after `write` was left out
        self._removed.get(partition, set()).discard(item_id)  # back where it was: stays
        if new:
            self._added.add(item_id)
        self._delta.items[item_id] = (record["published"], ",".join(carrying_feeds(record)))

    def _drop(self, item_id: str) -> None:
        entry = self.entry(item_id)
        if entry is not None:
            partition = partition_of(entry[0])
            self._pending.get(partition, {}).pop(item_id, None)
            self._removed.setdefault(partition, set()).add(item_id)

    @property
    def dropped_ids(self) -> set[str]:
        """Items this batch forgets (the term index still holds them until the commit)."""
        return set(self._unindex)

    def offer(self, analysed: Mapping[str, tuple[str, Any]]) -> None:
        """Take the parse worker's analyses of the items this batch stores or edits, where
        the stored text is the one analysed (the same content hash)."""
        for item_id, (content_hash, analysis) in analysed.items():
            record = self._to_index.get(item_id)
            if record is not None and record.get("hash") == content_hash:
                self.analysed[item_id] = analysis

    def partition_records(self, partition: str) -> list[StoredItem]:
        """A partition's records as this batch leaves them (pending changes included)."""
        pending = self._pending.get(partition, {})
        removed = self._removed.get(partition, set())
        out: list[StoredItem] = []
        if (self.store.items_dir / f"{partition}.json").exists():
            for record in self.store.partition_items(partition):
                item_id = record["id"]
                if item_id not in pending and item_id not in removed:
                    out.append(record)
        out.extend(record.copy() for record in pending.values())
        return out

    def set_fields(self, item_id: str, **fields: Any) -> None:
        """Change stored fields of one item (story, stars, tags, hidden …) in this batch."""
        record = self.get(item_id)
        if record is None:
            return
        changed = {k: v for k, v in fields.items() if record.get(k) != v}
        if changed:
            record.update(changed)  # type: ignore[typeddict-item]
            self._put(record)

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

    def add_alerts(self, alerts: Iterable[Any]) -> None:
        """Remember raised alerts (``rules.Alert``); those older than 90 days go."""
        rows = [alert.to_dict() for alert in alerts]
        if not rows:
            return
        db, _ = self.store._state_db()
        table = db.table("alerts")
        limit = to_utc_iso(utcnow() - timedelta(days=90))
        kept = [dict(doc) for doc in table.all() if str(doc.get("at", "")) >= limit]
        table.truncate()
        table.insert_multiple([*kept, *rows])
        self._alerts_made.extend(rows)

    def pending_alerts(self) -> list[dict[str, Any]]:
        """Alerts an earlier batch raised and did not keep — its commit was cut after its
        items were stored and before `state.json` was written (``alerts.pending``); once
        per batch.  The caller raises again those whose story no alert holds yet."""
        if self._pending_taken:
            return []
        self._pending_taken = True
        return _read_pending(self.store.data_dir)

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
        expired = [d for d in tombstone_days(self.store.data_dir) if d < limit]
        if not old and not expired:
            return 0
        # the committed index's old items, less those this batch moved (or forgot), and
        # the ones this batch put in an old day
        doomed = set(self.identity.ids_before(limit)) - set(self._delta.items) if old else set()
        doomed |= {i for i, e in self._delta.items.items() if e is not None and e[0] < limit}
        removed = self._forget(doomed, now)  # the tombstones are written first
        # the files go at the commit, once the days this batch moved items to are written
        # (a run cut before it leaves them: pruned again next time, their keys tombstoned)
        for partition in old:
            self.store._partitions.pop(partition, None)
            self._pending.pop(partition, None)
            self._removed.pop(partition, None)
            self._doomed.append(self.store.items_dir / f"{partition}.json")
            self._delta.files["items/" + partition] = None
        for day in expired:
            self._doomed.append(self.store.data_dir / "tombstones" / f"{day}.json")
            self._delta.files["tombstones/" + day] = None
        self._delta.expire_before = limit
        if old:
            self._pruned_before = limit
        return removed

    def _forget(self, doomed: set[str], now: datetime, tombstone: bool = True) -> int:
        """Forget these items and every key naming them; with ``tombstone``, the keys are
        written to today's tombstone file first (so a pruned item never comes back)."""
        if not doomed:
            return 0
        keys = self.identity.keys_of(doomed)
        keys.update({k: i for k, (i, _seen) in self._delta.keys.items() if i in doomed})
        today = to_utc_iso(now)[:10]
        if tombstone and keys:
            stamp = write_tombstones(self.store, today, keys)
            self._delta.files["tombstones/" + today] = stamp
            self._delta.tombstones.update(dict.fromkeys(keys, today))
        for key in keys:
            self._delta.keys.pop(key, None)
            self._delta.gone.add(key)
        for item_id in doomed:
            self._delta.items[item_id] = None
            self._to_index.pop(item_id, None)
            self._added.discard(item_id)
            for records in self._pending.values():  # a version of it this batch made
                records.pop(item_id, None)
        self._forgotten |= doomed
        self._unindex |= doomed
        return len(doomed)

    def purge_feed(self, name: str, titles: Mapping[str, str] | None = None) -> int:
        """Drop the items only ``name`` carried; a story another feed carried too stays, under
        that feed (``titles``: display names of feeds); ``name`` leaves every ``also_in``."""
        doomed: set[str] = set()
        carried = set(self.identity.ids_of_feed(name))
        for item_id, entry in self._delta.items.items():
            if entry is not None and name in entry[1].split(","):
                carried.add(item_id)
        for item_id in sorted(carried):
            entry = self.entry(item_id)
            if entry is None or name not in entry[1].split(","):
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

    def _write_partitions(self) -> None:
        """Write every partition this batch changed, one at a time, each let go once written
        (a big update holds one day in memory, not every day it touches), with the newest
        days' heads (`heads.py`) and each file's stamp in the index.

        A day is patched (`_patch`) when it holds the very bytes this store last wrote;
        any other day (a removal, a file written elsewhere, damaged, or left by a commit
        that did not finish) is read, changed and written through TinyDB."""
        from .heads import HEAD_DAYS, keep_newest

        touched = set(self._pending) | set(self._removed)
        if not touched and not self._pruned_before:
            return
        days = set(self.store.partitions()) | touched
        newest = set(sorted(days, reverse=True)[:HEAD_DAYS])
        stamps = self._stamps()
        # what each day gains or changes first, what days lose after: a commit cut between
        # the day an item moved to and the day it left leaves two copies (the next writer
        # keeps the newer), never none — even for items that swap days
        removed, self._removed = self._removed, {}
        for partition, records in sorted(self._pending.items()):
            removed.get(partition, set()).difference_update(records)  # written: they stay
            self._write_one(partition, partition in newest, stamps)
        self._pending.clear()
        self._removed = {day: ids for day, ids in removed.items() if ids}
        for partition in sorted(self._removed):
            self._write_one(partition, partition in newest, stamps)
        self._removed.clear()
        self._added.clear()
        keep_newest(self.store.data_dir, days)

    def _write_one(self, partition: str, newest: bool, stamps: dict[str, Any]) -> None:
        """One day at a time, in a call of its own: nothing of a day outlives its write."""
        stamps[partition] = self._write_day(partition, newest, stamps)
        self._delta.files["items/" + partition] = stamps[partition]
        self.store._partitions.pop(partition, None)  # read again if asked again
        self.store._spans.pop(partition, None)

    def _stamps(self) -> dict[str, Any]:
        """Each day file's stamp as the identity index knows it (`_fingerprint`)."""
        if self._day_stamps is None:
            self._day_stamps = {
                name[6:]: found
                for name, found in self.identity.stamps().items()
                if name.startswith("items/")
            }
        return self._day_stamps

    def _write_day(self, partition: str, newest: bool, stamps: dict[str, Any]) -> Any:
        """Write one day's changes (patched, or through TinyDB) and its head; its stamp
        (with no CRC-32 when the day is never to be patched)."""
        from .heads import merge_head, read_head, write_head

        records = self._pending.get(partition, {})
        path = self.store.items_dir / f"{partition}.json"
        kept: Iterable[StoredItem] | None = None
        whole = True  # kept: all the day's records, or a head merged with the changes
        patchable, crc = True, None
        patched = None
        if not self._removed.get(partition):
            head = read_head(self.store.data_dir, partition, path) if newest else None
            patched = self._patch(path, records, stamps.get(partition))
            if patched is not None:
                everything, crc = patched
                merged = merge_head(head, records.values()) if head is not None else None
                if merged is not None:
                    kept, whole = merged, False
                elif newest:
                    kept = everything()
        if patched is None:  # read, changed and written whole
            table = self._table(partition)
            drop = set(self._removed.get(partition, ())) | set(records)
            present = [files.doc_id(i) for i in drop if table.contains(doc_id=files.doc_id(i))]
            if present:
                table.remove(doc_ids=present)
            if records:
                table.insert_multiple(
                    Document(r, doc_id=files.doc_id(i)) for i, r in records.items()
                )
            _db, storage = self.store._partition(partition)
            if storage.commit():
                crc = storage.crc  # of the bytes written: not read back
            if newest:
                kept = (storage._data or {}).get("items", {}).values()
            patchable = set(storage._data or {}) == {"items"}  # another table: never patched
        if kept is not None:
            write_head(self.store.data_dir, partition, path, kept, whole)
        if not patchable:
            found = files.stamp(path)
            return [*found, None] if found is not None else None
        return _fingerprint(path, crc)

    def _patch(
        self, path: Path, records: Mapping[str, StoredItem], known: Any
    ) -> tuple[Callable[[], list[StoredItem]], int] | None:
        """Write a day's new and changed records into a partition file this store last
        wrote (``known``: its stamp then) without decoding it, or holding it: each changed
        record's bytes replaced where they lie (`spans.py`), the new ones appended, the
        unchanged bytes copied a megabyte at a time; or write a new day.  None when the
        file must be read whole (not the file this store wrote, not laid out as kzfeed
        writes, a changed record not found where the spans say).  Returns how to read the
        day's records (for its head), and the CRC-32 of what was written."""
        if not records:
            return None
        added = {i: r for i, r in records.items() if i in self._added}
        changed = {files.doc_id(i): r for i, r in records.items() if i not in self._added}
        # one dump of the new records as a table, its braces off: `"id":{…},"id":{…}`
        new = memoryview(files.dumps({str(files.doc_id(i)): r for i, r in added.items()}))[1:-1]
        found = files.stamp(path)
        if found is None:  # a new day: these records are all it holds
            if changed:
                return None
            crc = self.store.save(path, [b'{"items":{', new, b"}}"])
            self._whole[path.stem] = list(records.values())
            return (lambda: list(records.values())), crc
        if not isinstance(known, list) or len(known) != 3 or found != known[:2] or known[2] is None:
            return None
        try:
            fh: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed below, once the day is written)
            if not REPLACES_OPEN_FILES:  # Windows: the old day's bytes are copied to memory
                with fh:
                    fh = io.BytesIO(fh.read())
        except OSError:
            return None
        with fh:
            try:
                pieces = self._pieces(fh, known[2], found[0], added, changed, new)
            except OSError:
                return None
            if pieces is None:
                return None
            crc = self.store.save(path, pieces)  # the day from fh; its backup, from the day

        def everything() -> list[StoredItem]:  # the day as just written
            return list(files.load_json(path).get("items", {}).values())

        return everything, crc

    @staticmethod
    def _pieces(
        fh: BinaryIO,
        crc: int,
        size: int,
        added: Mapping[str, StoredItem],
        changed: Mapping[int, StoredItem],
        new: memoryview,
    ) -> list[bytes | memoryview | files.Span] | None:
        """What a patched day is written from: spans of the old file ``fh`` (never read
        into memory), changed records between them, the new ones before the closing
        braces; None when the file is not the one this store wrote (``crc``, ``size``)."""
        from .spans import EMPTY, is_record, survey

        layout = survey(fh)
        # the very bytes this store wrote (damage in place keeps the size and time): else
        # the day is decoded, and damage is an error naming it, never patched, never backed
        # up; and ids the index does not know may be in it (a commit cut before the index
        # was written, its day rewritten since): those are stored through TinyDB, not twice
        spans = layout.at
        if layout.crc != crc or layout.size != size or spans is None:
            return None
        if any(files.doc_id(i) in spans for i in added):
            return None
        places = []
        for doc, record in changed.items():
            span = spans.get(doc)
            if span is None:
                return None
            fh.seek(span[0])
            try:
                found = files.loads(fh.read(span[1] - span[0]))
            except (ValueError, RecursionError):
                return None
            if not is_record(found, doc):
                return None
            places.append((span, record))
        pieces: list[bytes | memoryview | files.Span] = []
        at = 0
        for (start, end), record in sorted(places, key=lambda p: p[0]):
            pieces += [files.Span(fh, at, start), files.dumps(record)]
            at = end
        # only appended to: the old bytes up to the closing braces, whose CRC is known,
        # are copied by the kernel (`files.write_atomic`)
        known = layout.head_crc if at == 0 else None
        pieces.append(files.Span(fh, at, layout.size - 2, known))
        if added:
            pieces += [b"" if layout.size == len(EMPTY) else b",", new]
        pieces.append(b"}}")
        return pieces

    def _table(self, partition: str) -> Any:
        db, _ = self.store._partition(partition)
        return db.table("items")

    def commit(self) -> None:
        """Write every changed file: partitions first, then the index, then feed state."""
        from .termindex import is_pending, mark_pending

        self.store.seed_backups()
        # the alerts this batch raised, before anything of it is written: a commit cut
        # after its items but before state.json (which keeps the alerts) leaves them to the
        # next update, not lost with the run
        carried = [] if self._pending_taken else _read_pending(self.store.data_dir)
        if self._alerts_made:
            files.write_atomic(
                self.store.data_dir / ALERTS_PENDING,
                files.dumps({"alerts": [*carried, *self._alerts_made]}),
            )
        terms = bool(self._to_index or self._unindex or self._pruned_before or self._rebuild)
        if terms:  # until the term index holds them (an interrupted commit: the next one)
            mark_pending(self.store.data_dir, [*self._to_index, *self._unindex])
        self._flush_states()
        self._write_partitions()
        for path in self._doomed:  # pruned: after the days that took their moved items
            self.store.drop_file(path)
        self._doomed = []
        if terms or is_pending(self.store.data_dir):
            self._update_term_index()
        if self._delta:
            self.identity.apply(self._delta)
            self._delta = Delta()
            self._found.clear()
            self._buried.clear()
            self._forgotten.clear()
            self._day_stamps = None
            self._any_buried = None
        self._whole.clear()
        if self.store._state is not None:
            self.store._state[1].commit()
        if self._alerts_made or self._pending_taken:  # state.json holds them now
            path = self.store.data_dir / ALERTS_PENDING
            if carried:  # another batch's, not settled by this one: still pending
                files.write_atomic(path, files.dumps({"alerts": carried}))
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            self._alerts_made = []

    def release(self) -> None:
        """After a commit: let go of the partitions read so far (a big update keeps in
        memory only the ones it is writing; they are read again when written again)."""
        assert not self._pending and not self._removed, "commit first"
        self.store._partitions.clear()
        self.store._spans.clear()

    def rebuild_term_index(self) -> None:
        """Build ``terms.sqlite`` and ``identity.sqlite`` again from every partition
        (`kzfeed db reindex`)."""
        from .identity import remove as remove_identity
        from .termindex import remove

        remove(self.store.data_dir)
        if self.store._identity is not None:
            self.store._identity.close()
            self.store._identity = None
        remove_identity(self.store.data_dir)
        self.store.identity()  # built again now, from the files
        self._rebuild = True

    def _update_term_index(self) -> None:
        """Keep ``terms.sqlite`` in step with the partitions just written."""
        from .termindex import keep

        def every_partition() -> Iterator[list[StoredItem]]:
            for name in reversed(self.store.partitions()):  # rows in ascending order
                # a day this commit wrote new is not read back: its records are at hand
                whole = self._whole.pop(name) if name in self._whole else None
                yield whole if whole is not None else self.store.partition_items(name)
                if name not in self._pending:  # read once: not kept in memory
                    self.store._partitions.pop(name, None)

        keep(
            self.store.data_dir,
            every_partition,
            put=self._to_index.values(),
            forget=self._unindex,
            pruned_before=self._pruned_before,
            analysed=self.analysed,
            keys=self.story_keys,
            get=self.get,
        )
        self.analysed = {}
        self.story_keys = {}
        self._to_index.clear()
        self._unindex.clear()
        self._pruned_before = None
        self._rebuild = False


ALERTS_PENDING = "alerts.pending"


def _read_pending(data_dir: Path) -> list[dict[str, Any]]:
    """The alerts in ``alerts.pending`` (none when it is missing or damaged)."""
    path = data_dir / ALERTS_PENDING
    if not path.exists():  # the usual case: no file read
        return []
    try:
        found = files.load_json(path)
    except StoreError:  # damaged: it costs those alerts only
        return []
    rows = (found or {}).get("alerts", [])
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _crc(pieces: Iterable[bytes | memoryview]) -> int:
    crc = 0
    for piece in pieces:
        crc = zlib.crc32(piece, crc)
    return crc


def _fingerprint(path: Path, crc: int | None = None) -> list[int] | None:
    """What the index keeps of a day file this store wrote: its size, time (ns) and CRC-32
    (``crc``: of the bytes just written, when known; else read back)."""
    found = files.stamp(path)
    if found is None:
        return None
    if crc is None:
        try:
            with open(path, "rb") as fh:  # a megabyte at a time: a day is never held twice
                crc = _crc(iter(lambda: fh.read(files.CHUNK), b""))
        except OSError:
            return None
    return [*found, crc]


def retention_cutoff(days: int, now: datetime | None = None) -> datetime | None:
    if days <= 0:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


class _Keys:
    """The index's keys as dedup asks about them: key -> item id."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def get(self, key: str, /) -> str | None:
        found = self.writer.key(key)
        return found[0] if found is not None else None

    def __contains__(self, key: object, /) -> bool:
        return isinstance(key, str) and self.writer.key(key) is not None


class _Seen(_Keys):
    """key -> the content hash it last brought."""

    def get(self, key: str, /) -> str | None:
        found = self.writer.key(key)
        return found[1] if found is not None else None

    def __contains__(self, key: object, /) -> bool:
        return isinstance(key, str) and self.get(key) is not None


class _Tombstones(_Keys):
    """The keys of pruned items."""

    def get(self, key: str, /) -> str | None:
        return "" if self.writer.buried(key) else None

    def __contains__(self, key: object, /) -> bool:
        return isinstance(key, str) and self.writer.buried(key)
