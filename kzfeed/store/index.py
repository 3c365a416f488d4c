"""The identity index's shape (schema 2) and the sorted id list (ids.bin)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..words import tr
from .files import restore_hint

if TYPE_CHECKING:
    from . import Store

# 2: an item's index entry is one string, "published|feed,feed" (its partition is the
# published day); 1 (read and converted): [partition, published, [feeds]].  One string
# instead of two lists and three strings halves the time to read the index.
SCHEMA = 2
PARTITION_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
ID_LIST = "ids.bin"
ID_BYTES = 8
MIN_PREFIX = 4


def empty_index() -> dict[str, Any]:
    return {"schema": SCHEMA, "keys": {}, "seen": {}, "items": {}, "tombstones": {}}


def index_entry(published: str, feeds: Iterable[str]) -> str:
    """An item's index entry: when it was published (so its partition) and its feeds."""
    return published + "|" + ",".join(feeds)


def entry_feeds(entry: str) -> tuple[str, list[str]]:
    """(published, feeds) of an index entry."""
    published, _, feeds = entry.partition("|")
    return published, feeds.split(",") if feeds else []


def upgrade_index(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """A schema 1 index in schema 2 form (in memory; written back with the next change)."""
    try:
        items = {
            item_id: index_entry(published, feeds)
            for item_id, (_partition, published, feeds) in data["items"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise StoreError(
            tr("{path}: a malformed schema 1 index").format(path=path) + restore_hint()
        ) from None
    return {**data, "schema": SCHEMA, "items": items}


def partition_of(published: str) -> str:
    return published[:10]


def shortest_prefixes(data: bytes, ids: Iterable[str]) -> dict[str, str]:
    """For each hex id found in ``data`` (sorted 8-byte ids), its shortest unique prefix:
    one nibble longer than what it shares with its nearest neighbours."""
    count = len(data) // ID_BYTES
    result: dict[str, str] = {}
    for item_id in ids:
        try:
            key = bytes.fromhex(item_id)
        except ValueError:
            continue
        lo, hi = 0, count
        while lo < hi:
            mid = (lo + hi) // 2
            if data[mid * ID_BYTES : (mid + 1) * ID_BYTES] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo >= count or data[lo * ID_BYTES : (lo + 1) * ID_BYTES] != key:
            continue
        shared = 0
        for neighbour in (lo - 1, lo + 1):
            if 0 <= neighbour < count:
                other = data[neighbour * ID_BYTES : (neighbour + 1) * ID_BYTES].hex()
                same = next(
                    (i for i, (a, b) in enumerate(zip(item_id, other, strict=True)) if a != b), 16
                )
                shared = max(shared, same)
        result[item_id] = item_id[: max(MIN_PREFIX, shared + 1)]
    return result


def id_list(ids: Iterable[str]) -> bytes:
    """The sorted id list ``Store.abbreviations`` searches."""
    return b"".join(sorted(bytes.fromhex(i) for i in ids))


def resolve_id(store: Store, prefix: str) -> str:
    """The full id a unique prefix names; NotFound / AmbiguousId otherwise."""
    from ..errors import AmbiguousId, NotFound

    prefix = prefix.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{1,16}", prefix):
        raise NotFound(tr("no item with id {id} (ids are hexadecimal)").format(id=repr(prefix)))
    matches = sorted(i for i in store.ids() if i.startswith(prefix))
    if not matches:
        raise NotFound(tr("no item with id {id}").format(id=repr(prefix)))
    if len(matches) > 1:
        raise AmbiguousId(prefix, matches)
    return matches[0]
