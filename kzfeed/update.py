"""`update`: the one place that calls the stages in order.

    config -> due? -> fetch (async, httpx) -> unchanged body? -> parse+normalize (worker
    processes) -> dedup decisions -> store (one commit) -> retention

Fetching runs on the event loop; parsing never does: bodies go to a process pool (a
thread for one or two feeds), so feedparser uses every core and the loop keeps fetching.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import dedup
from .config import Config
from .dates import from_iso, to_utc_iso, utcnow, zone
from .errors import FeedError, NotFound, StoreError, describe
from .model import FeedResult, FeedSpec, FeedState, FetchResult, ParsedFeed, effective_url
from .store import Store, retention_cutoff
from .words import count, ntr, tr

if TYPE_CHECKING:
    from .rules import Alert


@dataclass
class UpdateReport:
    feeds: list[FeedResult] = field(default_factory=list)
    pruned: int = 0
    alerts: list[Alert] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)  # the items this run stored first
    notes: list[str] = field(default_factory=list)  # what went wrong past the feeds

    @property
    def new(self) -> int:
        return sum(f.new for f in self.feeds)

    @property
    def updated(self) -> int:
        return sum(f.updated for f in self.feeds)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.feeds if f.status == "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "updated": self.updated,
            "errors": self.errors,
            "feeds": [f.to_dict() for f in self.feeds],
            "alerts": [
                {k: a.to_dict()[k] for k in ("rule", "id", "title", "url", "feed")}
                for a in self.alerts
            ],
            "notes": self.notes,
        }


# ---------------------------------------------------------------- pure decisions


BACKOFF_START = timedelta(minutes=15)
BACKOFF_CAP = timedelta(hours=24)


def backoff(fetched_at: str, failures: int) -> str | None:
    """When a failing feed may be tried again: a single failure is retried at once (a blip);
    from the second in a row, 15 min, 30 min, 1 h … doubling up to a day."""
    if failures < 2 or not fetched_at:
        return None
    delay = min(BACKOFF_START * (2 ** min(failures - 2, 10)), BACKOFF_CAP)
    return to_utc_iso(from_iso(fetched_at) + delay)


def due(spec: FeedSpec, state: FeedState | None, now: datetime, force: bool) -> str | None:
    """Why the feed is not fetched now, or None when it is due."""
    if spec.disabled:
        return tr("disabled in the config")
    if state is not None and state.disabled:
        if state.last_error:
            return tr("disabled: {reason}").format(reason=state.last_error)
        return tr("disabled: by the user")
    if not force and state is not None and state.next_fetch and from_iso(state.next_fetch) > now:
        why = (
            ntr(
                "backing off after {n} failures in a row",
                "backing off after {n} failures in a row",
                state.failures,
            ).format(n=state.failures)
            if state.failures >= 2 and state.last_status not in (429, 503)
            else tr("the server asked")
        )
        return tr("not due before {when} ({why}; --force overrides)").format(
            when=state.next_fetch, why=why
        )
    return None


def next_state(
    spec: FeedSpec,
    state: FeedState | None,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    body_hash: str | None,
) -> FeedState:
    """The feed's state after this fetch (pure)."""
    old = state or FeedState(name=spec.name)
    base = replace(
        old,
        last_fetch=fetched.fetched_at,
        last_status=fetched.status,
        next_fetch=fetched.retry_after,
    )
    if fetched.permanent_url and fetched.error is None:
        base = replace(base, url=fetched.permanent_url, config_url=spec.url)
    error = fetched.error or (parsed.error if parsed is not None else None)
    if error is not None:
        failures = old.failures + 1
        return replace(
            base,
            last_error=error,
            failures=failures,
            disabled=old.disabled or fetched.gone,
            next_fetch=fetched.retry_after or backoff(fetched.fetched_at, failures),
        )
    return replace(
        base,
        etag=fetched.etag if not fetched.not_modified else (fetched.etag or old.etag),
        last_modified=(
            fetched.last_modified
            if not fetched.not_modified
            else (fetched.last_modified or old.last_modified)
        ),
        body_hash=body_hash or old.body_hash,
        wire_hash=old.wire_hash if fetched.not_modified else fetched.wire_hash,
        head_print=parsed.prints[0]
        if parsed is not None and parsed.prints
        else (old.head_print if parsed is None else None),
        item_facts=parsed.prints[1]
        if parsed is not None and parsed.prints
        else (old.item_facts if parsed is None else {}),
        last_success=fetched.fetched_at,
        last_error=None,
        failures=0,
        title=(parsed.title if parsed is not None and parsed.title else old.title),
        note=parsed.note if parsed is not None else old.note,
    )


