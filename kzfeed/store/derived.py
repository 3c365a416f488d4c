"""What the two derived SQLite indexes (``identity.sqlite``, ``terms.sqlite``) share:
opened only when they are of this version (else removed, to be built again from the
files), a transaction, removal with their journal files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3


def open_index(
    path: Path, schema: Sequence[str], version: str, create: bool
) -> sqlite3.Connection | None:
    """An index file of this ``version`` (its ``meta`` table says so), in WAL mode; None
    when there is none (and ``create`` is false) or it cannot be read as one of this
    version — then, when ``create``, it is removed and made anew, empty.  Each index has
    an ``items`` table: a file without a version is claimed only while that is empty."""
    import sqlite3

    for attempt in (1, 2):
        if not path.exists() and not create:
            return None
        db = None
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if create:
                for statement in schema:
                    db.execute(statement)
            found = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            unclaimed = found is None and create
            if unclaimed and db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None:
                db.execute("INSERT INTO meta VALUES ('version', ?)", (version,))
                found = (version,)
            if found is not None and found[0] == version:
                db.execute("SELECT 1 FROM items LIMIT 1").fetchone()  # readable
                return db
        except sqlite3.Error:
            pass
        if db is not None:
            with contextlib.suppress(Exception):
                db.close()
        if not create or attempt == 2:
            return None
        remove_index(path)  # another version or damaged: derived, so built again
    return None


def remove_index(path: Path) -> None:
    """An index file gone, with its journal files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            path.with_name(path.name + suffix).unlink()


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: committed whole, or rolled back on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
