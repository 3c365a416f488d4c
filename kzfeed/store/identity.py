"""The identity index (``identity.sqlite``): which stored item each key names, looked up.

Dedup asks, of each item a feed sends, whether its feed key or its link key names a stored
item, what content hash that key last brought, and whether the key was pruned (a
tombstone).  Those answers are looked up here a batch of keys at a time, never read whole:
an update costs what its news costs, not what the store holds (a year's index was a 60 MB
JSON file read whole, 335 MB in memory, and written whole with its backup by every update).

Derived, like ``terms.sqlite``: TinyDB stays the store of record.  Every record carries its
keys and what each last brought (``keys``: key -> content hash, "" for none), and every
prune leaves its tombstones in ``tombstones/<day>.json`` (written once, backed up, expired
whole), so the index is rebuilt from those files whenever it is missing, damaged or of
another version, and never backed up.

* ``items``: per stored item its publication time (so its day file) and its feeds;
* ``keys``: feed keys and link keys -> (item, content hash last stored);
* ``tombstones``: keys of pruned items -> the day they were pruned;
* ``files``: the size and time (ns) of each day file and tombstone file as the index last
  took it in, and the day file's CRC-32 when this store wrote it whole (`Writer._patch`).

A commit writes the day files first and the index last, in one transaction.  A commit cut
in between leaves day files whose size or time the index does not know: the next writer
takes those days in again from the files (`catch_up`), and days that are gone out.  Keys
and ids are 16 hex digits, kept as 8 bytes.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import StoreError
from . import files

if TYPE_CHECKING:
    import sqlite3

    from . import Store

NAME = "identity.sqlite"
BUILDING = "identity.sqlite.building"  # a whole index being built, put in place when done
VERSION = "2"  # 2: no secondary indexes (a fifth of the file): the rare scans pay instead
TOMBSTONES = "tombstones"
LEGACY = "index.json"  # the identity index before this one (schemas 1 and 2)
LEGACY_IDS = "ids.bin"
CHUNK = 500  # keys looked up in one query
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS items (id BLOB PRIMARY KEY, published TEXT, feeds TEXT)"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS keys (key BLOB PRIMARY KEY, id BLOB, seen BLOB) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS tombstones (key BLOB PRIMARY KEY, day TEXT) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, size INTEGER, mtime INTEGER,"
    " crc INTEGER) WITHOUT ROWID",
)


def pack(key: str) -> bytes | str:
    """A key or id as stored: 16 hex digits as their 8 bytes (anything else as it is)."""
    if len(key) == 16:
        try:
            return bytes.fromhex(key)
        except ValueError:
            pass
    return key


def unpack(value: bytes | str) -> str:
    return value.hex() if isinstance(value, bytes) else value


def record_keys(record: Mapping[str, Any]) -> dict[str, str]:
    """The keys a record carries (key -> content hash last stored, "" for none); a record
    written before records carried them is known by its id."""
    found = record.get("keys")
    if isinstance(found, dict) and found:
        return {str(k): str(v or "") for k, v in found.items()}
    return {str(record["id"]): str(record.get("hash") or "")}


def carried_feeds(record: Mapping[str, Any]) -> str:
    from ..model import carrying_feeds

    return ",".join(carrying_feeds(cast(Any, record)))


@dataclass
class Delta:
    """What one commit changes in the index (applied in one transaction)."""

    items: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # None: forgotten
    keys: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # key -> (id, seen)
    gone: set[str] = field(default_factory=set)  # keys of forgotten items
    tombstones: dict[str, str] = field(default_factory=dict)  # key -> day pruned
    expire_before: str | None = None  # tombstones of days before this one go
    files: dict[str, list[Any] | None] = field(default_factory=dict)  # None: the file is gone

    def __bool__(self) -> bool:
        return bool(
            self.items
            or self.keys
            or self.gone
            or self.tombstones
            or self.files
            or self.expire_before
        )


class Identity:
    """An open ``identity.sqlite`` (or an empty one in memory, for a store with nothing)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @classmethod
    def open(cls, data_dir: Path, create: bool = False, name: str = NAME) -> Identity | None:
        """The index of a data dir; None when there is none (and ``create`` is false) or it
        cannot be read as one of this version (then it is removed when ``create``)."""
        from .derived import open_index

        db = open_index(data_dir / name, _SCHEMA, VERSION, create)
        return cls(db) if db is not None else None

    @classmethod
    def empty(cls) -> Identity:
        import sqlite3

        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        for statement in _SCHEMA:
            db.execute(statement)
        return cls(db)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        from .derived import transaction

        return transaction(self.db)

    # ------------------------------------------------------------------ reading

    def lookup(self, keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """Of these keys, those that name a stored item: key -> (id, content hash)."""
        found: dict[str, tuple[str, str | None]] = {}
        for key, item_id, seen in self._among("SELECT key, id, seen FROM keys WHERE key", keys):
            found[unpack(key)] = (unpack(item_id), unpack(seen) if seen else None)
        return found

    def _among(self, query: str, values: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query`` + " IN (...)" for these keys or ids, 500 at a time."""
        wanted = [pack(v) for v in dict.fromkeys(values)]
        for at in range(0, len(wanted), CHUNK):
            part = wanted[at : at + CHUNK]
            marks = ",".join("?" * len(part))  # placeholders only: the values are bound
            yield from self.db.execute(f"{query} IN ({marks})", part)

    def tombstoned(self, keys: Iterable[str]) -> set[str]:
        """Of these keys, those of pruned items."""
        return {unpack(key) for (key,) in self._among("SELECT key FROM tombstones WHERE key", keys)}

    def days_of(self, ids: Iterable[str]) -> dict[str, str]:
        """Of these items, those the index holds: id -> its day."""
        rows = self._among("SELECT id, published FROM items WHERE id", ids)
        return {unpack(i): str(p)[:10] for i, p in rows}

    def entry(self, item_id: str) -> tuple[str, list[str]] | None:
        """(published, feeds) of a stored item; None when there is none."""
        row = self.db.execute(
            "SELECT published, feeds FROM items WHERE id = ?", (pack(item_id),)
        ).fetchone()
        if row is None:
            return None
        return str(row[0]), str(row[1]).split(",") if row[1] else []

    def ids(self) -> list[str]:
        """Every stored item's id, in order."""
        return [unpack(i) for (i,) in self.db.execute("SELECT id FROM items ORDER BY id")]

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM items").fetchone()[0])

    def ids_before(self, published: str) -> list[str]:
        """The items published before this time (ISO UTC, or a day)."""
        rows = self.db.execute("SELECT id FROM items WHERE published < ?", (published,))
        return [unpack(item_id) for (item_id,) in rows]

    def keys_of(self, ids: Collection[str]) -> dict[str, str]:
        """Every key naming one of these items: key -> id (one pass over the keys: a prune,
        a purge)."""
        if not ids:
            return {}
        self._want(ids)
        rows = self.db.execute("SELECT key, id FROM keys WHERE id IN (SELECT id FROM temp.wanted)")
        return {unpack(key): unpack(item_id) for key, item_id in rows}

    def _want(self, ids: Iterable[str]) -> None:
        """These ids in the temporary table ``wanted`` (for one pass over a table)."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (id BLOB PRIMARY KEY)")
        self.db.execute("DELETE FROM temp.wanted")
        self.db.executemany(
            "INSERT OR IGNORE INTO temp.wanted VALUES (?)", ((pack(i),) for i in ids)
        )

    def has_tombstones(self) -> bool:
        return self.db.execute("SELECT 1 FROM tombstones LIMIT 1").fetchone() is not None

    def with_prefix(self, prefix: str, limit: int = 50) -> list[str]:
        """Stored ids starting with these hex digits (at most ``limit``), in order."""
        padded = prefix + "0" * (16 - len(prefix))
        low = bytes.fromhex(padded[:16])
        rows = self.db.execute(
            "SELECT id FROM items WHERE id >= ? ORDER BY id LIMIT ?", (low, limit)
        )
        return [i for i in (unpack(r[0]) for r in rows) if i.startswith(prefix)]

    def neighbours(self, item_id: str) -> tuple[str | None, str | None] | None:
        """The stored ids just before and after ``item_id``; None when it is not stored."""
        key = pack(item_id)
        if self.db.execute("SELECT 1 FROM items WHERE id = ?", (key,)).fetchone() is None:
            return None
        before = self.db.execute(
            "SELECT id FROM items WHERE id < ? ORDER BY id DESC LIMIT 1", (key,)
        ).fetchone()
        after = self.db.execute(
            "SELECT id FROM items WHERE id > ? ORDER BY id LIMIT 1", (key,)
        ).fetchone()
        return (unpack(before[0]) if before else None, unpack(after[0]) if after else None)

    def feed_rows(self) -> Iterator[tuple[str, str, int]]:
        """(feeds, newest published, how many) per distinct set of feeds."""
        rows = self.db.execute("SELECT feeds, max(published), count(*) FROM items GROUP BY feeds")
        for feeds, newest, count in rows:
            yield str(feeds or ""), str(newest), int(count)

    def ids_of_feed(self, name: str) -> list[str]:
        """The items ``name`` carried (first or as another feed's copy)."""
        rows = self.db.execute("SELECT id, feeds FROM items WHERE instr(feeds, ?) > 0", (name,))
        return [unpack(i) for i, feeds in rows if name in str(feeds).split(",")]

    def stamps(self) -> dict[str, list[Any]]:
        """name -> [size, time ns, CRC-32 or None] of the files the index took in."""
        rows = self.db.execute("SELECT name, size, mtime, crc FROM files")
        return {str(name): [size, mtime, crc] for name, size, mtime, crc in rows}

    def all_rows(self) -> tuple[dict[str, str], dict[str, tuple[str, str | None]], set[str]]:
        """Everything (`db check`): id -> published, key -> (id, seen), tombstoned keys."""
        items = {unpack(i): str(p) for i, p in self.db.execute("SELECT id, published FROM items")}
        keys = {
            unpack(k): (unpack(i), unpack(s) if s else None)
            for k, i, s in self.db.execute("SELECT key, id, seen FROM keys")
        }
        gone = {unpack(k) for (k,) in self.db.execute("SELECT key FROM tombstones")}
        return items, keys, gone

    # ------------------------------------------------------------------ writing

    def apply(self, delta: Delta) -> None:
        """A commit's changes, in one transaction."""
        if not delta:
            return
        # in key order: each B-tree page is visited once, not once per row
        items = sorted(
            ((pack(i), entry[0], entry[1]) for i, entry in delta.items.items() if entry),
            key=_in_order,
        )
        keys = sorted(
            (
                (pack(k), pack(i), pack(seen) if seen else None)
                for k, (i, seen) in delta.keys.items()
            ),
            key=_in_order,
        )
        with self._transaction():
            gone = [(pack(i),) for i, entry in delta.items.items() if entry is None]
            self.db.executemany("DELETE FROM keys WHERE key = ?", ((pack(k),) for k in delta.gone))
            self.db.executemany("DELETE FROM items WHERE id = ?", gone)
            self.db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", items)
            self.db.executemany("INSERT OR REPLACE INTO keys VALUES (?, ?, ?)", keys)
            if delta.expire_before is not None:
                self.db.execute("DELETE FROM tombstones WHERE day < ?", (delta.expire_before,))
            self.db.executemany(
                "INSERT OR REPLACE INTO tombstones VALUES (?, ?)",
                ((pack(k), day) for k, day in delta.tombstones.items()),
            )
            self._stamp(delta.files)

    def _stamp(self, stamps: Mapping[str, list[Any] | None]) -> None:
        for name, found in stamps.items():
            if found is None:
                self.db.execute("DELETE FROM files WHERE name = ?", (name,))
            else:
                crc = found[2] if len(found) > 2 else None
                self.db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                    (name, found[0], found[1], crc),
                )

    def take_day(
        self,
        day: str,
        records: Iterable[Mapping[str, Any]],
        stamp: list[Any],
        moved: Collection[str] = (),
    ) -> None:
        """A day file as it is on disk: what the index held of the day is replaced by its
        records (an item that moved to another day leaves with it; ``moved``: items of it
        the index held in another day, whose keys its records now say), in one
        transaction."""
        items, keys = day_rows(records)  # first: a record that cannot be made a row raises
        with self._transaction():
            self._drop_day(day, moved)
            self.db.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", items)
            self.db.executemany("INSERT OR REPLACE INTO keys VALUES (?, ?, ?)", keys)
            self._stamp({"items/" + day: stamp})

    def drop_day(self, day: str) -> None:
        """A day file that is gone: its items leave the index."""
        with self._transaction():
            self._drop_day(day)
            self._stamp({"items/" + day: None})

    def _drop_day(self, day: str, moved: Collection[str] = ()) -> None:
        """What the index holds of a day (and of the ``moved`` items), gone: a pass over
        the items and one over the keys — only a day the index has not taken in, or that
        is gone, comes here."""
        ids = self.db.execute(
            "SELECT id FROM items WHERE published >= ? AND published < ?", (day, day + "~")
        ).fetchall()
        ids += [(pack(i),) for i in moved]
        if not ids:
            return
        self._want(unpack(i) for (i,) in ids)
        self.db.execute("DELETE FROM keys WHERE id IN (SELECT id FROM temp.wanted)")
        self.db.executemany("DELETE FROM items WHERE id = ?", ids)

    def take_tombstones(self, day: str, keys: Iterable[str] | None, stamp: list[Any]) -> None:
        """A tombstone file as it is on disk (``keys`` None: it is gone)."""
        with self._transaction():
            self.db.execute("DELETE FROM tombstones WHERE day = ?", (day,))
            if keys is not None:
                self.db.executemany(
                    "INSERT OR REPLACE INTO tombstones VALUES (?, ?)",
                    ((pack(k), day) for k in keys),
                )
            self._stamp({TOMBSTONES + "/" + day: stamp if keys is not None else None})


def day_rows(
    records: Iterable[Mapping[str, Any]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The index's rows for a day's records: (items, keys)."""
    items, keys = [], []
    for record in records:
        item_id = str(record["id"])
        items.append((pack(item_id), str(record["published"]), carried_feeds(record)))
        for key, seen in record_keys(record).items():
            keys.append((pack(key), pack(item_id), pack(seen) if seen else None))
    return items, keys


def _in_order(row: tuple[Any, ...]) -> bytes:
    """A row's place in its table (a key that is not 8 bytes, as text, after them all)."""
    first = row[0]
    return first if isinstance(first, bytes) else b"\xff" + str(first).encode()


def remove(data_dir: Path, name: str = NAME) -> None:
    from .derived import remove_index

    remove_index(data_dir / name)


def tombstone_days(data_dir: Path) -> list[str]:
    """The days of the tombstone files, oldest first."""
    from .index import PARTITION_RE

    try:
        names = [p.name for p in (data_dir / TOMBSTONES).iterdir()]
    except FileNotFoundError:
        return []
    return sorted(m.group(1) for n in names if (m := PARTITION_RE.match(n)))


def read_tombstones(path: Path) -> list[str]:
    data = files.load_json(path)
    keys = (data or {}).get("keys", [])
    if not isinstance(keys, list):
        raise StoreError(f"{path}: not a list of keys" + files.restore_hint())
    return [str(k) for k in keys]


def catch_up(store: Store, ident: Identity) -> int:
    """Take in every day file and tombstone file whose size or time the index does not
    know (written by a commit that did not finish, restored, or never taken in), and let
    go of those that are gone; returns how many files were taken in.  A day file that
    cannot be read is left as the index knew it (the commands that read it say why)."""
    known = ident.stamps()
    on_disk = _on_disk(store)
    taken = 0
    for name in sorted(set(known) - set(on_disk)):
        kind, _, day = name.partition("/")
        if kind == "items":
            ident.drop_day(day)
        else:
            ident.take_tombstones(day, None, [])
    # oldest file first: an item found in two day files (a commit that moved it to another
    # day cut between the two writes) is where the newer file has it: its copy in the other
    # file is taken out of that file before the newer one is taken in, and that day is
    # taken in again (a kill in between leaves a day file the index does not know: taken
    # in by the next writer, as any other)
    changed = [(n, f) for n, f in on_disk.items() if known.get(n, [None, None])[:2] != f]
    for name, found in sorted(changed, key=lambda nf: (nf[1][1], nf[0])):
        kind, _, day = name.partition("/")
        try:
            if kind == "items":
                for other in _take_day(store, ident, day, found):
                    again = files.stamp(store.items_dir / f"{other}.json")
                    if again is not None:
                        _take_day(store, ident, other, again)
            else:
                keys = read_tombstones(store.data_dir / TOMBSTONES / f"{day}.json")
                ident.take_tombstones(day, keys, found)
        except (StoreError, AttributeError, TypeError, ValueError, KeyError):
            continue  # not a day kzfeed could have written: left as the index knew it
        taken += 1
    return taken


def _on_disk(store: Store) -> dict[str, list[int]]:
    """The stamps of the day files and tombstone files as they are now."""
    on_disk: dict[str, list[int]] = {}
    for day in store.partitions():
        found = files.stamp(store.items_dir / f"{day}.json")
        if found is not None:
            on_disk["items/" + day] = found
    for day in tombstone_days(store.data_dir):
        found = files.stamp(store.data_dir / TOMBSTONES / f"{day}.json")
        if found is not None:
            on_disk[TOMBSTONES + "/" + day] = found
    return on_disk


def behind(store: Store, ident: Identity) -> bool:
    """Whether a file changed since the index took it in (a commit cut short: the next
    writer takes it in)."""
    known = {name: found[:2] for name, found in ident.stamps().items()}
    return known != _on_disk(store)


def _take_day(store: Store, ident: Identity, day: str, found: list[int]) -> set[str]:
    """A day file taken in as it is, after the older copies of its items in other day
    files are taken out of those files; returns those days."""
    path = store.items_dir / f"{day}.json"
    raw = files.read_store_file(path)
    data = files.decode_store_file(path, raw) if raw is not None else {}
    table = data.get("items", {})
    records = [r for r in table.values() if _is_record(r)]
    # the CRC-32 lets the next commit patch the day (`Writer._patch`)
    crc = zlib.crc32(raw) if raw is not None and set(data) == {"items"} else None
    day_rows(records)  # a record that cannot be made a row raises here, before any change
    moved = {
        i: other for i, other in ident.days_of([r["id"] for r in records]).items() if other != day
    }
    others: dict[str, set[str]] = {}
    for item_id, other in moved.items():
        others.setdefault(other, set()).add(item_id)
    for other, ids in sorted(others.items()):
        _drop_copies(store, other, ids)
    ident.take_day(day, records, [*found, crc], moved)
    return set(others)


def _drop_copies(store: Store, day: str, ids: set[str]) -> None:
    """Take out of a day file the older copies of items a newer day file holds."""
    path = store.items_dir / f"{day}.json"
    try:
        data = files.load_json(path)
    except StoreError:
        return
    table = (data or {}).get("items")
    if not isinstance(table, dict):
        return
    doomed = [k for k, r in table.items() if _is_record(r) and r["id"] in ids]
    if not doomed:
        return
    for k in doomed:
        del table[k]
    store.save(path, files.dumps(data))


def _is_record(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("id"), str)
        and isinstance(value.get("published"), str)
        and isinstance(value.get("also_in", []), list)
        and all(isinstance(a, dict) for a in value.get("also_in", []))
    )


def migrate(store: Store) -> None:
    """A store whose identity index is ``index.json`` (schemas 1 and 2), brought to this
    one, once: every record gets the keys the old index gave it (each day file written
    again), the tombstones go to tombstone files, and the old index and id list go.  Cut
    short, it starts again: the old index goes only once all is done."""
    from .index import SCHEMA, upgrade_index

    legacy_path = store.data_dir / LEGACY
    data = files.load_json(legacy_path)
    if data is None:
        return
    if data.get("schema") == 1:
        data = upgrade_index(data, legacy_path)
    elif data.get("schema") != SCHEMA:
        from ..words import tr

        raise StoreError(
            tr("{path}: unknown schema {schema}").format(
                path=legacy_path, schema=repr(data.get("schema"))
            )
        )
    try:
        keys: dict[str, str] = data["keys"]
        seen: dict[str, str] = data["seen"]
        tombstones: dict[str, str] = data.get("tombstones") or {}
        if not all(isinstance(t, dict) for t in (keys, seen, tombstones, data["items"])):
            raise TypeError
    except (KeyError, TypeError, AttributeError):
        raise StoreError(f"{legacy_path}: a malformed index" + files.restore_hint()) from None
    del data
    by_id: dict[str, dict[str, str]] = {}
    while keys:  # taken apart as it is read: not held twice
        key, item_id = keys.popitem()
        by_id.setdefault(item_id, {})[key] = seen.pop(key, "")
    del seen
    for day in store.partitions():
        # a damaged day stops the move (StoreError naming it): the old index stays, and
        # once `db restore` has brought the day back the move starts again
        path = store.items_dir / f"{day}.json"
        day_data = files.load_json(path)
        if _with_keys(day_data, by_id):
            store.save(path, files.dumps(day_data))
        # the version that write replaced (`db restore --previous` brings it back) too
        previous = store.backup_dir / "previous" / "items" / f"{day}.json"
        try:
            old = files.load_json(previous)
        except StoreError:
            continue
        if _with_keys(old, by_id):
            files.write_atomic(previous, files.dumps(old))
    del by_id
    by_day: dict[str, list[str]] = {}
    for key, day in tombstones.items():
        by_day.setdefault(str(day)[:10], []).append(key)
    for day, day_keys in by_day.items():
        write_tombstones(store, day, day_keys)


def _with_keys(data: Any, by_id: Mapping[str, dict[str, str]]) -> bool:
    """Give each record of a day file's data the keys the old index gave it; whether the
    data is a day of records."""
    table = data.get("items") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        return False
    for record in table.values():
        if _is_record(record):
            record["keys"] = by_id.get(record["id"]) or record_keys(record)
    return True


def write_tombstones(store: Store, day: str, keys: Iterable[str]) -> list[int] | None:
    """Add keys to the tombstone file of ``day`` (written with its backup); its stamp."""
    path = store.data_dir / TOMBSTONES / f"{day}.json"
    known = read_tombstones(path) if path.exists() else []
    merged = sorted(set(known) | set(keys))
    path.parent.mkdir(parents=True, exist_ok=True)
    store.save(path, files.dumps({"keys": merged}))
    return files.stamp(path)


def sync(store: Store) -> Identity:
    """The index of a store whose lock is held, brought up to date with its files: built
    from them when missing, damaged or of another version; moved over from ``index.json``
    the first time."""
    data_dir = store.data_dir
    legacy = data_dir / LEGACY
    if legacy.exists():
        remove(data_dir)  # a migration cut short starts again
        migrate(store)
    ident = Identity.open(data_dir)
    if ident is None:  # built whole beside it, then put in place: no reader sees it half made
        remove(data_dir, BUILDING)
        built = Identity.open(data_dir, create=True, name=BUILDING)
        if built is None:
            raise StoreError(f"{data_dir / NAME}: cannot be created" + files.restore_hint())
        try:
            catch_up(store, built)
            built.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            built.close()
        remove(data_dir)
        os.replace(data_dir / BUILDING, data_dir / NAME)
        remove(data_dir, BUILDING)
        ident = Identity.open(data_dir)
        if ident is None:
            raise StoreError(f"{data_dir / NAME}: cannot be read" + files.restore_hint())
    else:
        catch_up(store, ident)
    for old in (LEGACY, LEGACY_IDS):
        with contextlib.suppress(OSError):
            (data_dir / old).unlink()
        for kept in ("last", "previous"):
            with contextlib.suppress(OSError):
                (store.backup_dir / kept / old).unlink()
    return ident