# ---------------------------------------------------------------- the parse worker


def parse_job(
    spec: FeedSpec,
    body: bytes,
    headers: tuple[tuple[str, str], ...],
    fetched_at: str,
    base_url: str,
    tz_name: str,
    aliases: dict[str, str],
    max_items: int | None = None,
    previous: tuple[str | None, dict[str, str]] | None = None,
    coding: str | None = None,
    cap: int = 0,
    known_hash: str | None = None,
) -> ParsedFeed:
    """Parse and normalize one body (runs in a worker process; pure but for CPU).

    ``previous``: the last body's head fingerprint and item fingerprints with their identity
    facts.  When this body splits into items (`splitfeed.py`) under the same head, only the
    items not seen in that form are parsed, and the others' facts stand in for them.

    ``coding``: the body came compressed so ("gzip", "deflate"); it is inflated here, capped
    at ``cap`` bytes, and hashed: when that is ``known_hash`` (the last stored body's), it is
    not parsed (``same_body``)."""
    from .normalize import Facts, facts_of, normalize_entries, same_identities
    from .parse import parse_bytes
    from .sanitize import clean_line
    from .wire import BodyTooLarge, Refused, body_hash, inflate

    digest: str | None = None
    try:
        if coding is not None:
            try:
                body = inflate(body, coding, cap)
            except (BodyTooLarge, Refused) as exc:
                return ParsedFeed(spec.name, None, (), error=str(exc), refused=True)
            digest = body_hash(body)
            if digest == known_hash:
                return ParsedFeed(spec.name, None, (), body_hash=digest, same_body=True)
        # No Content-Location: feedparser would resolve GUIDs against it, and an item's
        # identity must not change with the URL it was fetched from (mirrors, redirects).
        # Relative links are resolved by normalize against the final URL instead.
        header_map = {k: v for k, v in headers if k.lower() != "content-location"}
        http_base = base_url if base_url.startswith(("http://", "https://")) else None
        plan = _Plan(body, None, None, None, ())
        if spec.type == "html":
            from .htmlsource import parse_list

            page = parse_list(
                body,
                header_map,
                spec,
                base_url=base_url,
                tz=zone(tz_name),
                now=from_iso(fetched_at),
            )
            entries, raw_title, language, note = page.entries, page.title, spec.lang, page.note
            # a news list's unchanged blocks are not normalized again either
            plan = _changed_blocks(entries, raw_title, base_url, previous)
            if plan.kept is not None:
                chosen = [entries[n] for n in plan.kept]
                if same_identities(
                    plan.known,
                    facts_of(chosen, http_base),
                    (read_facts(f)[0] for f in (previous or (None, {}))[1].values()),
                ):
                    entries = chosen
                else:
                    plan = _Plan(body, plan.item_prints, plan.head, None, ())
        else:
            plan = _changed_only(body, base_url, previous, max_items)
            raw = parse_bytes(plan.body, header_map, zone(tz_name), max_items)
            if plan.kept is not None and (
                len(raw.entries) != len(plan.kept)  # not one to one
                or not same_identities(
                    plan.known,
                    facts_of(raw.entries, http_base),
                    (read_facts(f)[0] for f in (previous or (None, {}))[1].values()),
                )  # a GUID or link the new items share with the others: keyed anew
            ):
                plan = _Plan(body, plan.item_prints, plan.head, None, ())
                raw = parse_bytes(body, header_map, zone(tz_name), max_items)
            entries, raw_title, language, note = raw.entries, raw.title, raw.language, raw.note
        empty: list[int] = []
        facts: list[Facts] = []
        items = normalize_entries(
            entries,
            spec,
            fetched=from_iso(fetched_at),
            feed_title=raw_title,
            feed_language=language,
            base_url=http_base,
            aliases=aliases,
            empty=empty,
            known=plan.known,
            facts=facts,
        )
        title = clean_line(raw_title or "") or None
        if not items and entries and not plan.known:  # of the whole body, not of its news
            note = ntr(
                "none of its {n} entries has a title, text or link",
                "none of its {n} entries has a title, text or link",
                len(entries),
            ).format(n=len(entries))
        left_out = set(empty)  # an entry with nothing to show is remembered as such ("e")
        marked = [write_facts(f, n in left_out) for n, f in enumerate(facts)]
        prints = plan.prints(marked, previous)
        unchanged = len(plan.known)
        from .grouping import analyse

        # stemmed here, on every core, not later in the one main process
        analysed = {
            item.id: (
                item.content_hash,
                analyse(
                    {
                        "id": item.id,
                        "feed": item.feed,
                        "published": item.published,
                        "title": item.title,
                        "summary": item.summary,
                        "lang": item.lang,
                    }
                ),
            )
            for item in items
        }
        return ParsedFeed(
            spec.name,
            title,
            items,
            empty=len(empty) + plan.empty,
            note=note,
            prints=prints,
            unchanged=unchanged,
            analysed=analysed,
            body_hash=digest,
        )
    except FeedError as exc:
        return ParsedFeed(spec.name, None, (), error=str(exc))
    except Exception as exc:  # a parser bug must cost one feed, not the run
        error = tr("parser failed: {reason}").format(reason=describe(exc))
        return ParsedFeed(spec.name, None, (), error=error)


