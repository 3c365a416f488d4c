"""The term index (``terms.sqlite``): each stored item's terms, for search and for stories.

Derived from the partitions, like ``identity.sqlite``: kept by the store's write path (the writer
indexes what a batch adds or edits and forgets what it drops, after the partitions and
before the identity index are written), rebuilt whole when it is missing, damaged or of
another version, never backed up.  TinyDB stays the store of record.

* ``search`` (SQLite FTS5): per item the terms of its title and of its title and text
  (`terms.py`: folded, transliterated, stemmed), so a query's words find their items
  without reading or stemming a single partition; the query's other conditions (phrases,
  -words, fields, the listing filters) are then checked on those items only.
* ``items``: per item what story grouping reads (its term bag, anchors and figures), its
  story and its keys (the anchors and heaviest terms that find its story, made when it was
  grouped); ``keys``: the items of each key.  An update counts the window's terms and
  anchors, looks up the stories of its new items' keys and reads the items of the stories
  it scores (`window`): the window itself is never read whole, nor recomputed.

Rows are keyed by publication time (`row_key`), so matches come newest first and a search
stops when it has shown enough.  A search that finds the index stale (its item count is
not the store's, or a commit's changes not yet in it) falls back to reading the partitions.

A commit writes the partitions before the index: ``terms.pending`` names the items whose
terms it changes, written before the partitions and removed once the index holds them.  A
commit interrupted in between (Ctrl-C, a kill, a full disk) leaves it, and the next commit
indexes those items again as the partitions hold them — an edited title would otherwise
keep its old terms for good, its item count unchanged.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import StoredItem

if TYPE_CHECKING:
    from ..grouping import Analysis
    from ..stories import Features, Stored

DatabaseError = sqlite3.Error  # what reading the index may raise (damage, a full disk …)
NAME = "terms.sqlite"
PENDING = "terms.pending"  # the items a commit under way changes (see above)
PUT_BATCH = 1000  # items made into rows and inserted at once
# of the terms, the features and this schema: another one is rebuilt.  9: 8 kept, for the
# items an update put in an older story, their own id as their story (`Writer._put`), and
# an update's grouping then found a story by it: stories split
VERSION = "9"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    # title, text: the terms of the title and of the text; story: the rest of what
    # grouping reads (anchors, figures, dates: grouping.dump_story_fields); grp: the
    # item's story; keys: what finds it (anchors and "t:" heaviest terms, space-separated)
    "CREATE TABLE IF NOT EXISTS items (row INTEGER PRIMARY KEY, id TEXT, day TEXT,"
    " published TEXT, title TEXT, text TEXT, story TEXT, grp TEXT, keys TEXT)",
    "CREATE INDEX IF NOT EXISTS items_day ON items (day)",
    "CREATE INDEX IF NOT EXISTS items_id ON items (id)",
    "CREATE INDEX IF NOT EXISTS items_grp ON items (grp, row)",
    "CREATE TABLE IF NOT EXISTS keys (key TEXT, row INTEGER, grp TEXT,"
    " PRIMARY KEY (key, row)) WITHOUT ROWID",
    # the words' index only: its text is the items table's (external content)
    "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(title, text, content = 'items',"
    " content_rowid = 'row', detail = column,"
    " tokenize = \"unicode61 remove_diacritics 0 tokenchars '.'\")",
)


def row_key(published: str, item_id: str) -> int:
    """An item's row: its publication time in seconds, then 24 bits of its id — so the
    words' index hands out its matches newest first, and a search reads only as many as
    it shows."""
    from ..dates import from_iso

    return (int(from_iso(published).timestamp()) << 24) | int(item_id[:6], 16)


def row_span(start: str, end: str) -> tuple[int, int]:
    """The rows of the items published from ``start`` to ``end`` (ISO, whole seconds)."""
    from ..dates import from_iso

    return (
        int(from_iso(start).timestamp()) << 24,
        ((int(from_iso(end).timestamp()) + 1) << 24) - 1,
    )


def pieces(term: str) -> list[str]:
    """A term as FTS5 splits it: at anything but letters, digits and '.'."""
    return "".join(ch if ch.isalnum() or ch == "." else " " for ch in term).split()


class TermIndex:
    """An open ``terms.sqlite``."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    @classmethod
    def open(cls, data_dir: Path, create: bool = False) -> TermIndex | None:
        """The index of a data dir; None when there is none (and ``create`` is false) or
        it cannot be read as one of this version (then it is removed when ``create``)."""
        from .derived import open_index, remove_index

        for _attempt in (1, 2):
            db = open_index(data_dir / NAME, _SCHEMA, VERSION, create)
            if db is None:
                return None
            try:
                building = db.execute("SELECT 1 FROM meta WHERE key = 'building'").fetchone()
            except sqlite3.Error:
                building = (1,)
            if building is None:
                return cls(data_dir / NAME, db)
            db.close()  # a whole build cut short (Ctrl-C, a kill): not to be trusted
            if not create:
                return None
            remove_index(data_dir / NAME)
        return None

    def building(self, underway: bool) -> None:
        """Mark the index as being built whole (every day put in, a transaction a day),
        or as built: one whose build was cut short is built again, never read."""
        with self._transaction():
            if underway:
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('building', '1')")
            else:
                self.db.execute("DELETE FROM meta WHERE key = 'building'")

    def close(self) -> None:
        self.db.close()

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def empty(self) -> bool:
        """Whether it holds no item (not counted: a count reads every row's page)."""
        return self.db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None

    # ------------------------------------------------------------------ writing

    def put(
        self,
        records: Iterable[StoredItem],
        analysed: Mapping[str, Analysis] | None = None,
        keys: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """Index (or index again) these items, in one transaction (``analysed``: their
        terms and features, ``keys``: their story keys, where the caller made them
        already; the others' keys are made with the term weights of their days)."""
        from ..grouping import analyse

        given = sorted(records, key=lambda r: (r["published"], r["id"]))  # B-tree pages full
        if not given:
            return
        made = {r["id"]: (analysed or {}).get(r["id"]) or analyse(r) for r in given}
        keys = dict(keys or {})
        keyless = [r for r in given if r["id"] not in keys]
        if keyless:
            keys.update(self._keys_of(keyless, {i: a[2] for i, a in made.items()}))
        with self._transaction():
            self._unindex([r["id"] for r in given])
            wanted = [row_key(r["published"], r["id"]) for r in given]
            taken = self._taken(wanted)  # of the rows wanted, those other items hold
            # the rows go in a thousand items at a time: a part of 10,000 items made into
            # rows at once held 50 MB of them (each item's terms joined, its keys …)
            for at in range(0, len(given), PUT_BATCH):
                self._insert(
                    given[at : at + PUT_BATCH], wanted[at : at + PUT_BATCH], taken, made, keys
                )

    def _insert(
        self,
        given: Sequence[StoredItem],
        wanted: Sequence[int],
        taken: set[int],
        made: Mapping[str, Analysis],
        keys: Mapping[str, frozenset[str]],
    ) -> None:
        """One batch of items' rows, each at its row key or the next free one."""
        from ..grouping import dump_story_fields
        from ..model import story_of

        items: list[tuple[object, ...]] = []
        search: list[tuple[int, str, str]] = []
        keyed: list[tuple[str, int, str]] = []
        for record, row in zip(given, wanted, strict=True):
            if row in taken:  # the same second and the same 24 bits: the next free row
                row += 1
                while row in taken or self._held(row):
                    row += 1
            taken.add(row)
            title, text, found = made[record["id"]]
            story = story_of(record)
            its_keys = sorted(keys[record["id"]])
            titled, texted = " ".join(title), " ".join(text)
            items.append(
                (
                    row,
                    record["id"],
                    record["published"][:10],
                    record["published"],
                    titled,
                    texted,
                    dump_story_fields(found),
                    story,
                    " ".join(its_keys),
                )
            )
            search.append((row, titled, texted))
            keyed.extend((k, row, story) for k in its_keys)
        self.db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", items)
        self.db.executemany("INSERT INTO search (rowid, title, text) VALUES (?, ?, ?)", search)
        self.db.executemany("INSERT INTO keys VALUES (?, ?, ?)", keyed)

    def _taken(self, rows: Sequence[int]) -> set[int]:
        """Which of these rows the index holds (asked row by row, 500 at a time: a range
        query over a dense wire's 48 hours read back 220,000 rows to find none)."""
        ordered = sorted(set(rows))
        return {r for (r,) in self._rows_in("SELECT row FROM items WHERE row IN ({})", ordered)}

    def _rows_in(
        self, query: str, values: Sequence[Any], after: tuple[Any, ...] = ()
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query`` (its ``IN ({})`` filled with one "?" a value, then
        ``after``'s parameters), asked 500 values at a time: a query for 500, not one a
        value, and within SQLite's bound on parameters."""
        for at in range(0, len(values), 500):
            chunk = values[at : at + 500]
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(query.format(marks), (*chunk, *after))

    def _held(self, row: int) -> bool:
        return self.db.execute("SELECT 1 FROM items WHERE row = ?", (row,)).fetchone() is not None

    def _keys_of(
        self, records: Sequence[StoredItem], found: Mapping[str, Features]
    ) -> dict[str, frozenset[str]]:
        """Story keys for items no grouping made them for (an edit, a rebuild): weighted
        by the terms of their days (the indexed items of those days and these)."""
        from collections import Counter

        from ..stories import index_keys, term_weights

        given = {r["id"] for r in records}
        days = sorted({r["published"][:10] for r in records})
        seen: Counter[str] = Counter()
        documents = 0
        for item_id, title, text in self._rows_in(
            "SELECT id, title, text FROM items WHERE day IN ({})", days
        ):
            if item_id not in given:
                documents += 1
                seen.update({*title.split(), *text.split()})
        for record in records:
            documents += 1
            seen.update(found[record["id"]].terms.keys())
        weights = term_weights(seen, documents)
        return {r["id"]: index_keys(found[r["id"]], weights) for r in records}

    def _unindex(self, ids: Iterable[str]) -> None:
        """Take items out of the words' index (with the text it was built from), then out
        of the tables."""
        query = "SELECT row, title, text, keys FROM items WHERE id IN ({})"
        for row, title, text, keys in list(self._rows_in(query, list(ids))):
            self.db.execute(
                "INSERT INTO search (search, rowid, title, text) VALUES ('delete', ?, ?, ?)",
                (row, title, text),
            )
            self.db.executemany(
                "DELETE FROM keys WHERE key = ? AND row = ?",
                [(key, row) for key in (keys or "").split()],
            )
            self.db.execute("DELETE FROM items WHERE row = ?", (row,))

    def forget(self, ids: Iterable[str]) -> None:
        with self._transaction():
            self._unindex(ids)

    def forget_before(self, day: str) -> None:
        """Drop the items of partitions older than ``day`` (pruned)."""
        with self._transaction():
            ids = [i for (i,) in self.db.execute("SELECT id FROM items WHERE day < ?", (day,))]
            self._unindex(ids)

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        from .derived import transaction

        return transaction(self.db)

    # ------------------------------------------------------------------ reading

    def window(self, start: str, end: str, leave_out: Iterable[str] = ()) -> Stored:
        """What story grouping reads of the items published from ``start`` to ``end``
        (ISO UTC) but ``leave_out``, asked as it goes: how many there are; how many hold a
        term (the words' index, by the rows' range) or an anchor (the keys); the stories
        of a key; the items of a story.  Nothing is read for the window as a whole, so its
        cost follows the new items, not the window.  The caller keeps the index open."""
        from collections import Counter

        from ..grouping import indexed_features
        from ..stories import CROWDED, Stored

        span = row_span(start, end)
        left = set(leave_out)
        # the left-out items the index still holds (the items a batch drops): not counted
        gone_terms: Counter[str] = Counter()
        gone_anchors: Counter[str] = Counter()
        gone = 0
        query = "SELECT title, text, keys FROM items WHERE id IN ({}) AND row BETWEEN ? AND ?"
        for title, text, keys in self._rows_in(query, sorted(left), span):
            gone += 1
            gone_terms.update({*title.split(), *text.split()})
            gone_anchors.update(k for k in keys.split() if not k.startswith("t:"))
        documents = self.db.execute(
            "SELECT COUNT(*) FROM items WHERE row BETWEEN ? AND ?", span
        ).fetchone()[0]

        def count_terms(terms: Iterable[str]) -> dict[str, int]:
            counted: dict[str, int] = {}
            for term in terms:
                parts = pieces(term)  # a term FTS5 splits: the items holding every piece
                if not parts:
                    continue
                found = (
                    self.db.execute(
                        "SELECT COUNT(*) FROM search WHERE search MATCH ?"
                        " AND rowid BETWEEN ? AND ?",
                        (" AND ".join(f'"{part}"' for part in parts), *span),
                    ).fetchone()[0]
                    - gone_terms[term]
                )
                if found > 0:
                    counted[term] = found
            return counted

        def count_anchors(anchors: Iterable[str]) -> dict[str, int]:
            counted: dict[str, int] = {}
            for anchor in anchors:
                found = (
                    self.db.execute(
                        "SELECT COUNT(*) FROM keys WHERE key = ? AND row BETWEEN ? AND ?",
                        (anchor, *span),
                    ).fetchone()[0]
                    - gone_anchors[anchor]
                )
                if found > 0:
                    counted[anchor] = found
            return counted

        def stories_with(keys: Iterable[str]) -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            for key in keys:  # past CROWDED stories a key finds none: no need to count on
                rows = self.db.execute(
                    "SELECT DISTINCT grp FROM keys WHERE key = ? AND row BETWEEN ? AND ? LIMIT ?",
                    (key, *span, CROWDED + 1),
                ).fetchall()
                if rows:
                    found[key] = {story for (story,) in rows}
            return found

        def load(stories: Iterable[str]) -> dict[str, list[Features]]:
            members: dict[str, list[Features]] = {}
            for story in stories:
                for item_id, published, title, text, fields in self.db.execute(
                    "SELECT id, published, title, text, story FROM items"
                    " WHERE grp = ? AND row BETWEEN ? AND ?",
                    (story, *span),
                ):
                    if item_id not in left:
                        members.setdefault(story, []).append(
                            indexed_features(
                                item_id, published, _interned(title), _interned(text), fields
                            )
                        )
            return members

        return Stored(int(documents) - gone, count_terms, count_anchors, stories_with, load)

    def members(self, story: str) -> list[tuple[str, str]]:
        """(published, id) of every item of a story."""
        return [
            (published, item_id)
            for published, item_id in self.db.execute(
                "SELECT published, id FROM items WHERE grp = ?", (story,)
            )
        ]

    def matching(
        self,
        clauses: Sequence[Sequence[Sequence[str]]],
        since: str | None = None,
        until: str | None = None,
    ) -> Iterator[tuple[str, str]] | None:
        """(published, id) of the items every clause matches, newest first, read from the
        index a page at a time as the caller goes on; None when no clause can be looked
        up.  A clause is a list of alternatives (OR); an alternative, terms that must all
        be in the item (a term "title:…" in its title).  A clause with an alternative of
        no indexable term is left out (the caller checks every item).  ``since`` and
        ``until`` (ISO UTC, whole seconds) bound the rows asked: a second either side of
        them, where a row pushed past its second may lie (the caller checks the times)."""
        parts = []
        for clause in clauses:
            alternatives = []
            for alternative in clause:
                looked = [_fts(t) for t in alternative if pieces(t.removeprefix("title:"))]
                if not looked:
                    break
                alternatives.append("(" + " AND ".join(looked) + ")")
            else:
                parts.append("(" + " OR ".join(alternatives) + ")")
        if not parts:
            return None
        low = row_span(since, since)[0] - (1 << 24) if since else 0
        below = row_span(until, until)[1] + (1 << 24) + 1 if until else None
        return self._pages(" AND ".join(parts), low, below)

    def _pages(
        self, expression: str, low: int = 0, below: int | None = None
    ) -> Iterator[tuple[str, str]]:
        size = 256
        while True:
            if below is None:
                query = (
                    "SELECT rowid FROM search WHERE search MATCH ? AND rowid >= ?"
                    " ORDER BY rowid DESC LIMIT ?"
                )
                rows = self.db.execute(query, (expression, low, size)).fetchall()
            else:
                query = (
                    "SELECT rowid FROM search WHERE search MATCH ? AND rowid >= ? AND rowid < ?"
                    " ORDER BY rowid DESC LIMIT ?"
                )
                rows = self.db.execute(query, (expression, low, below, size)).fetchall()
            for (row,) in rows:
                found = self.db.execute(
                    "SELECT published, id FROM items WHERE row = ?", (row,)
                ).fetchone()
                if found is not None:
                    yield found[0], found[1]
            if len(rows) < size:
                return
            below = rows[-1][0]
            size = min(size * 4, 65536)


def _interned(terms: str) -> list[str]:
    return [sys.intern(term) for term in terms.split()]


def _fts(term: str) -> str:
    column = "{title text}"
    if term.startswith("title:"):
        column, term = "title", term[6:]
    # each piece of a term FTS5 splits ("касым-жомарт"): not a phrase (the index keeps no
    # positions), every piece; the caller checks each candidate against the whole query
    return " AND ".join(f'{column} : "{piece}"' for piece in pieces(term))


def pending(data_dir: Path) -> set[str]:
    """The items an interrupted commit changed and the index may not hold as they are now
    (empty when every commit finished); OSError when the list cannot be read."""
    try:
        text = (data_dir / PENDING).read_text(encoding="ascii")
    except FileNotFoundError:
        return set()
    return set(text.split())


def is_pending(data_dir: Path) -> bool:
    return (data_dir / PENDING).exists()


def mark_pending(data_dir: Path, ids: Iterable[str]) -> None:
    """Before a commit writes the partitions: the items whose terms it changes (added to
    those of an earlier commit that did not finish).  Unreadable, the index is removed (the
    next commit builds it whole)."""
    from .files import write_atomic

    try:
        ids = pending(data_dir) | set(ids)
        write_atomic(data_dir / PENDING, "\n".join(sorted(ids)).encode("ascii"))
    except (OSError, UnicodeError):
        remove(data_dir)


def keep(
    data_dir: Path,
    every_partition: Callable[[], Iterable[Iterable[StoredItem]]],
    *,
    put: Iterable[StoredItem],
    forget: Iterable[str],
    pruned_before: str | None,
    analysed: Mapping[str, Analysis] | None = None,
    keys: Mapping[str, frozenset[str]] | None = None,
    get: Callable[[str], StoredItem | None] | None = None,
) -> None:
    """Bring the index in step with a batch the writer has just written: what it added or
    edited (``put``), dropped (``forget``) and pruned, and what an interrupted commit left
    pending (read again with ``get``: indexed as stored, or forgotten when not stored);
    built whole (``every_partition``) when it is missing, damaged or of another version.
    It is derived: a failure removes it (the next update builds it again) and never costs
    the batch."""
    try:
        index = TermIndex.open(data_dir, create=True)
        if index is None:
            return
        try:
            if index.empty():  # new, or to be rebuilt: every stored item
                index.building(True)
                for records in every_partition():
                    index.put(records, analysed, keys)
                index.building(False)
            else:
                put = list(put)
                forget = set(forget)
                left = pending(data_dir) - forget - {r["id"] for r in put}
                for item_id in sorted(left):
                    record = get(item_id) if get is not None else None
                    if record is None:
                        forget.add(item_id)
                    else:
                        put.append(record)
                if pruned_before:
                    index.forget_before(pruned_before)
                index.forget(forget)
                index.put(put, analysed, keys)
        finally:
            index.close()
        with contextlib.suppress(FileNotFoundError):
            (data_dir / PENDING).unlink()
    except Exception:  # derived data: whatever failed, it is built again
        remove(data_dir)


def remove(data_dir: Path) -> None:
    from .derived import remove_index

    remove_index(data_dir / NAME)
    with contextlib.suppress(FileNotFoundError):  # built whole next time: nothing pending
        (data_dir / PENDING).unlink()
