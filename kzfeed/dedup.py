"""Identity and merge decisions (pure): is this item new, an edit, another feed's copy?

The rules (SPEC "Identity and duplicates"):

* within a feed an item is the same item when its GUID matches, or, where GUIDs are
  missing or untrustworthy, its canonical link (normalize computes both keys);
* the same story from another feed (same canonical link) is one item that remembers every
  feed and rubric it came from (``also_in``);
* an edited title or text updates the item; re-fetching adds nothing;
* a pruned item does not come back (tombstones), nor does one older than retention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from .model import Item, StoredItem


class Action(Enum):
    NEW = "new"
    EDIT = "edit"  # the same feed sent changed content
    MERGE = "merge"  # a known story seen under a new key (another feed, a changed GUID)
    UNCHANGED = "unchanged"
    SKIP = "skip"  # pruned before, or older than retention


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    item: Item
    target: str | None = None  # the stored item's id for EDIT / MERGE


_NOTHING: dict[str, str] = {}


class Lookup(Protocol):
    """What the decisions ask of a table of the identity index (a dict will do)."""

    def get(self, key: str, /) -> str | None: ...

    def __contains__(self, key: object, /) -> bool: ...


@dataclass(frozen=True)
class IndexView:
    """The part of the identity index the decisions read."""

    keys: Lookup  # feed_key / link_key -> item id
    seen: Lookup  # feed_key -> content hash last stored
    tombstones: Lookup = field(default_factory=lambda: _NOTHING)


def decide(item: Item, index: IndexView, cutoff: str | None = None) -> Decision:
    """What the store must do with ``item``.  ``cutoff``: ISO UTC time before which a
    dated item is too old to keep (retention)."""
    known = index.keys.get(item.feed_key)
    if known is not None:
        if index.seen.get(item.feed_key) == item.content_hash:
            return Decision(Action.UNCHANGED, item, known)
        return Decision(Action.EDIT, item, known)
    if item.link_key is not None:
        by_link = index.keys.get(item.link_key)
        if by_link is not None:
            return Decision(Action.MERGE, item, by_link)
    if item.feed_key in index.tombstones or (
        item.link_key is not None and item.link_key in index.tombstones
    ):
        return Decision(Action.SKIP, item)
    if cutoff is not None and not item.date_estimated and item.published < cutoff:
        return Decision(Action.SKIP, item)
    return Decision(Action.NEW, item)


def plan(items: Iterable[Item], index: IndexView, cutoff: str | None = None) -> list[Decision]:
    """Decisions for one feed's batch, in order.  Items of the same batch that resolve to
    the same stored story are folded (the first wins)."""
    decisions: list[Decision] = []
    claimed: set[str] = set()
    for item in items:
        decision = decide(item, index, cutoff)
        if decision.action in (Action.EDIT, Action.MERGE) and decision.target in claimed:
            decision = Decision(Action.UNCHANGED, item, decision.target)
        if decision.target:
            claimed.add(decision.target)
        decisions.append(decision)
    return decisions


@dataclass
class Changes:
    """Everything one feed's batch changes in the store, worked out before anything is
    written (the store only applies it: all or nothing)."""

    records: dict[str, tuple[StoredItem, StoredItem | None]] = field(
        default_factory=dict
    )  # id -> (the record to store, the stored version it replaces, or None when new)
    keys: dict[str, str] = field(default_factory=dict)  # feed_key / link_key -> item id
    seen: dict[str, str] = field(default_factory=dict)  # feed_key -> content hash stored
    new: int = 0
    updated: int = 0  # edits of an item by its own feed (another feed's copy is no edit)


def resolve(
    decisions: Iterable[Decision],
    keys: Lookup,
    stored: Callable[[str], StoredItem | None],
) -> Changes:
    """The records, keys and counts the decisions come to.  ``keys`` is the index's key
    map as it is; ``stored`` reads a stored record by id (the only thing read).

    Every record carries its keys and the content hash each last brought (``keys``), so
    the identity index can be built again from the records alone: a key a batch gives an
    item is written into the item's record, which is stored again for it if nothing else
    of it changed."""
    changes = Changes()
    for decision in decisions:
        item, action = decision.item, decision.action
        if action is Action.SKIP:
            continue
        if action is Action.UNCHANGED:
            if item.feed_key not in keys and decision.target:
                changes.keys.setdefault(item.feed_key, decision.target)
            continue
        if action is Action.NEW:
            changes.records[item.id] = (item.to_record(), None)
            changes.new += 1
            target = item.id
        else:
            target = decision.target or ""
            pending = changes.records.get(target)
            current = pending[0].copy() if pending else _copy(stored(target))
            if current is None:  # index and partition disagree: store it afresh
                record = item.to_record()
                record["id"] = target
                changes.records[target] = (record, None)
                changes.new += 1
            else:
                merged = merge_record(current, item)
                if merged != current:
                    previous = pending[1] if pending else current
                    changes.records[target] = (merged, previous)
                    edited = current.get("hash") != item.content_hash
                    if item.feed == current.get("feed") and edited:
                        changes.updated += 1
        changes.keys[item.feed_key] = target
        if item.link_key and item.link_key not in keys:
            changes.keys.setdefault(item.link_key, target)
        changes.seen[item.feed_key] = item.content_hash
    _carry_keys(changes, stored)
    return changes


def _carry_keys(changes: Changes, stored: Callable[[str], StoredItem | None]) -> None:
    """Write each key the batch gives into its item's record (``keys``)."""
    for key, target in changes.keys.items():
        pending = changes.records.get(target)
        if pending is None:
            current = _copy(stored(target))
            if current is None:
                continue
            pending = changes.records[target] = (current, current.copy())
        record = pending[0]
        carried = dict(record.get("keys") or {record["id"]: record.get("hash", "")})
        seen = changes.seen.get(key, "")
        if carried.get(key) != seen:
            carried[key] = seen
            record["keys"] = carried
        elif "keys" not in record:
            record["keys"] = carried
    for record, previous in list(changes.records.values()):
        if previous is not None and record == previous:
            del changes.records[record["id"]]


