"""Which story is this item? (pure: items in, story ids out)

The same event told by several agencies — re-titled, shortened, re-ordered, translated —
is one story.  The method, from what is published on near-duplicate detection and news
event clustering, each part measured on the labelled set (bench/stories.py):

1. An item becomes a bag of terms (`terms.py`: folded, transliterated, stemmed, common
   English and Kazakh wire words as the Russian word) from its title (counted twice: a
   headline says what the event is) and its summary.  Its *anchors* are what re-telling
   keeps: names (capitalised words, as their term, so Тоқаевтың = Tokayev = Токаева),
   figures with their scale (4,1 млн = 4.1 million = 4 100 000; 290,000 in English), dates
   (16 ноября = 16 қарашада = Nov. 16) and years.
2. Two items cannot be one story (`_apart`) when published more than ``window`` (48 h)
   apart; when both titles give figures and neither's title figures are among the other's
   figures (two earthquakes' magnitudes, two days' rates — a title's figure is what the
   event is, while summaries pick different details of one event); or when both give dates
   and none agree (the dollar on 24 and on 25 November).  Figures agree as the less precise
   one is written: "почти 300 тысяч" = 290 000, "25 трлн" = 25,2 трлн, but 521,34 ≠ 518,90.
3. An item is scored against a story, not against its items one by one: the TF-IDF cosine
   with the centroid of the story's items it is not apart from (a story's re-tellings
   together share more words with a new one than any single one; the mean of pairwise
   scores missed a third of the pairs), plus a bonus for each shared anchor weighted by
   its rarity (a name in every other item — Tokayev, Kazakhstan — tells little; one in at
   most three items, much), times the share of the story's items it is not apart from.
   A story that shares no anchor with the item counts only when the cosine alone is high
   (``UNNAMED``): re-tellings often name nobody in common ("Россия продлила запрет на
   вывоз бензина" / "Правительство РФ продлило запрет на экспорт бензина").
4. The item joins the story it scores best with above ``threshold`` (not past
   ``max_size``), else starts its own: one best story, not single-link, so chains do not
   snowball.  When it fits two stories made in this update, they merge if the other's items
   score above ``MERGE`` with the joined story: an item that bridges two halves of an event
   (each lacking the other's words) brings them together.  A story given out by an earlier
   update is never merged away: its id stays.

Grouping is incremental and indexed: `assign` takes the stories of the window as they are
and the new items, and scores a new item only against the stories that share with it an
uncommon anchor or one of its heaviest terms (an inverted index, each item's keys made
once), at most ``CANDIDATES`` of them, those sharing the most keys (a busy window offers
dozens, and the story of the item is among those sharing most); a key most stories of the
window share (a busy day's commonest words) is left out of that index — it finds no story
in particular, only many: an update costs in proportion to its new items, not to the
window (1,000 new items into the window of a 365,000-item store: 0.5 s, bench/wire.py).
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from .terms import STOP_WORDS, fold, number, terms

_T = TypeVar("_T")

WINDOW_HOURS = 48
THRESHOLD = 0.25  # a new item joins the closest story scoring above this
MAX_SIZE = 12
TITLE_WEIGHT = 2  # a headline says what the event is
ANCHOR_BONUS = 0.05  # per shared anchor (at most 4), times the anchor's rarity
ANCHOR_RARE = 3  # an anchor in at most this many items weighs fully; in n items, 3/n
UNNAMED = 0.3  # a story that shares no anchor with the item must be this close in terms
INDEX_TERMS = 4  # an item is found by its heaviest terms too, not only by its anchors
CANDIDATES = 16  # at most this many stories are scored for an item
FIGURE_MAX = 1e18  # figures past this are no news but a feed's noise (and overflow rounding)
CENTROIDS_KEPT = 2048  # centroids remembered (each story's growth makes a new one)
CROWDED = 64  # a key of more stories than this finds none in particular: not indexed
MERGE = 0.25  # two of this update's stories an item fits both of become one above this

_CAPITALISED = re.compile(r"\b([A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w'’-]+)")
# a figure: digits (thousands by spaces, or by commas in English), a decimal part, and the
# word after it (a scale: тыс., млн, billion; or a month: a date)
_FIGURE = re.compile(
    r"(?<![\d.,:])(?P<value>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?"
    r"|\d{1,3}(?:,\d{3})+(?![\d.])|\d+(?:[.,]\d+)?)(?![\d:])(?:\s*(?P<word>[^\W\d_]+))?"
)
_MONTH_BEFORE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})\b",
    re.IGNORECASE,
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_DIGIT = re.compile(r"\d")
_SCALES = (
    ("тыс", 3),
    ("мын", 3),
    ("thousand", 3),
    ("млн", 6),
    ("миллион", 6),
    ("million", 6),
    ("mln", 6),
    ("млрд", 9),
    ("миллиард", 9),
    ("billion", 9),
    ("bln", 9),
    ("трлн", 12),
    ("триллион", 12),
    ("trillion", 12),
)
# months: Russian and Kazakh stems (a case ending may follow), English names and abbreviations
_MONTH_STEMS = {
    stem: month
    for month, stems in enumerate(
        (
            "январ кантар",
            "феврал акпан",
            "март наурыз",
            "апрел сауир",
            "мая мае май мамыр",
            "июн маусым",
            "июл шилде",
            "август тамыз",
            "сентябр кыркуйек",
            "октябр казан",
            "ноябр караша",
            "декабр желтоксан",
        ),
        start=1,
    )
    for stem in stems.split()
}
_MONTH_NAMES = {
    name: month
    for month, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ),
        start=1,
    )
    for name in names.split()
}


def _rounded(value: float, digits: int) -> tuple[int, int]:
    """A figure as written: its digits and the power of ten of the last (521,30 ->
    (52130, -2); почти 300 -> (3, 2))."""
    if not value:
        return (0, 0)
    unit = math.floor(math.log10(abs(value))) - digits + 1
    return (round(value / 10.0**unit), unit)


def _roundings(value: float, digits: int) -> set[tuple[int, int]]:
    """A figure as written, and rounded to each fewer digit (290 000 -> 290 000, 300 000)."""
    if not value:
        return {(0, 0)}
    top = math.floor(math.log10(abs(value)))
    return {(round(value / 10.0**unit), unit) for unit in range(top - digits + 1, top + 2)}


@dataclass(frozen=True)
class _Figures:
    """Figures ready to compare: as written, and every rounding of them."""

    written: frozenset[tuple[int, int]]
    rounded: frozenset[tuple[int, int]]

    @classmethod
    def of(cls, figures: Iterable[tuple[float, int]]) -> _Figures:
        listed = list(figures)
        if not listed:
            return _NO_FIGURES  # most items: one shared object, not two empty sets each
        return cls(
            frozenset(_rounded(*f) for f in listed),
            frozenset(r for f in listed for r in _roundings(*f)),
        )

    def agree(self, other: _Figures) -> bool:
        """A figure of one is a figure of the other, as the less precise one writes it:
        25 трлн = 25,2 трлн, почти 300 тысяч = 290 000, but 521,34 != 518,90."""
        return not self.written.isdisjoint(other.rounded) or not other.written.isdisjoint(
            self.rounded
        )


@dataclass(frozen=True)
class Features:
    """What grouping reads of one item: its term bag; its anchors (names "n:", figures
    "#:", dates "d:", years "y:"); its figures as (value, significant digits), all of them
    and those of the title."""

    id: str
    published: datetime
    terms: Counter[str]
    anchors: frozenset[str]
    figures: frozenset[tuple[float, int]] = frozenset()
    headline: frozenset[tuple[float, int]] = frozenset()
    dates: frozenset[str] = frozenset()
    # made once for the comparisons: the figures (all, the title's) and the time, as numbers
    every: _Figures = field(init=False, repr=False, compare=False)
    titled: _Figures = field(init=False, repr=False, compare=False)
    stamp: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "every", _Figures.of(self.figures))
        object.__setattr__(self, "titled", _Figures.of(self.headline))
        object.__setattr__(self, "stamp", self.published.timestamp())

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled with its term bag as a plain dict: the parse workers send the features of
        every new item, and unpickling a Counter runs its constructor and `update` (a
        third of unpickling an answer's features)."""
        state = dict(self.__dict__)
        state["terms"] = dict(self.terms)
        return (_rebuilt, (state,))


