"""The term index (``terms.sqlite``): each stored item's terms, for search and for stories.

Derived from the partitions, like ``ids.bin``: kept by the store's write path (the writer
indexes what a batch adds or edits and forgets what it drops, after the partitions and
before the identity index are written), rebuilt whole when it is missing, damaged or of
another version, never backed up.  TinyDB stays the store of record.

* ``search`` (SQLite FTS5): per item the terms of its title and of its title and text
  (`terms.py`: folded, transliterated, stemmed), so a query's words find their items
  without reading or stemming a single partition; the query's other conditions (phrases,
  -words, fields, the listing filters) are then checked on those items only.
* ``features``: per item what story grouping reads (its term bag and anchors), so an
  update groups its new items against the window without recomputing the window.

Rows are keyed by a number made of the item id's first 15 hex digits.  A search that
finds the index stale (its item count is not the store's) falls back to reading the
partitions.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import StoredItem
from ..terms import terms

if TYPE_CHECKING:
    from ..stories import Features

NAME = "terms.sqlite"
VERSION = "5"  # of the terms, the features and this schema: another one is rebuilt
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    # title, text: the terms of the title and of the text; story: the rest of what
    # grouping reads (anchors, figures, dates: grouping.dump_story_fields)
    "CREATE TABLE IF NOT EXISTS items (row INTEGER PRIMARY KEY, id TEXT, day TEXT,"
    " published TEXT, title TEXT, text TEXT, story TEXT)",
    "CREATE INDEX IF NOT EXISTS items_day ON items (day)",
    # the words' index only: its text is the items table's (external content)
    "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(title, text, content = 'items',"
    " content_rowid = 'row', detail = column,"
    " tokenize = \"unicode61 remove_diacritics 0 tokenchars '.'\")",
)


def row_of(item_id: str) -> int:
    return int(item_id[:15], 16)


def pieces(term: str) -> list[str]:
    """A term as FTS5 splits it: at anything but letters, digits and '.'."""
    return "".join(ch if ch.isalnum() or ch == "." else " " for ch in term).split()


def item_terms(record: StoredItem) -> tuple[list[str], list[str]]:
    """(title terms, text terms) of a stored item, as search compares them."""
    lang = record.get("lang") or None
    return terms(str(record.get("title") or ""), lang), terms(
        str(record.get("summary") or ""), lang
    )


class TermIndex:
    """An open ``terms.sqlite``."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    @classmethod
    def open(cls, data_dir: Path, create: bool = False) -> TermIndex | None:
        """The index of a data dir; None when there is none (and ``create`` is false) or
        it cannot be read as one of this version (then it is removed when ``create``)."""
        path = data_dir / NAME
        if not path.exists() and not create:
            return None
        for attempt in (1, 2):
            try:
                db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                if create:
                    for statement in _SCHEMA:
                        db.execute(statement)
                    found = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
                    if found is None and not db.execute("SELECT 1 FROM items LIMIT 1").fetchone():
                        db.execute("INSERT INTO meta VALUES ('version', ?)", (VERSION,))
                        found = (VERSION,)
                else:
                    found = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
                if found is not None and found[0] == VERSION:
                    return cls(path, db)
                db.close()
            except sqlite3.Error:
                with contextlib.suppress(Exception):
                    db.close()
            if not create or attempt == 2:
                return None
            remove(data_dir)  # another version or damaged: derived, so built again
        return None

    def close(self) -> None:
        self.db.close()

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    # ------------------------------------------------------------------ writing

    def put(self, records: Iterable[StoredItem]) -> None:
        """Index (or index again) these items, in one transaction."""
        from ..grouping import dump_story_fields, record_features

        rows = []
        for record in records:
            title, text = item_terms(record)
            rows.append(
                (
                    row_of(record["id"]),
                    record["id"],
                    record["published"][:10],
                    record["published"],
                    " ".join(title),
                    " ".join(text),
                    dump_story_fields(record_features(record)),
                )
            )
        if not rows:
            return
        with self._transaction():
            self._unindex([r[0] for r in rows])
            self.db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.executemany(
                "INSERT INTO search (rowid, title, text) VALUES (?, ?, ?)",
                [(r[0], r[4], r[5]) for r in rows],
            )

    def _unindex(self, rows: Sequence[int]) -> None:
        """Take items out of the words' index (with the text it was built from), then out
        of the table."""
        for row in rows:
            old = self.db.execute("SELECT title, text FROM items WHERE row = ?", (row,)).fetchone()
            if old is not None:
                self.db.execute(
                    "INSERT INTO search (search, rowid, title, text) VALUES ('delete', ?, ?, ?)",
                    (row, *old),
                )
                self.db.execute("DELETE FROM items WHERE row = ?", (row,))

    def forget(self, ids: Iterable[str]) -> None:
        with self._transaction():
            self._unindex([row_of(i) for i in ids])

    def forget_before(self, day: str) -> None:
        """Drop the items of partitions older than ``day`` (pruned)."""
        with self._transaction():
            rows = [r for (r,) in self.db.execute("SELECT row FROM items WHERE day < ?", (day,))]
            self._unindex(rows)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ reading

    def features(self, days: Iterable[str]) -> dict[str, Features]:
        """The story features of the items of these partitions, by item id."""
        from ..grouping import indexed_features

        found: dict[str, Features] = {}
        for day in sorted(set(days)):
            rows = self.db.execute(
                "SELECT id, published, title, text, story FROM items WHERE day = ?", (day,)
            )
            for item_id, published, title, text, story in rows:
                found[item_id] = indexed_features(
                    item_id, published, title.split(), text.split(), story
                )
        return found

    def matching(self, clauses: Sequence[Sequence[Sequence[str]]]) -> list[tuple[str, str]] | None:
        """(published, id) of the items every clause matches, newest first; None when no
        clause can be looked up.  A clause is a list of alternatives (OR); an alternative,
        terms that must all be in the item (a term "title:…" in its title).  A clause with
        an alternative of no indexable term is left out (the caller checks every item)."""
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
        rows = self.db.execute(
            "SELECT items.published, items.id FROM search JOIN items ON items.row = search.rowid"
            " WHERE search MATCH ? ORDER BY items.published DESC",
            (" AND ".join(parts),),
        )
        return [(published, item_id) for published, item_id in rows]


def _fts(term: str) -> str:
    column = "{title text}"
    if term.startswith("title:"):
        column, term = "title", term[6:]
    return f'{column} : "{" ".join(pieces(term))}"'


def remove(data_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / (NAME + suffix)).unlink()