def _copy(record: StoredItem | None) -> StoredItem | None:
    return record.copy() if record is not None else None


def _union(first: Iterable[str], extra: Iterable[str]) -> list[str]:
    out = list(first)
    for value in extra:
        if value not in out:
            out.append(value)
    return out


def merge_record(record: StoredItem, item: Item) -> StoredItem:
    """The stored record after ``item`` (an edit or another feed's copy) is folded in.

    The item's own feed edits the content; another feed adds itself to ``also_in`` with its
    link and brings its rubrics and categories (after the primary ones).  Read state,
    first-seen time and the stored time (unless it was only estimated) are kept.
    """
    out = record.copy()
    if item.feed == record.get("feed"):
        fresh = item.to_record()
        out["title"], out["url"], out["summary"] = fresh["title"], fresh["url"], fresh["summary"]
        out["categories"], out["source"], out["lang"] = (
            fresh["categories"],
            fresh["source"],
            fresh["lang"],
        )
        out["guid"], out["hash"] = fresh["guid"], fresh["hash"]
        if item.text:
            out["text"] = item.text
        # the feed's own rubrics lead; rubrics other feeds brought stay after them
        out["rubrics"] = _union(item.rubrics, record.get("rubrics", []))
        if record.get("date_estimated") and not item.date_estimated:
            out["published"] = item.published
            out["date_estimated"] = False
        return out
    also = [a.copy() for a in record.get("also_in", [])]
    for entry in also:
        if entry.get("feed") == item.feed:
            entry["url"] = item.url
            break
    else:
        also.append({"feed": item.feed, "url": item.url})
    out["also_in"] = also
    extra_rubrics = [r for r in item.rubrics if r != "other"]
    rubrics = _union(record.get("rubrics", []), extra_rubrics)
    if len(rubrics) > 1 and "other" in rubrics:
        rubrics.remove("other")
    out["rubrics"] = rubrics
    out["categories"] = _union(record.get("categories", []), item.categories)
    return out