def _rebuilt(state: dict[str, Any]) -> Features:
    """`Features` from its pickled state, as it was (nothing worked out again)."""
    found = object.__new__(Features)
    bag: Counter[str] = Counter()
    dict.update(bag, state["terms"])
    state["terms"] = bag
    found.__dict__.update(state)
    return found


_NO_FIGURES = _Figures(frozenset(), frozenset())


def _month(word: str) -> int | None:
    """The month a word names (ноября, қарашада, Nov, November), if any."""
    if word.isascii():
        return _MONTH_NAMES.get(word.lower().rstrip("."))
    word = fold(word)
    for size in (7, 6, 5, 4, 3):
        month = _MONTH_STEMS.get(word[:size])
        if month and len(word) - size <= 4:
            return month
    return None


def _figure(text: str, lang: str | None) -> tuple[float, int, str]:
    """A written number as (value, significant digits, key): "521,30" has five digits and
    "300" one (a re-telling rounds: почти 300 тысяч for 290 000)."""
    if lang == "en" and re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        text = text.replace(",", "")
    written = number(text)
    raw = re.sub(r"[ \u00a0\u202f]", "", text).replace(",", ".")
    digits = raw.replace(".", "").lstrip("0")
    if "." not in raw:
        digits = digits.rstrip("0")
    return float(written), max(1, len(digits)), written


