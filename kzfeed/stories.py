"""Which story is this item? (pure: items in, story ids out)

The same event told by several agencies — re-titled, shortened, re-ordered, translated —
is one story.  The method, from what is published on near-duplicate detection and news
event clustering:

1. An item becomes a bag of terms (`terms.py`: folded, transliterated, stemmed) from its
   title (counted twice: a headline says what the event is) and its summary, plus its
   *anchors*: the names (words written with a capital letter inside a sentence, and
   Latin/Kazakh forms of them) and the numbers — what re-telling keeps.
2. Two items can only be one story when they are published within ``window`` (48 h) of
   each other and share an anchor: a name or a number; and when both give figures, at
   least one must agree — two days' "Курс доллара" reports or two earthquakes differ in
   exactly that.
3. Their similarity is the TF-IDF cosine of their term bags, the IDF taken over the items
   being grouped, plus a bonus for each shared anchor (names and numbers weigh most).
   Above ``threshold`` they are linked.  Near-copies (the same wire text at another URL)
   are far above it.
4. Links join stories single-link, but a story never grows past ``max_size`` items and a
   new item joins the one story it is closest to, so chains do not snowball.

Grouping is incremental: `assign` takes the stories of the window as they are and new
items, and only compares the new items with those (cost grows with the news, not with
the history).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .terms import STOP_WORDS, fold, kazakh_base, number, stem, terms

WINDOW_HOURS = 48
THRESHOLD = 0.25
MAX_SIZE = 12
ANCHOR_BONUS = 0.08

_CAPITALISED = re.compile(r"\b([A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w'’-]+)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Features:
    """What grouping reads of one item."""

    id: str
    published: datetime
    terms: Counter[str]
    anchors: frozenset[str]


def features(
    item_id: str, published: datetime, title: str, summary: str, lang: str | None
) -> Features:
    """An item's terms and anchors (names and numbers)."""
    bag: Counter[str] = Counter()
    for text, weight in ((title, 2), (summary, 1)):
        for term in terms(text, lang):
            bag[term] += weight
    anchors = set()
    for text in (title, summary):
        for match in _CAPITALISED.finditer(text):
            word = fold(match.group(1))
            if word not in STOP_WORDS and len(word) > 2:
                anchors.add("n:" + stem(kazakh_base(word) if lang == "kk" else word))
        for found in _NUMBER.finditer(text):
            value = number(found.group())
            if value not in {"1", "2", "3", "2025", "2026"}:  # too common to anchor a story
                anchors.add("#:" + value)
    return Features(item_id, published, bag, frozenset(anchors))


@dataclass
class Grouping:
    """Stories so far: each item's story id and each story's items (features)."""

    story_of: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[Features]] = field(default_factory=dict)


def _idf(bags: Iterable[Counter[str]]) -> dict[str, float]:
    documents = 0
    seen: Counter[str] = Counter()
    for bag in bags:
        documents += 1
        seen.update(bag.keys())
    return {term: math.log((documents + 1) / (count + 0.5)) for term, count in seen.items()}


def _vector(bag: Mapping[str, int], idf: Mapping[str, float]) -> dict[str, float]:
    vector = {term: count * idf.get(term, 1.0) for term, count in bag.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def similarity(
    a: Features,
    b: Features,
    idf: Mapping[str, float],
    window_hours: float = WINDOW_HOURS,
    common: frozenset[str] = frozenset(),
) -> float:
    """How likely two items tell one event: 0 unless close in time and sharing an anchor."""
    return _score(a, b, _vector(a.terms, idf), _vector(b.terms, idf), window_hours, common)


def _score(
    a: Features,
    b: Features,
    va: Mapping[str, float],
    vb: Mapping[str, float],
    window_hours: float,
    common: frozenset[str],
) -> float:
    if abs((a.published - b.published).total_seconds()) > window_hours * 3600:
        return 0.0
    shared = (a.anchors & b.anchors) - common
    if not shared:
        return 0.0
    numbers_a = {x for x in a.anchors if x.startswith("#:")}
    numbers_b = {x for x in b.anchors if x.startswith("#:")}
    if numbers_a and numbers_b and not numbers_a & numbers_b:
        return 0.0  # both give figures and none agree: two days' rates, two earthquakes
    if len(va) > len(vb):
        va, vb = vb, va
    cosine = sum(weight * vb.get(term, 0.0) for term, weight in va.items())
    return cosine + ANCHOR_BONUS * min(len(shared), 4)


def assign(
    grouping: Grouping,
    new: Sequence[Features],
    *,
    idf: Mapping[str, float] | None = None,
    threshold: float = THRESHOLD,
    max_size: int = MAX_SIZE,
    window_hours: float = WINDOW_HOURS,
) -> dict[str, str]:
    """Put each new item in the story it is closest to (above ``threshold``, not full), or
    in a story of its own (its id); returns {item id: story id} for the new items.

    Only stories sharing an uncommon anchor with the new item are scored (an inverted index
    of anchors), and each item's vector is built once: an update costs in proportion to its
    new items and the stories they touch, not to the window."""
    everything = [f for members in grouping.members.values() for f in members]
    pool = [*everything, *new]
    weights = idf or _idf(f.terms for f in pool)
    # an anchor most items share (Казахстан, Президент) tells no story from another
    anchor_counts: Counter[str] = Counter(a for f in pool for a in f.anchors)
    common = frozenset(a for a, n in anchor_counts.items() if n > max(8, len(pool) // 25))
    vectors: dict[str, dict[str, float]] = {}

    def vector(f: Features) -> dict[str, float]:
        found = vectors.get(f.id)
        if found is None:
            found = vectors[f.id] = _vector(f.terms, weights)
        return found

    by_anchor: dict[str, set[str]] = {}
    for story, members in grouping.members.items():
        for member in members:
            for anchor in member.anchors - common:
                by_anchor.setdefault(anchor, set()).add(story)
    placed: dict[str, str] = {}
    for item in sorted(new, key=lambda f: (f.published, f.id)):
        best, best_score = None, threshold
        candidates: set[str] = set()
        for anchor in item.anchors - common:
            candidates |= by_anchor.get(anchor, set())
        mine = vector(item)
        for story in sorted(candidates):
            members = grouping.members[story]
            if len(members) >= max_size:
                continue
            scores = [
                _score(item, other, mine, vector(other), window_hours, common) for other in members
            ]
            # the mean, not the best: one loose link must not pull an item into a story
            # (single-link chains snowball); a near-copy of any member still joins
            score = max(sum(scores) / len(scores), max(scores) - 0.25)
            if score > best_score:
                best, best_score = story, score
        story = best or item.id
        grouping.members.setdefault(story, []).append(item)
        grouping.story_of[item.id] = story
        placed[item.id] = story
        for anchor in item.anchors - common:
            by_anchor.setdefault(anchor, set()).add(story)
    return placed
