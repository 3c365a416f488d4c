"""The search query (pure): what `--search` and the reader's `/` understand.

    выборы акимов             every word, in any form (выборов, акимы …)
    "базовую ставку"          the exact words, in this order (case, ё and Kazakh letters folded)
    -погода                   not this word
    Токаев OR Tokayev         either (OR binds the words beside it)
    title:Нацбанк             in the title
    feed:tengrinews           carried by that feed (its name or shown title)
    rubric:спорт              in that rubric (a key or a label in any language)
    lang:kk                   in that language

Words compare as terms (`terms.py`): Russian stems, Kazakh letters folded, Latin names read
as Cyrillic — "выборы" finds "выборов", "Тоқаев" and "Tokayev" find "Токаев".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import rubrics
from .language import language_code
from .model import carrying_feeds
from .terms import cyrillic, fold, terms

_PART = re.compile(r'(-?)(?:(\w+):)?("([^"]*)"?|\S+)')
FIELDS = ("title", "feed", "rubric", "lang")


@dataclass(frozen=True)
class Atom:
    """One condition: words (all their terms), or a phrase, in a field or anywhere."""

    field: str | None
    text: str
    phrase: bool
    negated: bool


@dataclass(frozen=True)
class Query:
    """Clauses that must all hold; a clause holds when one of its atoms does."""

    clauses: tuple[tuple[Atom, ...], ...]


@functools.lru_cache(maxsize=256)
def parse(query: str) -> Query:
    """A query's clauses.  Unknown `field:` prefixes are plain words."""
    clauses: list[list[Atom]] = []
    join = False
    for match in _PART.finditer(query):
        minus, field, raw, quoted = match.groups()
        if raw == "OR" and not minus and not field:
            join = bool(clauses)
            continue
        phrase = quoted is not None
        text = quoted if phrase else raw
        if field is not None and field.lower() not in FIELDS:
            text, field = f"{field}:{text}", None
        atom = Atom(field.lower() if field else None, text, phrase, bool(minus))
        if not text.strip():
            continue
        if join and clauses:
            clauses[-1].append(atom)
        else:
            clauses.append([atom])
        join = False
    return Query(tuple(tuple(c) for c in clauses))


def matches(query: Query, record: Mapping[str, Any], feed_titles: Mapping[str, str]) -> bool:
    """Whether a stored item answers the query."""
    return all(
        any(_holds(atom, record, feed_titles) for atom in clause) for clause in query.clauses
    )


def _holds(atom: Atom, record: Mapping[str, Any], feed_titles: Mapping[str, str]) -> bool:
    found = _found(atom, record, feed_titles)
    return not found if atom.negated else found


def _found(atom: Atom, record: Mapping[str, Any], feed_titles: Mapping[str, str]) -> bool:
    if atom.field == "feed":
        wanted = fold(atom.text)
        for name in carrying_feeds(record):
            if fold(name) == wanted or fold(feed_titles.get(name, "")) == wanted:
                return True
        return fold(str(record.get("source") or "")) == wanted
    if atom.field == "rubric":
        key = rubrics.resolve(atom.text)
        return key is not None and key in (record.get("rubrics") or ())
    if atom.field == "lang":
        return (record.get("lang") or "") == (language_code(atom.text) or atom.text.lower())
    text = str(record.get("title") or "")
    if atom.field != "title":
        text += "\n" + str(record.get("summary") or "")
    if atom.phrase:  # whole words, in this order (a word's start is no match: "Нацбан")
        wanted = re.escape(" ".join(fold(atom.text).split()))
        return re.search(rf"(?<!\w){wanted}(?!\w)", " ".join(fold(text).split())) is not None
    variants = asked(atom.text)
    if not variants:  # a stop word alone: as written
        return fold(atom.text) in fold(text)
    lang = str(record.get("lang") or "")
    if lang not in ("kk", "en"):
        # a Russian stem is the start of every form of its word: a text without it as a
        # substring cannot hold the word, and stemming it is skipped (the costly part)
        quick = _quick(text)
        variants = tuple(v for v in variants if all(not t[0].isalpha() or t in quick for t in v))
        if not variants:
            return False
    have = set(_terms_of(text, lang))
    return any(all(term in have for term in variant) for variant in variants)


@functools.lru_cache(maxsize=1024)
def asked(text: str) -> tuple[tuple[str, ...], ...]:
    """The terms a query's words stand for, read as Russian, as Kazakh and as English: the
    stored items' terms carry the Russian of the wire words they translate (`terms.py`'s
    glossary), so "өрт" finds a Kazakh item's "өрт" and a Russian "пожар", "school" an
    English "school" and a Russian "школа"."""
    out: list[tuple[str, ...]] = []
    for lang in (None, "kk", "en"):
        found = tuple(terms(text, lang))
        if found and found not in out:
            out.append(found)
    return tuple(out)


def _quick(text: str) -> str:
    return cyrillic(fold(text)).replace("казак", "казах")


@functools.lru_cache(maxsize=16384)
def _terms_of(text: str, lang: str) -> tuple[str, ...]:
    return tuple(terms(text, lang or None))


def index_clauses(query: Query) -> list[list[list[str]]]:
    """What the term index can look up of a query: for each clause whose atoms are all
    positive words or phrases (anywhere or in the title), its alternatives as lists of
    terms ("title:" before a title's).  Clauses it cannot look up (a -word, a feed:,
    rubric: or lang: field, a stop word alone) are left to the check of each candidate."""
    out: list[list[list[str]]] = []
    for clause in query.clauses:
        alternatives: list[list[str]] = []
        for atom in clause:
            wanted = asked(atom.text) if not atom.negated and atom.field in (None, "title") else ()
            if not wanted:
                alternatives = []
                break
            prefix = "title:" if atom.field == "title" else ""
            alternatives.extend([prefix + term for term in variant] for variant in wanted)
        if alternatives:
            out.append(alternatives)
    return out


_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def spans(query: Query, text: str, lang: str | None = None) -> list[tuple[int, int]]:
    """Where ``text`` answers the query's positive words and phrases: (start, end) of each
    matching word or phrase, in order — for highlighting (`latest`, `show`)."""
    wanted: set[str] = set()
    phrases: list[str] = []
    for clause in query.clauses:
        for atom in clause:
            if atom.negated or atom.field not in (None, "title"):
                continue
            if atom.phrase:
                phrases.append(atom.text)
            else:
                for variant in asked(atom.text):
                    wanted.update(variant)
    found: list[tuple[int, int]] = []
    if wanted:
        for match in _WORD.finditer(text):
            if wanted.intersection(_terms_of(match.group(), lang or "")):
                found.append(match.span())
    for phrase in phrases:
        words = [re.escape(w) for w in phrase.split()]
        if words:
            pattern = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
            found.extend(m.span() for m in pattern.finditer(text))
    return sorted(set(found))
