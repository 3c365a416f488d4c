"""`db check`: every file of a store read, index and partitions cross-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from ..errors import StoreError
from ..words import ntr, tr
from .index import PARTITION_RE, partition_of


def check(data_dir: Path) -> tuple[list[str], int, int]:
    """Read every file of a store and cross-check index and partitions.

    Returns (problems, items, partitions); no problem means the store is sound.
    """
    from . import Store

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
        for record in cast(list[Any], records):  # as read from disk: anything
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
