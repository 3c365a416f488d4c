"""Ids and days: the shape of the identity index before ``identity.sqlite`` (schema 2,
``index.json``: read once, to move a store over), partitions, id prefixes."""

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
MIN_PREFIX = 4


def index_entry(published: str, feeds: Iterable[str]) -> str:
    """An item's index entry: when it was published (so its partition) and its feeds."""
    return published + "|" + ",".join(feeds)


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


def shortest_prefix(item_id: str, neighbours: tuple[str | None, str | None]) -> str:
    """An id's shortest unique prefix: one digit longer than what it shares with its
    nearest neighbours in sorted order (at least ``MIN_PREFIX`` digits)."""
    shared = 0
    for other in neighbours:
        if other is not None:
            same = next(
                (i for i, (a, b) in enumerate(zip(item_id, other, strict=False)) if a != b),
                min(len(item_id), len(other)),
            )
            shared = max(shared, same)
    return item_id[: max(MIN_PREFIX, shared + 1)]


def resolve_id(store: Store, prefix: str) -> str:
    """The full id a unique prefix names; NotFound / AmbiguousId otherwise."""
    from ..errors import AmbiguousId, NotFound

    prefix = prefix.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{1,16}", prefix):
        raise NotFound(tr("no item with id {id} (ids are hexadecimal)").format(id=repr(prefix)))
    matches = store.ids_with_prefix(prefix)
    if not matches:
        raise NotFound(tr("no item with id {id}").format(id=repr(prefix)))
    if len(matches) > 1:
        raise AmbiguousId(prefix, matches)
    return matches[0]