@dataclass(frozen=True)
class _Plan:
    """What a worker hands feedparser: the whole body, or (``kept`` not None) the head, the
    items numbered ``kept`` and the tail, with the identity facts of the others (``known``)."""

    body: bytes
    item_prints: tuple[str, ...] | None  # each item's fingerprint, when it split
    head: str | None
    kept: tuple[int, ...] | None
    known: tuple[Any, ...]
    empty: int = 0  # of the unchanged items, those with nothing to show

    def prints(
        self,
        facts: list[str],
        previous: tuple[str | None, dict[str, str]] | None,
    ) -> tuple[str, dict[str, str]] | None:
        """The fingerprints to keep for next time: each item's with its facts (None when
        the entries parsed do not match the items one to one)."""
        item_prints = self.item_prints
        if item_prints is None or self.head is None:
            return None
        if self.kept is None:
            if len(facts) != len(item_prints):
                return None
            return self.head, dict(zip(item_prints, facts, strict=True))
        old = previous[1] if previous is not None else {}
        found = dict(zip((item_prints[n] for n in self.kept), facts, strict=True))
        return self.head, {p: found[p] if p in found else old[p] for p in item_prints}


def write_facts(facts: Any, empty: bool) -> str:
    """An item's identity facts as the feed's state keeps them: "story,guid,link[,e]"."""
    return ",".join((*(part or "" for part in facts), *(("e",) if empty else ())))


def read_facts(kept: Any) -> tuple[tuple[str, str | None, str | None], bool]:
    """(facts, whether the item had nothing to show); empty facts when damaged."""
    parts = str(kept).split(",")
    if len(parts) not in (3, 4):
        return ("", None, None), False
    return (parts[0], parts[1] or None, parts[2] or None), len(parts) == 4


def _changed_only(
    body: bytes,
    base_url: str,
    previous: tuple[str | None, dict[str, str]] | None,
    max_items: int | None,
) -> _Plan:
    """The body a worker parses: only the new or edited items when the body splits, its
    head is the last one's (and the URL it came from), and every other item is known."""
    from .splitfeed import fingerprint, rejoin, split

    parts = split(body)
    if parts is None:
        return _Plan(body, None, None, None, ())
    head = fingerprint(parts.head + b"\x00" + parts.tail + b"\x00" + base_url.encode())
    item_prints = parts.item_prints()
    if max_items and len(item_prints) > max_items:
        return _Plan(body, item_prints, head, None, ())
    plan = _unchanged(body, item_prints, head, previous)
    if plan.kept is None:
        return plan
    return _Plan(rejoin(parts, plan.kept), item_prints, head, plan.kept, plan.known, plan.empty)