#: Capitalised at a sentence's start, these name an office, not a person or a place: they
#: tell no story from another ("Президент принял …", "Глава государства …", "Prime Minister")
ROLES = frozenset(
    terms(
        "президент президента глава премьер министр правительство парламент мажилис сенат"
        " аким акимат депутат спикер председатель мемлекет басшысы үкімет министрі"
        " president prime minister government head chairman speaker",
        "ru",
    )
    + terms("президенті премьер-министрі мемлекет басшысы үкімет министрлігі", "kk")
    + terms("president prime minister government head chairman speaker", "en")
)


@functools.lru_cache(maxsize=65536)
def _name(word: str, lang: str | None) -> str:
    """A name's anchor: its term (`terms.py`: Тоқаевтың = Tokayev = Токаева) with doubled
    letters single (Kassym = Касым); "" for a stop word, an office (`ROLES`) or a stem of
    two letters."""
    if len(word) <= 2 or fold(word) in STOP_WORDS:
        return ""
    found = terms(word, lang)
    if found and found[0] in ROLES:
        return ""
    name = re.sub(r"(.)\1", r"\1", found[0]) if found else ""
    return name if len(name) > 2 else ""


def features(
    item_id: str,
    published: datetime,
    title: str,
    summary: str,
    lang: str | None,
    *,
    title_terms: Sequence[str] | None = None,
    text_terms: Sequence[str] | None = None,
) -> Features:
    """An item's terms, anchors (names, figures, dates) and figures.  ``title_terms``,
    ``text_terms``: the terms of the title and the summary, when the caller has them."""
    bag: Counter[str] = Counter()
    given = (title_terms, text_terms)
    for (text, weight), known in zip(((title, TITLE_WEIGHT), (summary, 1)), given, strict=True):
        for term in known if known is not None else terms(text, lang):
            bag[term] += weight
    anchors: set[str] = set()
    dates: set[str] = set()
    figures: set[tuple[float, int]] = set()
    headline: set[tuple[float, int]] = set()
    for text in (title, summary):
        for word in _CAPITALISED.findall(text):
            name = _name(word, lang)
            if name:
                anchors.add("n:" + name)
        if _DIGIT.search(text) is None:  # no figure, date or time to find
            continue
        for found in _MONTH_BEFORE.finditer(text):  # Nov. 16
            month = _MONTH_NAMES.get(found.group(1).lower())
            if month:
                dates.add(f"d:{month}-{int(found.group(2))}")
        plain = _TIME.sub(" ", _MONTH_BEFORE.sub(" ", text))
        for found in _FIGURE.finditer(plain):
            value, digits, key = _figure(found.group("value"), lang)
            word = found.group("word") or ""
            month = _month(word) if word and value <= 31 and "." not in key else None
            if month:  # 16 ноября, 18 қарашада
                dates.add(f"d:{month}-{int(value)}")
                continue
            if 1990 <= value <= 2100 and "." not in key:  # a year: anchors, does not veto
                anchors.add("y:" + key)
                continue
            folded = fold(word)
            for scale, power in _SCALES:
                if folded.startswith(scale):  # 4,1 млн = 4.1 million = 4 100 000
                    value *= 10**power
                    key = number(f"{value:.6f}")
                    break
            if key in {"1", "2", "3"}:  # too common to anchor a story
                continue
            if not 0 < value < FIGURE_MAX:  # zero, or no figure of news ("9" × 400): not one
                continue
            anchors.add("#:" + key)
            figures.add((value, digits))
            if text is title:
                headline.add((value, digits))
    return Features(
        item_id,
        published,
        bag,
        _frozen(anchors | dates),
        _frozen(figures),
        _frozen(headline),
        _frozen(dates),
    )


