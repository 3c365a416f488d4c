"""The newest headlines of the newest days, so that `latest -n 50` need not read a big day.

A wire day can hold 7,000 items (a 7 MB partition); `latest -n 50` shows 50 of them.  For
each of the newest ``HEAD_DAYS`` partitions that holds more than ``HEAD_ITEMS`` items, a
small file ``heads/<day>.json`` keeps that day's newest ``HEAD_ITEMS`` records (by
published time, then id — the order `latest` shows), written right after the partition.

It is derived data, trusted only while it describes the partition on disk: it carries the
partition file's stamp (its size and modification time in ns: every write of a partition
makes a new file) and a head whose stamp does not match is ignored (a partition written by
`db restore`, or a commit interrupted between the two files), so reading falls back to the
partition itself.  No backup copy is kept: it is rebuilt whenever its day is written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import orjson

from ..model import StoredItem, listing_order
from .files import stamp

HEADS = "heads"
HEAD_ITEMS = 256  # records kept per day: -n 50 with a filter that keeps one item in five
HEAD_DAYS = 3  # a new UTC day starts small: the day before is read too


def head_path(data_dir: Path, day: str) -> Path:
    return data_dir / HEADS / f"{day}.json"


def write_head(
    data_dir: Path, day: str, partition: Path, records: Iterable[StoredItem], whole: bool = True
) -> None:
    """Keep the newest ``HEAD_ITEMS`` of a day just written to ``partition``: of its
    records (``whole``), or of a head merged with what changed (`merge_head`).  No head for
    a day that small: reading it whole costs the same."""
    from .files import write_atomic

    listed = list(records)
    path = head_path(data_dir, day)
    found = stamp(partition)
    if (whole and len(listed) <= HEAD_ITEMS) or found is None:
        drop_head(data_dir, day)
        return
    listed.sort(key=listing_order, reverse=True)
    write_atomic(
        path,
        orjson.dumps({"stamp": found, "total": len(listed), "items": listed[:HEAD_ITEMS]}),
    )


def merge_head(head: list[StoredItem], records: Iterable[StoredItem]) -> list[StoredItem] | None:
    """A day's head after new and changed ``records`` were written to it, from its head
    before (None when that cannot tell: a record of the head changed to a time older than
    the head reaches, so a record the head left out may now belong in it)."""
    if not head:
        return None
    reach = min(listing_order(r) for r in head)
    merged = {str(r.get("id")): r for r in head}
    for record in records:
        item_id = str(record.get("id"))
        if item_id in merged and listing_order(record) < reach:
            return None
        merged[item_id] = record
    return list(merged.values())


def drop_head(data_dir: Path, day: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(head_path(data_dir, day))


def keep_newest(data_dir: Path, days: Iterable[str]) -> None:
    """Remove the heads of every day but the newest ``HEAD_DAYS`` of ``days``."""
    kept = set(sorted(days, reverse=True)[:HEAD_DAYS])
    with contextlib.suppress(FileNotFoundError):
        for path in (data_dir / HEADS).iterdir():
            if path.suffix == ".json" and path.stem not in kept:
                with contextlib.suppress(OSError):
                    path.unlink()


def read_head(data_dir: Path, day: str, partition: Path) -> list[StoredItem] | None:
    """A day's newest records, newest first, when a head describes the partition on disk
    as it is; None otherwise (no head, a stale one, a damaged one)."""
    try:
        raw = head_path(data_dir, day).read_bytes()
        data: Any = orjson.loads(raw)
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("stamp") != stamp(partition):
        return None
    items = data.get("items")
    if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
        return None
    return cast(list[StoredItem], items)