def _unchanged(
    body: bytes,
    item_prints: tuple[str, ...],
    head: str,
    previous: tuple[str | None, dict[str, str]] | None,
) -> _Plan:
    """Which items are new or edited under the same head, and the facts of the others."""
    if previous is None or previous[0] != head:
        return _Plan(body, item_prints, head, None, ())
    known_facts = previous[1]
    kept = tuple(n for n, p in enumerate(item_prints) if p not in known_facts)
    old = [read_facts(known_facts[p]) for p in item_prints if p in known_facts]
    known = tuple(f for f, _empty in old if f[0])
    if len(known) + len(kept) != len(item_prints):
        return _Plan(body, item_prints, head, None, ())  # facts damaged: whole
    empty = sum(1 for _f, was_empty in old if was_empty)
    return _Plan(body, item_prints, head, kept, known, empty)


def _changed_blocks(
    entries: Sequence[Any],
    title: str | None,
    base_url: str,
    previous: tuple[str | None, dict[str, str]] | None,
) -> _Plan:
    """A news list's blocks as items: each entry the selectors made, fingerprinted as made
    (its dates already read against the fetch time), under the page's title and URL."""
    from .splitfeed import fingerprint

    item_prints = tuple(
        fingerprint(repr(sorted((k, repr(v)) for k, v in entry.items())).encode())
        for entry in entries
    )
    head = fingerprint(((title or "") + "\x00" + base_url).encode())
    return _unchanged(b"", item_prints, head, previous)


# ---------------------------------------------------------------- the run


ProgressHook = Callable[[str, str], None]  # (feed name, what happened)


@dataclass
class _Outcome:
    spec: FeedSpec
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None
    body_hash: str | None = None
    skipped: str | None = None
    done: bool = False  # fetched and parsed (or failed, or skipped): ready to be stored


def select_feeds(config: Config, names: Sequence[str] | None) -> list[FeedSpec]:
    if not names:
        return list(config.feeds)
    chosen = []
    for name in names:
        spec = config.feed(name)
        if spec is None:
            known = ", ".join(f.name for f in config.feeds) or tr("none")
            raise NotFound(
                tr("no feed named {name} in {path} (feeds: {known})").format(
                    name=repr(name), path=config.path, known=known
                )
            )
        chosen.append(spec)
    return chosen


