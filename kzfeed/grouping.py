"""Which story each newly stored item joins (pure: stored records in, story ids out).

`stories.py` groups items by what they say; this module reads stored records for it: the
items of the window (stored within ``WINDOW_HOURS`` of a new item, with the story each
already belongs to) and the new ones.  An update calls `group` once, after every feed's
batch is decided and before anything is written, so the cost grows with the new items and
the stories they touch, not with the history.  A story's id is the id of its first item;
an item stored before stories existed is a story of its own (`model.story_of`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import orjson

from .dates import from_iso
from .model import StoredItem, story_of
from .stories import (
    TITLE_WEIGHT,
    WINDOW_HOURS,
    Features,
    Grouping,
    Stored,
    assign,
    features,
)
from .terms import terms


def window_days(days: Iterable[str], hours: float = WINDOW_HOURS) -> set[str]:
    """The partitions (UTC days) holding every item within ``hours`` of an item published
    on one of ``days``."""
    reach = int(hours // 24) + 1
    out: set[str] = set()
    for day in days:
        start = date.fromisoformat(day)
        for offset in range(-reach, reach + 1):
            out.add((start + timedelta(days=offset)).isoformat())
    return out


def record_features(record: StoredItem) -> Features:
    return analyse(record)[2]


#: What one pass over an item's text gives: the terms of its title, of its text, and its
#: story features (made from those terms: an update stems each new item once)
Analysis = tuple[list[str], list[str], Features]


def analyse(record: StoredItem) -> Analysis:
    lang = record.get("lang") or None
    title = terms(str(record.get("title") or ""), lang)
    text = terms(str(record.get("summary") or ""), lang)
    found = features(
        record["id"],
        from_iso(record["published"]),
        str(record.get("title") or ""),
        str(record.get("summary") or ""),
        lang,
        title_terms=title,
        text_terms=text,
    )
    return title, text, found


def dump_story_fields(found: Features) -> str:
    """What the term index keeps of an item's features besides its terms (JSON)."""
    return orjson.dumps(
        {
            "a": sorted(found.anchors),
            "f": sorted(found.figures),
            "h": sorted(found.headline),
            "d": sorted(found.dates),
        }
    ).decode()


def indexed_features(
    item_id: str, published: str, title: Sequence[str], text: Sequence[str], story: str
) -> Features:
    """Features from the term index's columns: the title's terms weigh ``TITLE_WEIGHT``,
    the text's one, as in `stories.features`."""
    bag = Counter(text)
    for term in title:
        bag[term] += TITLE_WEIGHT
    kept = orjson.loads(story)
    return Features(
        item_id,
        from_iso(published),
        bag,
        frozenset(kept["a"]),
        frozenset((float(v), int(d)) for v, d in kept["f"]),
        frozenset((float(v), int(d)) for v, d in kept["h"]),
        frozenset(kept["d"]),
    )


#: What grouping decides for the new items: {item id: story id}, and each one's keys (what
#: finds its story: the term index keeps them for the next updates)
Placed = tuple[dict[str, str], dict[str, frozenset[str]]]


def group(
    window: Iterable[StoredItem] | Stored,
    new: Sequence[StoredItem],
    analysed: dict[str, Analysis] | None = None,
) -> Placed:
    """The new items' stories and keys.  ``window``: the stored items near the new ones in
    time (the new ones themselves are skipped if present), or what the term index tells of
    them (`termindex.TermIndex.window`); ``analysed`` receives the new items' analyses
    (the term index keeps them)."""
    grouping = Grouping()
    stored = window if isinstance(window, Stored) else None
    if not isinstance(window, Stored):
        fresh = {record["id"] for record in new}
        for record in window:
            if record["id"] not in fresh:
                story = story_of(record)
                grouping.members.setdefault(story, []).append(record_features(record))
                grouping.story_of[record["id"]] = story
    made = analysed if analysed is not None else {}
    for record in new:
        if record["id"] not in made:  # else the parse worker analysed it
            made[record["id"]] = analyse(record)
    placed = assign(grouping, [made[record["id"]][2] for record in new], stored=stored)
    return placed, {item_id: grouping.keys[item_id] for item_id in placed}
