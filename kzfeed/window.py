"""Which period a digest covers, and whether it moves the "since the last digest" mark (pure).

A digest run without a window of its own (`--since`, `--until`, `--date`) covers everything
since the previous such digest of the same format **and the same filters**, and moves that
mark to the end of what it covered; a run with an explicit window, a `--dry-run`, or a
digest with other filters moves nothing, so a `digest --rubric sport`, a `--date` look-up or
a preview never empties (or stretches) the next regular digest.  A mark never moves back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .dates import from_iso, to_utc_iso

FIRST_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Window:
    since: str
    until: str
    basis: str  # "explicit" | "date" | "since-last" | "first"
    mark_key: str | None  # the mark this run moves to `until`, None when it moves none
    previous: str | None = None  # the mark it started from ("since-last")


def mark_key(fmt: str, filters: Mapping[str, object]) -> str:
    """The name of a digest mark: the format and every filter but the window, in a fixed
    order (an unfiltered digest's key is the bare format, as marks were first kept)."""
    parts = []
    for name, value in sorted(filters.items()):
        if value in (None, False, "", (), frozenset()):
            continue
        if isinstance(value, frozenset | set | list | tuple):
            value = ",".join(sorted(map(str, value)))
        parts.append(f"{name}={value}")
    return fmt if not parts else fmt + "|" + "|".join(parts)


def plan(
    *,
    fmt: str,
    filters: Mapping[str, object],
    since: str | None,
    until: str | None,
    by_date: bool,
    marks: Mapping[str, str],
    now: datetime,
    dry_run: bool,
) -> Window:
    """The window of one digest run.  ``since``/``until``: what the user gave (ISO UTC)."""
    if by_date and since and until:
        return Window(since, until, "date", None)
    if since is not None:
        return Window(since, until or to_utc_iso(now), "explicit", None)
    key = mark_key(fmt, filters)
    previous = marks.get(key)
    end = until or to_utc_iso(now)
    moves = None if dry_run or until is not None else key
    if previous is None:
        start = to_utc_iso(now - FIRST_WINDOW)
        return Window(start, end, "first", moves)
    # the previous digest included its end; start one second (the stored precision) later
    start = to_utc_iso(from_iso(previous) + timedelta(seconds=1))
    return Window(start, end, "since-last", moves, previous)


def moved(marks: Mapping[str, str], key: str, until: str) -> str:
    """The mark after a run that covered up to ``until``: never earlier than it was."""
    old = marks.get(key)
    return max(old, until, key=lambda v: from_iso(v)) if old else until