def update(
    config: Config,
    names: Sequence[str] | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress: ProgressHook | None = None,
    on_wait: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> UpdateReport:
    """Fetch, parse, dedup and store the chosen feeds (all by default)."""
    specs = select_feeds(config, names)
    settings = config.settings
    store = Store(config.data_dir, lock_timeout=settings.lock_timeout)
    report = UpdateReport()
    with store.writer(on_wait=on_wait) as writer:
        states = store.feed_states()
        now = now or utcnow()
        outcomes: list[_Outcome] = []
        todo: list[_Outcome] = []
        for spec in specs:
            outcome = _Outcome(spec)
            outcome.skipped = due(spec, states.get(spec.name), now, force)
            outcome.done = outcome.skipped is not None
            outcomes.append(outcome)
            if outcome.skipped is None:
                todo.append(outcome)
        cutoff = retention_cutoff(settings.retention_days, now)
        cutoff_iso = to_utc_iso(cutoff) if cutoff else None
        wanted: list[tuple[str, str]] = []  # (item id, url) of new items to read in full
        stored = 0  # how many of the outcomes are stored, in order

        stopped = False  # the store failed: the run ends, and nothing more is written

        def store_ready() -> None:
            """Store the feeds parsed so far, in the config's order (which of two feeds'
            copies of a story is stored first does not depend on which answered first), as
            soon as each one and all before it are ready: an update holds only the parsed
            feeds waiting for an earlier one, not every feed's items at once.  Once the
            store has failed, the feeds still parsing are never stored (their tasks go on
            for a moment before the run is torn down)."""
            nonlocal stored, stopped
            try:
                while not stopped and stored < len(outcomes) and outcomes[stored].done:
                    outcome = outcomes[stored]
                    stored += 1
                    state = states.get(outcome.spec.name)
                    try:
                        result = _store_outcome(writer, outcome, state, cutoff_iso, wanted)
                    except StoreError:
                        raise  # the database itself: the run stops, nothing more is written
                    except Exception as exc:  # one feed's bad data costs that feed only
                        result = _failed_outcome(writer, outcome, state, exc)
                    report.feeds.append(result)
                    outcome.parsed = None  # its items are the batch's now
                    if _part_due(len(writer.new_ids)):  # a big update: written as it goes
                        _settle(writer, report, config, states, now)
                        writer.commit()
                        writer.release()
                        _give_back_memory()
            except BaseException:
                stopped = True
                raise

        store_ready()
        if todo:
            _run(todo, states, config, jobs or settings.jobs, force, progress, store_ready)
        store_ready()
        _settle(writer, report, config, states, now)
        if cutoff is not None:
            report.pruned = writer.prune(cutoff, now)
    if wanted:  # the articles are fetched with the lock released: a reader's marks go on
        texts = _read_articles(wanted, config)
        if texts:
            with store.writer(on_wait=on_wait) as writer:
                for item_id, text in texts.items():
                    writer.set_full_text(item_id, text)
    return report


#: An update that brings more new items than this (a backlog of big feeds subscribed at
#: once) writes them this many at a time: each part is grouped, ruled and committed, and
#: the partitions it read are let go, so an update's memory has a ceiling.  Since days are
#: patched rather than decoded, a part costs little more than its items: adding 67,446
#: items peaked at 456 MB in parts of 25,000 and 345 MB in parts of 10,000, while a cold
#: start of 22,458 took 0.5-0.9 s longer in three parts than in one
COMMIT_EVERY = 10_000


#: ... or sooner, once half of that is waiting, when the process holds more than this: the
#: store's own structures grow with it, and the heap does not shrink all the way back after
#: a part (the biggest update's parts began at 210 MB, and at 261 MB by the sixth), while a
#: commit adds 30-45 MB to where its part began.  Half parts when memory is short: that
#: update peaked at 248-257 MB (parts of 10,000 only: 270-304 MB; parts cut at a tenth:
#: the same memory, but each commit rewrites the big days it appends to: 3-5 s longer)
COMMIT_ABOVE_MB = 220


def _part_due(waiting: int) -> bool:
    """Whether the new items waiting make a part to commit now."""
    if waiting >= COMMIT_EVERY:
        return True
    return waiting >= COMMIT_EVERY // 2 and _resident_mb() > COMMIT_ABOVE_MB


def _resident_mb() -> float:
    """The process's resident memory now (Linux; 0 elsewhere: parts by count only)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _give_back_memory() -> None:
    """Hand the memory a committed part freed back to the system (glibc keeps freed heap
    pages otherwise: the biggest update's peak, 341 MB, was 311 MB with this after each
    part).  Elsewhere, or if it fails, nothing is done."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)


def _settle(
    writer: Any, report: UpdateReport, config: Config, states: dict[str, FeedState], now: datetime
) -> None:
    """The batch's new items into their stories, then the rules (a failure of either is a
    note: the items stay stored).  Alerts a cut commit raised and did not keep are raised
    again first (`Writer.pending_alerts`), once per story."""
    pending = writer.pending_alerts()
    if pending:
        report.alerts.extend(_raise_pending(writer, pending))
    if not writer.new_ids:
        return
    report.new_ids.extend(writer.new_ids)
    try:
        _group_stories(writer)
    except StoreError:
        raise
    except Exception as exc:  # the items are stored: each a story of its own
        report.notes.append(internal_error("stories", exc))
    if config.rules:
        try:
            report.alerts.extend(_apply_rules(writer, config, states, now))
        except StoreError:
            raise
        except Exception as exc:  # the items are stored: the rules did not act
            report.notes.append(internal_error("rules", exc))
    writer.new_ids.clear()


def _raise_pending(writer: Any, rows: list[dict[str, Any]]) -> list[Alert]:
    """Of the alerts a cut commit did not keep, those of stored items whose story no alert
    holds yet: kept now, and reported (so sent) with this run's."""
    from .rules import Alert

    alerted = writer.store.alerted_stories()
    again = []
    for row in rows:
        alert = Alert.from_dict(row)
        if alert.story in alerted or writer.get(alert.id) is None:
            continue
        alerted.add(alert.story)
        again.append(alert)
    writer.add_alerts(again)
    return again


def _group_stories(writer: Any) -> None:
    """Put each new item in its story: compared with the stories stored near it in time —
    as the term index tells of them when it is current (the window is not read), else read
    from the window's partitions."""
    from .grouping import group, window_days
    from .store import partition_of
    from .store.termindex import TermIndex, is_pending
    from .stories import WINDOW_HOURS

    new = [r for r in (writer.get(i) for i in writer.new_ids) if r is not None]
    if not new:
        return
    # no story joins items further apart than its window: what lies outside it is not read
    reach = timedelta(hours=WINDOW_HOURS)
    start = to_utc_iso(min(from_iso(r["published"]) for r in new) - reach)
    end = to_utc_iso(max(from_iso(r["published"]) for r in new) + reach)
    placed = None
    index = TermIndex.open(writer.store.data_dir)
    if index is not None:
        try:
            # current: every stored item in it (this batch's changes are not, yet)
            if not is_pending(writer.store.data_dir) and (
                index.count() == writer.store.item_count()
            ):
                leave_out = {*writer.new_ids, *writer.dropped_ids}
                placed = group(index.window(start, end, leave_out), new, writer.analysed)
        except Exception:  # derived data: without it the window is read
            placed = None
        finally:
            index.close()
    if placed is None:
        days = window_days({partition_of(r["published"]) for r in new})
        window = [
            r
            for day in sorted(days)
            for r in writer.partition_records(day)
            if start <= r["published"] <= end
        ]
        placed = group(window, new, writer.analysed)
    stories, keys = placed
    writer.story_keys.update(keys)
    for item_id, story in stories.items():
        if story != item_id:
            writer.set_fields(item_id, story=story)


def _apply_rules(
    writer: Any, config: Config, states: dict[str, FeedState], now: datetime
) -> list[Alert]:
    """The rules' actions on the new items; the alerts they raise (once per story)."""
    from .model import feed_names
    from .rules import alerts, effect

    titles = feed_names(config.feeds, states)
    new = [r for r in (writer.get(i) for i in writer.new_ids) if r is not None]
    new.sort(key=lambda r: (r["published"], r["id"]))
    raised = []
    for record in new:
        found = effect(record, config.rules, titles, fresh=True)
        if found.fields:
            writer.set_fields(record["id"], **found.fields)
        if found.alert is not None:
            raised.append((record, found.alert))
    if not raised:
        return []
    made = alerts(
        raised, writer.store.alerted_stories(), to_utc_iso(now), config.settings.preferred_feeds
    )
    writer.add_alerts(made)
    return made


def _store_outcome(
    writer: Any,
    outcome: _Outcome,
    state: FeedState | None,
    cutoff: str | None,
    wanted: list[tuple[str, str]],
) -> FeedResult:
    spec = outcome.spec
    if outcome.skipped is not None or outcome.fetched is None:
        return FeedResult(spec.name, "skipped", error=outcome.skipped)
    fetched, parsed = outcome.fetched, outcome.parsed
    error = fetched.error or (parsed.error if parsed is not None else None)
    if error is not None or parsed is None:
        writer.save_state(next_state(spec, state, fetched, parsed, outcome.body_hash))
        if error is not None:
            return FeedResult(spec.name, "error", fetched.status, error=error)
        # 304, or the same bytes as last time: nothing parsed
        return FeedResult(spec.name, "not_modified", fetched.status)
    decisions = dedup.plan(parsed.items, writer.view(parsed.items), cutoff)
    new, updated = writer.apply(decisions)  # all or nothing
    writer.offer(parsed.analysed)
    parsed.analysed.clear()  # held by the writer now where it is of use: not twice
    # the body's fingerprint is kept only once its items are stored: a feed whose items
    # could not be stored is parsed again next time, not skipped as "unchanged"
    writer.save_state(next_state(spec, state, fetched, parsed, outcome.body_hash))
    if spec.full_text:
        fresh = [d.item for d in decisions if d.action is dedup.Action.NEW and d.item.url]
        wanted.extend((item.id, item.url or "") for item in fresh[:MAX_ARTICLES_PER_FEED])
    return FeedResult(
        spec.name,
        "ok",
        fetched.status,
        new=new,
        updated=updated,
        empty=parsed.empty,
        note=parsed.note,
        unchanged=parsed.unchanged,
    )


def internal_error(stage: str, exc: BaseException) -> str:
    """The reason a feed failed on a bug or an input nothing foresaw (one line); ``stage``:
    fetching, parsing or storing."""
    messages = {
        "fetching": tr("internal error while fetching: {reason}"),
        "parsing": tr("internal error while parsing: {reason}"),
        "storing": tr("internal error while storing: {reason}"),
        "stories": tr("internal error while grouping stories (the items are stored): {reason}"),
        "rules": tr("internal error while applying the rules (the items are stored): {reason}"),
    }
    return messages[stage].format(reason=describe(exc))


def _failed_outcome(
    writer: Any, outcome: _Outcome, state: FeedState | None, exc: Exception
) -> FeedResult:
    """The feed's result and state after an unexpected exception while storing it: an
    error like any other (counted, backed off), nothing of its batch stored."""
    spec = outcome.spec
    error = internal_error("storing", exc)
    fetched = outcome.fetched or FetchResult(spec.name, spec.url, spec.url, None)
    fetched = replace(fetched, error=error, fetched_at=fetched.fetched_at or to_utc_iso(utcnow()))
    writer.save_state(next_state(spec, state, fetched, None, None))
    return FeedResult(spec.name, "error", fetched.status, error=error)


MAX_ARTICLES_PER_FEED = 30  # per update: a first run of a 500-item feed must not hammer a site


def _read_articles(wanted: list[tuple[str, str]], config: Config) -> dict[str, str]:
    """The article text of new items of `full_text = true` feeds (item id -> text), fetched
    under the feeds' rules (timeout, size cap, per-host limit), each page's extraction in a
    worker under `parse_timeout`.  A page that fails costs its text only: `show --full`
    tries again later."""
    from .fetch import fetch_now

    results = fetch_now(config.settings, [url for _id, url in wanted], "article")
    pages = [
        (item_id, (fetched.body, dict(fetched.headers), fetched.final_url))
        for (item_id, _url), fetched in zip(wanted, results, strict=True)
        if not fetched.error
    ]
    if not pages:
        return {}
    texts = _extract_all([page for _id, page in pages], config.settings.parse_timeout)
    return {item_id: text for (item_id, _page), text in zip(pages, texts, strict=True) if text}


def article_job(body: bytes, headers: dict[str, str], url: str) -> str | None:
    """One article page's main text, or None (runs in a worker process)."""
    from .article import extract_text
    from .errors import KzfeedError

    try:
        return extract_text(body, headers, url)
    except KzfeedError:
        return None


def _extract_all(pages: list[tuple[bytes, dict[str, str], str]], budget: float) -> list[str | None]:
    from .workers import JobFailed, ParsePool

    if not ParsePool.available():
        return [article_job(*page) for page in pages]
    pool = ParsePool(min(os.cpu_count() or 1, len(pages)), budget)

    async def one(page: tuple[bytes, dict[str, str], str]) -> str | None:
        try:
            text: str | None = await pool.run(article_job, *page)
        except JobFailed:  # over budget, or the extractor failed: this text only
            return None
        return text

    async def every() -> list[str | None]:
        return list(await asyncio.gather(*(one(page) for page in pages)))

    try:
        return asyncio.run(every())
    finally:
        pool.shutdown()


def _run(
    todo: list[_Outcome],
    states: dict[str, FeedState],
    config: Config,
    jobs: int,
    force: bool,
    progress: ProgressHook | None,
    ready: Callable[[], None],
) -> None:
    """Fetch and parse the feeds; ``ready`` is called each time one is done (it stores what
    can be stored)."""
    pool = _Parsers(min(os.cpu_count() or 1, len(todo)), config.settings.parse_timeout)
    try:
        asyncio.run(_fetch_all(todo, states, config, jobs, force, progress, pool, ready))
    finally:
        pool.shutdown()


class _Parsers:
    """Where bodies are parsed: worker processes on every core (kzfeed.workers), forked
    before the event loop or any thread exists (a clean fork), idle until a body needs
    parsing and importing feedparser only then, so a warm run of 304s costs cheap forks.
    Each parse runs under ``settings.parse_timeout``.  Where processes cannot be forked, a
    thread, without a time budget."""

    def __init__(self, workers: int, budget: float) -> None:
        from .workers import ParsePool

        self.pool: ParsePool | None = None
        self.thread: concurrent.futures.ThreadPoolExecutor | None = None
        self.workers = max(1, workers)
        if ParsePool.available():
            self.pool = ParsePool(workers, budget)
        else:
            self.thread = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    async def parse(self, *args: Any) -> ParsedFeed:
        from .workers import JobFailed

        spec: FeedSpec = args[0]
        try:
            if self.pool is not None:
                parsed: ParsedFeed = await self.pool.run(parse_job, *args)
            else:
                loop = asyncio.get_running_loop()
                parsed = await loop.run_in_executor(self.thread, parse_job, *args)
        except JobFailed as exc:
            return ParsedFeed(spec.name, None, (), error=str(exc))
        return parsed

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        if self.thread is not None:
            self.thread.shutdown(wait=True, cancel_futures=True)


async def _fetch_all(
    todo: list[_Outcome],
    states: dict[str, FeedState],
    config: Config,
    jobs: int,
    force: bool,
    progress: ProgressHook | None,
    pool: _Parsers,
    ready: Callable[[], None],
) -> None:
    from .fetch import Fetcher
    from .wire import body_hash

    settings = config.settings
    # feeds between the start of their fetch and the end of their parse: fetching runs
    # ahead of parsing (on a fast network, every body of a big update would be downloaded
    # and wait, whole, for a parse worker: 600 of them at once in the benchmark); this many
    # keep every connection busy and every worker fed, and bound the bodies held
    window = asyncio.Semaphore(2 * jobs + pool.workers)

    async def one(outcome: _Outcome, fetcher: Fetcher) -> None:
        async with window:
            await guarded(outcome, fetcher)
        outcome.done = True
        ready()  # a StoreError raised here ends the run, as it would after the fetching

    async def guarded(outcome: _Outcome, fetcher: Fetcher) -> None:
        try:
            await handle(outcome, fetcher)
        except Exception as exc:  # a bug or an unforeseen input costs this feed only
            error = internal_error("fetching" if outcome.fetched is None else "parsing", exc)
            spec = outcome.spec
            if outcome.fetched is None:
                outcome.fetched = FetchResult(
                    spec.name, spec.url, spec.url, None, fetched_at=to_utc_iso(utcnow())
                )
            outcome.fetched = replace(outcome.fetched, error=error)
            outcome.parsed = None

    async def handle(outcome: _Outcome, fetcher: Fetcher) -> None:
        spec = outcome.spec
        state = states.get(spec.name)
        url = effective_url(spec, state)
        fetched = await fetcher.fetch(spec.name, url, None if force else state)
        outcome.fetched = fetched
        if fetched.error is not None or fetched.not_modified:
            if progress:
                progress(spec.name, fetched.error or "not modified")
            return
        if fetched.same_wire and state is not None:  # the compressed bytes of last time
            outcome.body_hash = state.body_hash
            if progress:
                progress(spec.name, "unchanged")
            return
        known = None if force or state is None else state.body_hash
        if fetched.coding is None:
            outcome.body_hash = body_hash(fetched.body)
            if outcome.body_hash == known:
                if progress:
                    progress(spec.name, "unchanged")
                return
        parsed = await pool.parse(
            spec,
            fetched.body,
            fetched.headers,
            fetched.fetched_at,
            fetched.final_url,
            spec.timezone or settings.timezone,
            dict(config.aliases),
            settings.max_feed_items,
            None
            if force or state is None or not settings.parse_changed_only
            else (state.head_print, dict(state.item_facts)),
            fetched.coding,  # a compressed body is inflated and hashed by the worker
            settings.max_feed_bytes,
            known,
        )
        if parsed.refused:  # as when the fetcher inflated it: the fetch failed
            outcome.fetched = FetchResult(
                spec.name,
                fetched.url,
                fetched.final_url,
                None,
                fetched_at=fetched.fetched_at,
                error=parsed.error,
            )
            if progress:
                progress(spec.name, parsed.error or "")
            return
        outcome.fetched = replace(fetched, body=b"")  # parsed: not kept till the store
        if parsed.body_hash is not None:
            outcome.body_hash = parsed.body_hash
        if parsed.same_body:  # the same body as last time, compressed anew: nothing parsed
            if progress:
                progress(spec.name, "unchanged")
            return
        outcome.parsed = parsed
        if progress:
            progress(spec.name, parsed.error or count(len(parsed.items), "item"))

    async with Fetcher.from_settings(settings, jobs=jobs, leave_compressed=True) as fetcher:
        await asyncio.gather(*(one(outcome, fetcher) for outcome in todo))
