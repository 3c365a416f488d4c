"""The outbox: alerts a notifier did not take, sent again by the next update or poll.

An alert goes out once per story (`rules.py`), at the end of the update that raised it.  When
a way of sending it fails for a reason that may pass (the command exited with an error or
timed out, Apprise could not deliver), the alert waits in ``outbox.json`` in the data dir,
and the next `update` (or `watch` poll) sends it again that way, until it gets through or
is a day old; `kzfeed alerts` lists it either way.  A way that cannot work as configured (the
program is missing, Apprise is not installed, a URL it cannot use) is not tried again for it.

Two kzfeed processes never both send one waiting alert: a run claims what it sends (its pid
and the time) under the store's lock and lets go after; a claim older than
``CLAIM_SECONDS`` is a process that died mid-send, and is taken over.

The decisions (`enqueue`, `claim`, `settle`) are pure; `deliver` reads and writes the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .dates import from_iso, to_utc_iso
from .words import ntr

if TYPE_CHECKING:
    from pathlib import Path

    from .config import Config
    from .rules import Alert

OUTBOX = "outbox.json"
KEEP = timedelta(hours=24)  # an alert older than this is not sent any more
CLAIM_SECONDS = 600  # the longest a run may take to send what it claimed

Key = tuple[str, str]  # an alert's item id and rule
#: per alert, per way: delivered (True), failed and worth trying again (False), or failed
#: for good (None: that way cannot work as configured)
Results = Mapping[Key, Mapping[str, bool | None]]


def key(alert: Alert) -> Key:
    return (alert.id, alert.rule)


@dataclass(frozen=True)
class Waiting:
    """An alert in the outbox: the ways it has still to go, how often it was tried, and
    the run sending it now (pid, ISO time), if one is."""

    alert: Alert
    ways: tuple[str, ...]
    tries: int = 0
    claim: tuple[int, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert.to_dict(),
            "ways": list(self.ways),
            "tries": self.tries,
            "claim": list(self.claim) if self.claim else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiting | None:
        """The entry ``data`` holds; None when it is not one (a damaged file's)."""
        from .rules import Alert

        try:
            claim = data.get("claim")
            return cls(
                alert=Alert.from_dict(data["alert"]),
                ways=tuple(str(way) for way in data["ways"]),
                tries=int(data.get("tries") or 0),
                claim=(int(claim[0]), str(claim[1])) if claim else None,
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None


def _age(alert: Alert, now: datetime) -> timedelta | None:
    try:
        return now - from_iso(alert.at)
    except (ValueError, TypeError):
        return None


def enqueue(
    waiting: Sequence[Waiting], new: Iterable[Alert], ways: Sequence[str], now: datetime
) -> list[Waiting]:
    """The outbox with ``new`` in it (once each, to go every way in ``ways``), without the
    alerts a day old, and each alert's ways cut to those still configured."""
    out: list[Waiting] = []
    seen: set[Key] = set()
    for entry in [*waiting, *(Waiting(alert, tuple(ways)) for alert in new)]:
        age = _age(entry.alert, now)
        kept = tuple(way for way in entry.ways if way in ways)
        if key(entry.alert) in seen or age is None or age > KEEP or not kept:
            continue
        seen.add(key(entry.alert))
        out.append(replace(entry, ways=kept))
    return out


def claim(
    waiting: Sequence[Waiting], now: datetime, pid: int
) -> tuple[list[Waiting], list[Waiting]]:
    """The outbox with this run's claim on every alert no other live run is sending, and
    those alerts (this run's to send)."""
    out, mine = [], []
    stamp = to_utc_iso(now)
    for entry in waiting:
        if entry.claim is not None and entry.claim[0] != pid:
            try:
                held = (now - from_iso(entry.claim[1])).total_seconds() < CLAIM_SECONDS
            except (ValueError, TypeError):
                held = False
            if held:
                out.append(entry)
                continue
        taken = replace(entry, claim=(pid, stamp))
        out.append(taken)
        mine.append(taken)
    return out, mine


def settle(waiting: Sequence[Waiting], results: Results, pid: int) -> list[Waiting]:
    """The outbox once this run has sent what it claimed: each of its alerts keeps only the
    ways it failed for a reason that may pass, and goes when none is left."""
    out = []
    for entry in waiting:
        if entry.claim is None or entry.claim[0] != pid:
            out.append(entry)
            continue
        result = results.get(key(entry.alert), {})
        left = tuple(way for way in entry.ways if result.get(way, False) is False)
        if left:
            out.append(replace(entry, ways=left, tries=entry.tries + 1, claim=None))
    return out


def _load(path: Path) -> list[Waiting]:
    """The outbox; empty when there is none or it is damaged (which costs only the retries
    of what it held)."""
    from .errors import StoreError
    from .store import files

    try:
        data = files.load_json(path)
    except StoreError:
        return []
    rows = (data or {}).get("alerts", [])
    entries = (Waiting.from_dict(row) for row in rows if isinstance(row, dict))
    return [entry for entry in entries if entry is not None] if isinstance(rows, list) else []


def _save(path: Path, waiting: Sequence[Waiting]) -> None:
    """The outbox written atomically; an empty one is no file (a run then takes no lock)."""
    from .store import files

    if waiting:
        files.write_atomic(path, files.dumps({"alerts": [w.to_dict() for w in waiting]}))
    else:
        path.unlink(missing_ok=True)


def deliver(
    config: Config,
    alerts: Sequence[Alert],
    *,
    now: datetime,
    run: Callable[[list[str]], str | None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[str]:
    """Send a run's new alerts and those waiting from earlier runs; the problems met, one
    line each, and how many alerts wait for the next run.  Nothing is read or locked when
    there is nothing to send (the usual poll)."""
    from .errors import LockTimeout, StoreError, describe
    from .notify import channels, dispatch
    from .store import Store

    ways = channels(config.settings)
    path = config.data_dir / OUTBOX
    if not ways or (not alerts and not path.exists()):
        return []
    store = Store(config.data_dir, lock_timeout=config.settings.lock_timeout)
    pid = os.getpid()
    kept: Path | None = path
    problems: list[str] = []
    try:
        with store.locked(wait=False):
            waiting, mine = claim(enqueue(_load(path), alerts, ways, now), now, pid)
            _save(path, waiting)
    except (LockTimeout, StoreError, OSError) as exc:  # another kzfeed is writing, or the
        # file cannot be written: the new alerts go now, and wait in no outbox
        mine, kept = [Waiting(alert, tuple(ways)) for alert in alerts], None
        if not isinstance(exc, LockTimeout):
            problems.append(describe(exc, 200))
    if not mine:
        return []
    chosen = {way: [w.alert for w in mine if way in w.ways] for way in ways}
    sent = dispatch(config.settings, chosen, run=run)
    results: dict[Key, dict[str, bool | None]] = {}
    for way, sent_alerts in chosen.items():
        flags = sent.delivered.get(way)
        for n, alert in enumerate(sent_alerts):
            results.setdefault(key(alert), {})[way] = None if flags is None else flags[n]
    problems.extend(sent.problems)
    if kept is not None:
        try:
            with store.locked(on_wait):
                waiting = settle(_load(kept), results, pid)
                _save(kept, waiting)
        except (StoreError, OSError) as exc:  # its claims lapse after CLAIM_SECONDS, and
            # a later run sends what they hold again
            problems.append(describe(exc, 200))
            return problems
        left = sum(1 for w in waiting if key(w.alert) in results)
        if left:
            problems.append(
                ntr(
                    "{n} alert waits to be sent again by the next update",
                    "{n} alerts wait to be sent again by the next update",
                    left,
                ).format(n=left)
            )
    return problems
