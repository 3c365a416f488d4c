"""The outbox: alerts a notifier did not take, sent again by the next update or poll.

An alert goes out once per story (`rules.py`), at the end of the update that raised it.  When
a way of sending it fails for a reason that may pass (the command exited with an error or
timed out, Apprise could not deliver), the alert waits in ``outbox.json`` in the data dir,
and the next `update` (or `watch` poll) sends it again that way, until it gets through or
is a day old; `kzfeed alerts` lists it either way.  A way that cannot work as configured (the
program is missing, Apprise is not installed, a URL it cannot use) is not tried again for it.

Each failed try puts the next off longer (a minute, two, four … at most an hour), so a
notifier that is down is not called every poll of `watch --every 30s` for a day.

Two kzfeed processes never both send one waiting alert: a run claims what it sends (its pid,
the time and a token of its own) under the store's lock and lets go after.  A claim is taken
over when its process is gone (it died mid-send) or after ``CLAIM_HOURS`` (its pid has been
reused).

The decisions (`enqueue`, `claim`, `settle`) are pure; `deliver` reads and writes the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .dates import from_iso, to_utc_iso
from .words import ntr, tr

if TYPE_CHECKING:
    from pathlib import Path

    from .config import Config
    from .rules import Alert

OUTBOX = "outbox.json"
KEEP = timedelta(hours=24)  # a waiting alert older than this is not sent any more
CLAIM_HOURS = 6  # a claim of a live process older than this: its pid was reused
RETRY_CAP = timedelta(hours=1)  # the longest wait between two tries

Key = tuple[str, str]  # an alert's item id and rule
#: per alert, per way: delivered (True), failed and worth trying again (False), or failed
#: for good (None: that way cannot work as configured)
Results = Mapping[Key, Mapping[str, bool | None]]


def key(alert: Alert) -> Key:
    return (alert.id, alert.rule)


@dataclass(frozen=True)
class Claim:
    """The run sending an alert now: its process, when it claimed it, its token."""

    pid: int
    at: str  # ISO UTC
    token: str


@dataclass(frozen=True)
class Waiting:
    """An alert in the outbox: the ways it has still to go, when it was queued, how often
    it was tried, when it may be tried next (ISO UTC; None: at once), and the run sending
    it now, if one is."""

    alert: Alert
    ways: tuple[str, ...]
    queued: str  # ISO UTC: when it first went into the outbox (it waits a day from then)
    tries: int = 0
    after: str | None = None
    claim: Claim | None = None

    def to_dict(self) -> dict[str, Any]:
        claim = self.claim
        return {
            "alert": self.alert.to_dict(),
            "ways": list(self.ways),
            "queued": self.queued,
            "tries": self.tries,
            "after": self.after,
            "claim": [claim.pid, claim.at, claim.token] if claim else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiting | None:
        """The entry ``data`` holds; None when it is not one (a damaged file's)."""
        from .rules import Alert

        try:
            claim = data.get("claim")
            after = data.get("after")
            alert = Alert.from_dict(data["alert"])
            return cls(
                alert=alert,
                ways=tuple(str(way) for way in data["ways"]),
                queued=str(data.get("queued") or alert.at),
                tries=int(data.get("tries") or 0),
                after=str(after) if after else None,
                claim=Claim(int(claim[0]), str(claim[1]), str(claim[2])) if claim else None,
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None


def _since(value: str, now: datetime) -> timedelta | None:
    try:
        return now - from_iso(value)
    except (ValueError, TypeError):
        return None


def enqueue(
    waiting: Sequence[Waiting], new: Iterable[Alert], ways: Sequence[str], now: datetime
) -> list[Waiting]:
    """The outbox with ``new`` after what waits (once each, to go every way in ``ways``),
    without what has waited a day (a day either way: a clock set back does not keep an
    alert for ever), and each alert's ways cut to those still configured.  A new alert goes
    whatever its own age (one a cut commit left is raised again with the time it was
    first raised)."""
    out: list[Waiting] = []
    seen: set[Key] = set()
    for entry in waiting:
        age = _since(entry.queued, now)
        kept = tuple(way for way in entry.ways if way in ways)
        if key(entry.alert) in seen or age is None or abs(age) > KEEP or not kept:
            continue
        seen.add(key(entry.alert))
        out.append(replace(entry, ways=kept))
    for alert in new:
        if key(alert) not in seen and ways:
            seen.add(key(alert))
            out.append(Waiting(alert, tuple(ways), to_utc_iso(now)))
    return out


def claim(
    waiting: Sequence[Waiting],
    now: datetime,
    mine: Claim,
    alive: Callable[[int], bool],
) -> tuple[list[Waiting], list[Waiting]]:
    """The outbox with this run's claim (``mine``) on every alert that is due and that no
    other run is sending, and those alerts (this run's to send).  Another run's claim
    stands while its process is ``alive`` and for at most ``CLAIM_HOURS``; one of this
    process's own earlier runs (a `watch` poll whose settling failed) is over."""
    out, taken = [], []
    for entry in waiting:
        other = entry.claim is not None and entry.claim.token != mine.token
        # this process's own earlier claim is over: a run sends and settles in one call
        if other and entry.claim is not None and entry.claim.pid != mine.pid:
            held = _since(entry.claim.at, now)
            if held is not None and held < timedelta(hours=CLAIM_HOURS) and alive(entry.claim.pid):
                out.append(entry)
                continue
        wait = _since(entry.after, now) if entry.after else None
        # tried lately: not due yet (a wait longer than any it is given: a clock set back)
        if wait is not None and -RETRY_CAP <= wait < timedelta(0):
            out.append(replace(entry, claim=None) if other else entry)
            continue
        claimed = replace(entry, claim=mine)
        out.append(claimed)
        taken.append(claimed)
    return out, taken


def retry_delay(tries: int) -> timedelta:
    """How long an alert waits after its ``tries``-th failed try: 1, 2, 4 … 60 minutes."""
    return min(RETRY_CAP, timedelta(minutes=2 ** min(tries - 1, 10)))


def settle(
    waiting: Sequence[Waiting], results: Results, mine: Claim, now: datetime
) -> list[Waiting]:
    """The outbox once this run has sent what it claimed: each of its alerts keeps only the
    ways it failed for a reason that may pass, to be tried again after `retry_delay`, and
    goes when none is left."""
    out = []
    for entry in waiting:
        if entry.claim is None or entry.claim.token != mine.token:
            out.append(entry)
            continue
        result = results.get(key(entry.alert), {})
        left = tuple(way for way in entry.ways if result.get(way, False) is False)
        if left:
            tries = entry.tries + 1
            after = to_utc_iso(now + retry_delay(tries))
            out.append(replace(entry, ways=left, tries=tries, after=after, claim=None))
    return out


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (on this machine; when unsure, yes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError, OverflowError):
        return True  # another user's, or not something this system can tell
    return True


def _load(path: Path) -> list[Waiting]:
    """The outbox; empty when there is none or it is damaged (which costs only the retries
    of what it held)."""
    from .errors import StoreError
    from .store import files

    try:
        data = files.load_json(path)
    except StoreError:
        return []
    rows = data.get("alerts") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return []
    entries = (Waiting.from_dict(row) for row in rows if isinstance(row, dict))
    return [entry for entry in entries if entry is not None]


def waiting_keys(data_dir: Path) -> set[Key]:
    """The alerts waiting in the outbox to be sent again (read as it is, no lock: the
    file is only ever replaced whole)."""
    path = data_dir / OUTBOX
    return {key(w.alert) for w in _load(path)} if path.exists() else set()


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
    """Send a run's new alerts and those waiting from earlier runs that are due; the
    problems met, one line each, and how many alerts wait for a later run.  Nothing is
    imported, read or locked when there is nothing to send (the usual poll)."""
    settings = config.settings
    path = config.data_dir / OUTBOX
    if not (settings.notify or settings.notify_urls) or (not alerts and not path.exists()):
        return []
    from .errors import StoreError
    from .notify import channels, dispatch
    from .store import Store

    ways = channels(settings)
    store = Store(config.data_dir, lock_timeout=settings.lock_timeout)
    mine = Claim(os.getpid(), to_utc_iso(now), os.urandom(6).hex())
    kept: Path | None = path
    problems: list[str] = []
    try:
        with store.locked(on_wait):
            loaded = _load(path)
            waiting, sending = claim(enqueue(loaded, alerts, ways, now), now, mine, _alive)
            if waiting != loaded or not waiting:  # a poll with nothing due writes nothing
                _save(path, waiting)  # (none waiting: the file, damaged or empty, goes)
    except (StoreError, OSError) as exc:  # the lock held elsewhere all along (LockTimeout
        # is a StoreError), or the file not writable: the new alerts go now, in no outbox
        sending, kept = [Waiting(alert, tuple(ways), mine.at) for alert in alerts], None
        problems.append(
            tr("outbox not usable ({reason}): an alert that fails now is not sent again").format(
                reason=_reason(exc)
            )
        )
    if not sending:
        return problems
    chosen = {way: [w.alert for w in sending if way in w.ways] for way in ways}
    started = time.monotonic()
    sent = dispatch(settings, chosen, run=run)
    done = now + timedelta(seconds=time.monotonic() - started)  # the waits count from here
    results: dict[Key, dict[str, bool | None]] = {}
    for way, sent_alerts in chosen.items():
        flags = sent.delivered.get(way)
        for n, alert in enumerate(sent_alerts):
            results.setdefault(key(alert), {})[way] = None if flags is None else flags[n]
    problems.extend(sent.problems)
    if kept is None:
        return problems
    try:
        with store.locked(on_wait):
            waiting = settle(_load(kept), results, mine, done)
            _save(kept, waiting)
    except (StoreError, OSError) as exc:  # this run's claims stand while it lives: a
        # later run sends what they hold again
        problems.append(
            tr("outbox not updated ({reason}): an alert sent now may be sent again").format(
                reason=_reason(exc)
            )
        )
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