_EMPTY: frozenset[Any] = frozenset()


def _frozen(found: set[_T]) -> frozenset[_T]:
    """A frozen set; the shared empty one when empty (an update holds thousands)."""
    return frozenset(found) if found else _EMPTY


@dataclass
class Grouping:
    """Stories so far: each item's story id and each story's items (features)."""

    story_of: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[Features]] = field(default_factory=dict)
    # what finds each item in the index (its anchors and heaviest terms), made once
    keys: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class Stored:
    """The stories stored near the new items as an index gives them, without reading them
    whole: how many items the window holds; how many of them hold each of some terms and
    anchors (`count_terms`, `count_anchors`: asked only for those of the new items and of
    the stories read); the stories of its items holding a key (`stories_with`: each key's
    stories, at most ``CROWDED`` + 1 of them); the items of the stories a new item could
    join (`load`: once for the likely candidates, then for any other one met)."""

    documents: int
    count_terms: Callable[[Iterable[str]], Mapping[str, int]]
    count_anchors: Callable[[Iterable[str]], Mapping[str, int]]
    stories_with: Callable[[Iterable[str]], dict[str, set[str]]]
    load: Callable[[Iterable[str]], dict[str, list[Features]]]


def _idf(bags: Iterable[Counter[str]]) -> dict[str, float]:
    documents = 0
    seen: Counter[str] = Counter()
    for bag in bags:
        documents += 1
        seen.update(bag.keys())
    return term_weights(seen, documents)


def term_weights(seen: Mapping[str, int], documents: int) -> dict[str, float]:
    """Each term's IDF, from how many of ``documents`` items hold it."""
    return {term: math.log((documents + 1) / (count + 0.5)) for term, count in seen.items()}


def index_keys(f: Features, idf: Mapping[str, float]) -> frozenset[str]:
    """What finds an item's story: its anchors and its ``INDEX_TERMS`` heaviest terms."""
    vector = _vector(f.terms, idf)
    heaviest = sorted(vector, key=vector.__getitem__, reverse=True)[:INDEX_TERMS]
    return f.anchors | {"t:" + term for term in heaviest}


