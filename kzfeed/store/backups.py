"""The backup mirror (backups/last, backups/previous) and `db restore`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from ..errors import StoreError
from ..words import tr
from . import files
from .identity import LEGACY, LEGACY_IDS, TOMBSTONES
from .identity import remove as remove_identity


class BackupMirror:
    """What a Store does to keep ``backups/last`` a copy of its last good files."""

    data_dir: Path
    items_dir: Path

    # ------------------------------------------------------------------ backups

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    def save(self, path: Path, data: files.Data) -> int:
        """Write a store file atomically, and the same bytes to the backup mirror.

        ``backups/last/`` mirrors every file as of the last successful write (copies, not
        links: a file damaged in place must not damage its backup); the version it replaces
        moves to ``backups/previous/``.  Only files kzfeed itself wrote from good data ever
        reach the mirror, so it always holds the last good state.  The CRC-32 of the bytes
        written comes back.  The backup is copied from the file just written, by the
        kernel.
        """
        crc = files.write_atomic(path, data)
        files.copy_atomic(path, self._retire_backup(path))
        return crc

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
        if _has_files(self.backup_dir / "last"):
            return
        stored = [
            self.data_dir / "state.json",
            *self.items_dir.glob("*.json"),
            *(self.data_dir / TOMBSTONES).glob("*.json"),
        ]
        for path in stored:  # none in a new store: the mirror fills as files are written
            try:
                if files.load_json(path) is None:
                    continue
            except StoreError:
                continue  # never copy a damaged file into the backups
            target = self.backup_dir / "last" / path.relative_to(self.data_dir)
            files.write_atomic(target, path.read_bytes())

    def drop_file(self, path: Path) -> None:
        """Delete a store file (a pruned partition); its backup moves to previous/."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._retire_backup(path)

    def _clean_temp_files(self) -> None:
        backups = self.backup_dir
        folders = (
            self.data_dir,
            self.items_dir,
            self.data_dir / "heads",
            self.data_dir / TOMBSTONES,
            backups / "last",
            backups / "last" / "items",
            backups / "last" / TOMBSTONES,
            backups / "previous",
            backups / "previous" / "items",
            backups / "previous" / TOMBSTONES,
        )
        for folder in folders:
            with contextlib.suppress(FileNotFoundError):
                for path in folder.glob(".*.tmp"):
                    with contextlib.suppress(OSError):
                        path.unlink()


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

    from . import Store

    store = Store(data_dir, lock_timeout=lock_timeout)
    last = store.backup_dir / "last"
    if not _has_files(last):
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
        with contextlib.suppress(OSError):  # of stores before identity.sqlite
            (data_dir / LEGACY_IDS).unlink()
        # derived from the files restored: built again from them when next opened
        from .termindex import remove as remove_term_index

        remove_identity(data_dir)
        remove_term_index(data_dir)
        current = [
            data_dir / LEGACY,
            data_dir / "state.json",
            *store.items_dir.glob("*.json"),
            *(data_dir / TOMBSTONES).glob("*.json"),
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
                files.write_atomic(target, path.read_bytes())
    return aside


def _has_files(folder: Path) -> bool:
    return folder.exists() and any(folder.rglob("*.json"))
