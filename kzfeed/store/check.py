"""`db check`: every file of a store read, the identity index and partitions cross-checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from ..errors import StoreError
from ..words import ntr, tr
from .files import restore_hint
from .identity import TOMBSTONES, read_tombstones, record_keys, tombstone_days
from .index import partition_of


def check(data_dir: Path) -> tuple[list[str], int, int]:
    """Read every file of a store and cross-check the identity index with the partitions
    and tombstone files.  A day file the index has not taken in yet (a commit cut short)
    is no fault: the next update takes it in.

    Returns (problems, items, partitions); no problem means the store is sound.
    """
    from . import Store

    store = Store(data_dir)
    problems: list[str] = []
    try:
        store.feed_states()
    except StoreError as exc:
        problems.append(str(exc))
    try:
        identity = store.identity()
        taken = identity.stamps()
        indexed, keys, buried = identity.all_rows()
    except (StoreError, OSError) as exc:
        return [*problems, str(exc)], 0, 0
    except Exception as exc:  # sqlite3.Error: a damaged index
        return [*problems, _damaged(data_dir, exc)], 0, 0
    found: dict[str, str] = {}
    partitions = store.partitions()
    current = set()  # days as the index last took them in: they must agree with it
    wrong: list[str] = []
    twice: list[str] = []  # items in two day files the index took in as they are
    for name in partitions:
        path = store.items_dir / (name + ".json")
        try:
            records = store.partition_items(name)
        except StoreError as exc:
            problems.append(str(exc))
            continue
        known = taken.get("items/" + name)
        if known is not None and known[:2] == _stamp(path):
            current.add(name)
        for record in cast(list[Any], records):  # as read from disk: anything
            if not isinstance(record, dict) or "id" not in record or "published" not in record:
                problems.append(
                    tr("{path}: a record without id/published").format(path=path) + restore_hint()
                )
                continue
            other = found.get(record["id"])
            if other is not None and other in current and name in current:
                twice.append(record["id"])
            found[record["id"]] = name
            if name in current:
                for key in record_keys(record):
                    if keys.get(key, ("",))[0] != record["id"]:
                        wrong.append(key)
    missing: dict[str, int] = {}
    for item_id, published in indexed.items():
        day = partition_of(published)
        if day in current and found.get(item_id) != day:
            missing[day] = missing.get(day, 0) + 1
    for name, count in sorted(missing.items()):
        problems.append(
            ntr(
                "{n} indexed item(s) missing from {path}",
                "{n} indexed item(s) missing from {path}",
                count,
            ).format(n=count, path=store.items_dir / (name + ".json"))
            + _reindex_hint()
        )
    unindexed = [i for i, day in found.items() if day in current and i not in indexed]
    if unindexed or wrong:
        problems.append(
            tr("{path}: the identity index does not know {n} stored item(s) or key(s)").format(
                path=data_dir / "identity.sqlite", n=len(unindexed) + len(wrong)
            )
            + _reindex_hint()
        )
    if twice:
        problems.append(
            tr("{n} stored item(s) in two day files").format(n=len(twice)) + _reindex_hint()
        )
    lost = 0
    for day in tombstone_days(data_dir):
        name = TOMBSTONES + "/" + day
        if taken.get(name, [None, None])[:2] != _stamp(data_dir / TOMBSTONES / f"{day}.json"):
            continue  # not taken in yet (a prune's commit cut short): the next writer does
        try:
            lost += len(set(read_tombstones(data_dir / TOMBSTONES / f"{day}.json")) - buried)
        except StoreError as exc:
            problems.append(str(exc))
    if lost:
        problems.append(
            tr("{path}: the identity index does not know {n} stored item(s) or key(s)").format(
                path=data_dir / "identity.sqlite", n=lost
            )
            + _reindex_hint()
        )
    return problems, len(found), len(partitions)


def _stamp(path: Path) -> list[int] | None:
    from .files import stamp

    return stamp(path)


def _reindex_hint() -> str:
    return " " + tr("(`kzfeed db reindex` builds the indexes again from the stored items)")


def _damaged(data_dir: Path, exc: Exception) -> str:
    return (
        tr("{path}: the identity index cannot be read ({reason})").format(
            path=data_dir / "identity.sqlite", reason=exc
        )
        + _reindex_hint()
    )