def _vector(bag: Mapping[str, int], idf: Mapping[str, float]) -> dict[str, float]:
    vector = {term: count * idf.get(term, 1.0) for term, count in bag.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {term: v / norm for term, v in vector.items()}


def _cosine(va: Mapping[str, float], vb: Mapping[str, float]) -> float:
    if len(va) > len(vb):
        va, vb = vb, va
    return sum(weight * vb.get(term, 0.0) for term, weight in va.items())


def _apart(a: Features, b: Features, window_hours: float) -> bool:
    """Two items that cannot be one story, whatever their words: published more than the
    window apart; titles that both give figures, none of which the other item repeats (two
    earthquakes' magnitudes, two days' rates); dates that both give and none agree (the
    dollar on 24 and on 25 November)."""
    if abs(a.stamp - b.stamp) > window_hours * 3600:
        return True
    if a.headline and b.headline and not a.titled.agree(b.every) and not b.titled.agree(a.every):
        return True
    return bool(a.dates and b.dates and a.dates.isdisjoint(b.dates))


def _rarity(anchors: Iterable[str], counts: Mapping[str, int] | None) -> float:
    """The weight of shared anchors: each 1 when it is in at most `ANCHOR_RARE` items, less
    the more items it is in (a name in every other item tells little)."""
    if counts is None:
        return float(sum(1 for _ in anchors))
    return sum(min(1.0, ANCHOR_RARE / max(1, counts.get(a, 1))) for a in anchors)


class _Scorer:
    """Scores an item against a story: the cosine of the item's vector and the centroid of
    the story's members it could be one story with, plus the rarity of the anchors they
    share — or, sharing none, the cosine alone when it is above `UNNAMED`; times the share
    of the story's members not ruled out (`_apart`)."""

    def __init__(
        self,
        idf: Mapping[str, float],
        window_hours: float,
        common: frozenset[str],
        counts: Mapping[str, int] | None,
    ) -> None:
        self.idf, self.window_hours, self.common, self.counts = idf, window_hours, common, counts
        self.vectors: dict[str, dict[str, float]] = {}
        self.centroids: dict[tuple[str, ...], tuple[dict[str, float], float, frozenset[str]]] = {}

    def vector(self, f: Features) -> dict[str, float]:
        found = self.vectors.get(f.id)
        if found is None:
            found = self.vectors[f.id] = _vector(f.terms, self.idf)
        return found

    def centroid(
        self, members: Sequence[Features]
    ) -> tuple[dict[str, float], float, frozenset[str]]:
        key = tuple(m.id for m in members)
        found = self.centroids.get(key)
        if found is None:
            total: dict[str, float] = {}
            for member in members:
                for term, weight in self.vector(member).items():
                    total[term] = total.get(term, 0.0) + weight
            norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
            anchors = frozenset().union(*(m.anchors for m in members)) - self.common
            if len(self.centroids) >= CENTROIDS_KEPT:  # a story's old shapes: not again
                self.centroids.clear()
            found = self.centroids[key] = (total, norm, anchors)
        return found

    def score(self, item: Features, members: Sequence[Features]) -> float:
        kept = [m for m in members if not _apart(item, m, self.window_hours)]
        if not kept:
            return 0.0
        centroid, norm, anchors = self.centroid(kept)
        cosine = _cosine(self.vector(item), centroid) / norm
        shared = item.anchors & anchors
        if shared:
            score = cosine + ANCHOR_BONUS * min(_rarity(shared, self.counts), 4.0)
        elif cosine >= UNNAMED:
            score = cosine
        else:
            return 0.0
        return score * len(kept) / len(members)


def similarity(
    a: Features,
    b: Features,
    idf: Mapping[str, float],
    window_hours: float = WINDOW_HOURS,
    common: frozenset[str] = frozenset(),
) -> float:
    """How likely two items tell one event (what `assign` scores, for one item against a
    story of one): 0 when they cannot be one story."""
    return _Scorer(idf, window_hours, common, None).score(a, [b])


def assign(
    grouping: Grouping,
    new: Sequence[Features],
    *,
    idf: Mapping[str, float] | None = None,
    threshold: float = THRESHOLD,
    max_size: int = MAX_SIZE,
    window_hours: float = WINDOW_HOURS,
    stored: Stored | None = None,
) -> dict[str, str]:
    """Put each new item in the story it is closest to (above ``threshold``, not full), or
    in a story of its own (its id); returns {item id: story id} for the new items.

    Only stories sharing an uncommon anchor or one of its heaviest terms with the new item
    are scored (an inverted index; each item's keys are made once, `Grouping.keys`), and
    each vector and centroid is built once: an update costs in proportion to its new items
    and the stories they touch.  Stories made before this update keep their ids: only this
    update's stories merge.

    The window is ``grouping``'s stories or, given ``stored``, the stories an index holds:
    then only the window's counts, the stories the new items' keys find and the items of
    the stories they are scored against are read, so the cost no longer grows with the
    window either (a stored item's keys are those made when it was grouped)."""
    weights: dict[str, float]
    if stored is None:
        pool = [*(f for members in grouping.members.values() for f in members), *new]
        weights = dict(idf) if idf else _idf(f.terms for f in pool)
        # an anchor most items share (Казахстан, Президент) tells no story from another
        counts: Counter[str] = Counter(a for f in pool for a in f.anchors)
        documents = len(pool)
    else:  # the weights of the new items' terms now, of a stored story's when it is read
        documents = stored.documents + len(new)
        seen = Counter(stored.count_terms({t for f in new for t in f.terms}))
        for f in new:
            seen.update(f.terms.keys())
        weights = dict(idf) if idf else term_weights(seen, documents)
        # only the new items' anchors are asked: a shared anchor is one of theirs
        counts = Counter(stored.count_anchors({a for f in new for a in f.anchors}))
        counts.update(a for f in new for a in f.anchors)
    common = frozenset(a for a, n in counts.items() if n > max(8, documents // 25))
    scorer = _Scorer(weights, window_hours, common, counts)

    uncommon: dict[str, frozenset[str]] = {}  # an item's keys less the common ones

    def keys(f: Features) -> frozenset[str]:
        kept = uncommon.get(f.id)
        if kept is not None:
            return kept
        found = grouping.keys.get(f.id)
        if found is None:
            vector = scorer.vector(f)
            heaviest = sorted(vector, key=vector.__getitem__, reverse=True)[:INDEX_TERMS]
            found = grouping.keys[f.id] = f.anchors | {"t:" + term for term in heaviest}
        kept = uncommon[f.id] = found - common
        return kept

    index: dict[str, set[str]] = {}
    if stored is None:
        for story, members in grouping.members.items():
            for member in members:
                for key in keys(member):
                    index.setdefault(key, set()).add(story)
    else:  # the stored stories of the new items' keys (no new item has any other key)
        index = stored.stories_with(set().union(*(keys(f) for f in new)))
    # a key many stories share finds no story in particular: it only makes the candidates
    # many (a busy window's commonest words, a cold start's thousands of stories); the
    # others find them
    crowded: set[str] = {k for k, found in index.items() if len(found) > CROWDED}
    for key in crowded:
        del index[key]

    def indexed(f: Features) -> frozenset[str]:
        return keys(f) - crowded

    def enter(key: str, story: str) -> None:
        stories = index.setdefault(key, set())
        stories.add(story)
        if len(stories) > CROWDED:
            crowded.add(key)
            del index[key]

    def candidates(item: Features) -> list[str]:
        """The stories sharing the most keys with the item, when a busy window offers many."""
        shared: Counter[str] = Counter()
        for key in indexed(item):
            shared.update(index.get(key, ()))
        return heapq.nsmallest(CANDIDATES, shared, key=lambda story: (-shared[story], story))

    asked: set[str] = set()  # stored stories whose items were read

    def load(stories: Iterable[str]) -> None:
        wanted = {story for story in stories if story not in grouping.members} - asked
        if stored is not None and wanted:
            asked.update(wanted)
            for story, members in stored.load(wanted).items():
                grouping.members.setdefault(story, []).extend(members)
                unknown = {t for m in members for t in m.terms if t not in weights}
                if unknown and not idf:  # no new item has them: the window's count alone
                    weights.update(term_weights(stored.count_terms(unknown), documents))

    if stored is not None:  # the stored stories the new items are likely scored against
        load(story for item in new for story in candidates(item))

    placed: dict[str, str] = {}
    for item in sorted(new, key=lambda f: (f.published, f.id)):
        best, best_score = None, threshold
        fits: list[str] = []
        found = candidates(item)
        load(found)  # a stored story that this update's items made a candidate
        for story in found:
            members = grouping.members.get(story, [])
            if not members or len(members) >= max_size:
                continue
            score = scorer.score(item, members)
            if score > threshold:
                fits.append(story)
            if score > best_score:
                best, best_score = story, score
        story = best or item.id
        grouping.members.setdefault(story, []).append(item)
        grouping.story_of[item.id] = story
        placed[item.id] = story
        for key in indexed(item):
            enter(key, story)
        # the item may bridge two stories of this update that each lacked the other's words
        for other in fits:
            _merge(grouping, story, other, placed, scorer, max_size, enter, indexed)
    return placed


def _merge(
    grouping: Grouping,
    story: str,
    other: str,
    placed: dict[str, str],
    scorer: _Scorer,
    max_size: int,
    enter: Callable[[str, str], None],
    keys: Callable[[Features], frozenset[str]],
) -> None:
    """Merge ``other`` into ``story`` when it is made of this update's items only (a story
    given out earlier keeps its id), both fit in ``max_size``, and the other's items score
    above `MERGE` on average against ``story``."""
    mine, theirs = grouping.members[story], grouping.members.get(other)
    if other == story or not theirs or len(mine) + len(theirs) > max_size:
        return
    if any(f.id not in placed for f in theirs):
        return
    if sum(scorer.score(f, mine) for f in theirs) / len(theirs) <= MERGE:
        return
    for f in theirs:
        grouping.story_of[f.id] = placed[f.id] = story
        for key in keys(f):
            enter(key, story)
    mine.extend(theirs)
    del grouping.members[other]
