"""`kzfeed watch`: what a poll brought, as the ticker shows it (pure).

Each poll is an ordinary update (the lock held only while it runs); what it stored is
shown as stories: one line for each story the poll brought, its lead version, with the
other agencies that carried it in the same poll; a version of a story shown before is a
line of its own only when the story had not been shown in this session.  Alerted stories
are marked and rung.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import UsageError
from .model import StoredItem, story_of
from .query import StoryLine, collapse
from .words import tr

_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.I)
UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_every(text: str) -> float:
    """`--every` as seconds: "5m", "90s", "1h", "300" (seconds); 1 s at least."""
    match = _EVERY.match(text)
    if match is None:
        raise UsageError(
            tr("--every takes a time such as 30s, 5m or 1h, not {value}").format(value=repr(text))
        )
    seconds = float(match.group(1)) * UNITS[(match.group(2) or "s").lower()]
    if seconds < 1:
        raise UsageError(tr("--every must be 1 s or more"))
    return seconds


@dataclass(frozen=True)
class Tick:
    """One line of the ticker: a story the poll brought, and whether it is alerted."""

    line: StoryLine
    alerted: bool


def ticks(
    new: Iterable[StoredItem],
    shown: set[str],
    alerted_ids: Sequence[str] = (),
    preferred: Sequence[str] = (),
    titles: Mapping[str, str] | None = None,
) -> list[Tick]:
    """The lines for a poll's new items, oldest first; ``shown`` (the stories shown so far
    in this session) is updated.  A story already shown gets no second line."""
    fresh = [r for r in new if story_of(r) not in shown]
    alerted = set(alerted_ids)
    out = []
    for line in sorted(collapse(fresh, preferred, titles), key=lambda s: s.first):
        story = story_of(line.lead)
        shown.add(story)
        out.append(Tick(line, any(v["id"] in alerted for v in line.versions)))
    return out
