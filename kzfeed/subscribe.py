"""Subscribing: what `kzfeed add` decides — is the address a feed, a page naming feeds, a
news list; which name, which title — and writes into the config.  Functions take typed
arguments and return what they found; ``say`` reports progress lines (the CLI prints them
on stderr)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .dates import zone
from .errors import KzfeedError, UsageError
from .model import FeedSpec
from .reading import clock
from .words import tr

Say = Callable[[str], None]


@dataclass(frozen=True)
class AddOptions:
    """`kzfeed add`'s arguments."""

    url: str
    name: str | None = None
    rubric: str | None = None
    lang: str | None = None
    title: str | None = None
    pick: int | None = None
    no_check: bool = False
    html: bool = False
    preset: str | None = None


def subscribe(cfg: Config, options: AddOptions, say: Say) -> FeedSpec:
    """Check the address (unless ``no_check``), choose name and title, and add the feed to
    the config file; the spec written is returned."""
    from . import rubrics as rubric_table
    from .config import add_feed, check_url
    from .language import parse_language

    try:
        target = check_url(options.url, Path.cwd())
    except ValueError as exc:
        raise UsageError(tr("URL {reason}").format(reason=exc)) from None
    not_subscribed(cfg, target)
    if options.rubric is not None and rubric_table.resolve(options.rubric) is None:
        raise UsageError(
            tr("unknown rubric {rubric} (known: {known})").format(
                rubric=repr(options.rubric), known=", ".join(rubric_table.ORDER)
            )
        )
    if options.html:
        from .presets import PRESETS

        if options.preset is not None and options.preset not in PRESETS:
            known = ", ".join(PRESETS)
            raise UsageError(
                tr("unknown preset {preset} (known: {known})").format(
                    preset=repr(options.preset), known=known
                )
            )
    from dataclasses import replace as dc_replace

    feed_title = options.title
    chosen = options.name or derive_name(
        target, {f.name for f in cfg.feeds}, options.html, options.preset
    )
    spec = FeedSpec(
        name=chosen,
        url=target,
        title=feed_title,
        lang=parse_language(options.lang) if options.lang else None,
        rubric=rubric_table.resolve(options.rubric) if options.rubric else None,
        type="html" if options.html else "feed",
        preset=options.preset if options.html else None,
    )
    if not options.no_check:
        if options.html:
            page_title, detected = read_html_source(spec, cfg, say)
            feed_title = options.title or page_title
            if detected and not options.preset:  # written into the config for the user to read
                spec = dc_replace(spec, select=tuple(detected.items()))
        else:
            target, found_title = probe(target, cfg, options.pick, say)
            feed_title = options.title or found_title
        spec = dc_replace(spec, url=target, title=feed_title)
    not_subscribed(cfg, spec.url)
    add_feed(cfg.path, spec)
    return spec


def not_subscribed(cfg: Config, url: str) -> None:
    """`add` of an address already subscribed says so (instead of adding `name-2`)."""
    from .normalize import canonical_url

    def same(value: str) -> str:
        return canonical_url(value) or value.rstrip("/")

    for spec in cfg.feeds:
        if same(spec.url) == same(url):
            raise KzfeedError(
                tr("{url} is already subscribed as {name}").format(url=url, name=repr(spec.name))
            )


def read_html_source(
    spec: FeedSpec, cfg: Config, say: Say
) -> tuple[str | None, dict[str, str] | None]:
    """Fetch an HTML source once and read its list: (its page title, the selectors list
    detection found when the source names none), or the error.  The first items are
    shown, so the user sees what was found."""

    from .dates import zone
    from .errors import FeedError
    from .fetch import fetch_now
    from .htmlsource import parse_list

    (fetched,) = fetch_now(cfg.settings, [spec.url], spec.name)
    if fetched.error:
        raise KzfeedError(
            tr("cannot subscribe to {url}: {reason}").format(url=spec.url, reason=fetched.error)
        )
    try:
        page = parse_list(
            fetched.body,
            dict(fetched.headers),
            spec,
            base_url=fetched.final_url,
            tz=zone(cfg.settings.timezone),
            now=clock(),
        )
    except FeedError as exc:
        raise KzfeedError(f"{spec.url}: {exc}") from None
    say(tr("items on the page: {n}").format(n=len(page.entries)))
    if page.note:
        say(page.note)
    preview(page.entries, cfg, say)
    return page.title, page.detected


def preview(entries: list[dict[str, Any]], cfg: Config, say: Say, limit: int = 5) -> None:
    """The first items of a list, with their local times, on stderr."""
    import calendar
    import shutil
    from datetime import UTC, datetime

    from .sanitize import clean_line, shorten

    tz = zone(cfg.settings.timezone)
    room = max(20, shutil.get_terminal_size((80, 24)).columns - 28)  # "kzfeed:   dd.mm HH:MM  "
    for entry in entries[:limit]:
        parsed = entry.get("published_parsed")
        when = (
            datetime.fromtimestamp(calendar.timegm(parsed), UTC).astimezone(tz) if parsed else None
        )
        stamp = when.strftime("%d.%m %H:%M") if when else tr("no date").center(11)
        say(f"  {stamp}  {shorten(clean_line(entry['title']), room)}")


COMMON_FEED_PATHS = ("/rss", "/rss.xml", "/feed", "/feed/", "/atom.xml", "/rss/all.xml")


def probe(url: str, cfg: Config, pick: int | None, say: Say) -> tuple[str, str | None]:
    """Fetch ``url``: a feed is taken as is; an HTML page is searched for feed links."""

    from .discover import Candidate, find_feeds
    from .errors import FeedError
    from .fetch import fetch_now
    from .normalize import http_url
    from .parse import parse_bytes
    from .sanitize import clean_line

    (fetched,) = fetch_now(cfg.settings, [url])
    if fetched.error:
        raise KzfeedError(
            tr("cannot subscribe to {url}: {reason}").format(url=url, reason=fetched.error)
        )
    try:
        raw = parse_bytes(fetched.body, dict(fetched.headers))
        # a server-sent Location goes into the config: only as a clean http(s) URL
        moved = http_url(fetched.permanent_url) if fetched.permanent_url else None
        return moved or url, clean_line(raw.title or "") or None
    except FeedError as not_feed:
        from .htmlsource import decode_html

        page = decode_html(fetched.body, dict(fetched.headers))
        named = find_feeds(page, fetched.final_url)
        candidates = []
        # a page may name a feed that is long dead (Zakon's answers 404): each is tried
        for candidate, answer in zip(
            named, fetch_now(cfg.settings, [c.url for c in named]), strict=True
        ):
            try:
                if answer.error:
                    raise FeedError(answer.error)
                parse_bytes(answer.body, dict(answer.headers))
                candidates.append(candidate)
            except FeedError as dead:
                say(
                    tr("the page names a feed at {url}, but it does not work: {reason}").format(
                        url=candidate.url, reason=dead
                    )
                )
        if not candidates and fetched.status is not None:  # the usual places of a feed
            from urllib.parse import urljoin

            guesses = [urljoin(fetched.final_url, path) for path in COMMON_FEED_PATHS]
            for guess, answer in zip(guesses, fetch_now(cfg.settings, guesses), strict=True):
                try:
                    if not answer.error:
                        parse_bytes(answer.body, dict(answer.headers))
                        candidates.append(Candidate(guess, "", "guess"))
                except FeedError:
                    continue
        if not candidates:
            raise KzfeedError(_no_feed_advice(url, fetched, cfg, not_feed, say)) from None
        if len(candidates) > 1 and pick is None:
            lines = "\n".join(
                f"  {i}. {c.url}  {c.title}".rstrip() for i, c in enumerate(candidates, 1)
            )
            raise UsageError(
                tr("{url} links to several feeds ({n}); choose one with --pick N:").format(
                    url=url, n=len(candidates)
                )
                + "\n"
                + lines
            ) from None
        index = (pick or 1) - 1
        if not 0 <= index < len(candidates):
            raise UsageError(
                tr("--pick must be between 1 and {n}").format(n=len(candidates))
            ) from None
        chosen = candidates[index]
        return chosen.url, chosen.title or None


def _no_feed_advice(url: str, fetched: Any, cfg: Config, why: Exception, say: Say) -> str:
    """What to do with a page that is no feed and links to none: what list detection finds
    on it (shown), and the `add --html` command that reads it."""
    from .errors import FeedError
    from .htmlsource import parse_list
    from .model import FeedSpec
    from .presets import preset_for

    preset = preset_for(fetched.final_url)
    how = f" --preset {preset}" if preset else ""
    advice = tr("to read its news list: {command}").format(command=f"kzfeed add {url} --html{how}")
    try:
        page = parse_list(
            fetched.body,
            dict(fetched.headers),
            FeedSpec("probe", url, type="html"),
            base_url=fetched.final_url,
            tz=zone(cfg.settings.timezone),
            now=clock(),
        )
    except FeedError:
        return tr(
            "{url} is not a feed ({reason}) and links to none; no news list found on it either"
        ).format(url=url, reason=why)
    say(
        tr("{url} is not a feed; its news list, as kzfeed finds it ({n} items):").format(
            url=url, n=len(page.entries)
        )
    )
    preview(page.entries, cfg, say)
    return tr("{url} is not a feed and names no working one; {advice}").format(
        url=url, advice=advice
    )


def derive_name(url: str, taken: set[str], html: bool = False, preset: str | None = None) -> str:
    """A feed's name from its host (`tengrinews`), a news list's from its preset or host
    with "-lenta" (`kazinform-lenta`), a saved file's from its name."""
    import re
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        host = parts.hostname.lower().removeprefix("www.")
        labels = host.split(".")
        base = "-".join(labels[:-1]) if len(labels) > 1 else host
        if html:
            base = f"{preset or base}-lenta"
    else:
        base = Path(parts.path if parts.scheme == "file" else url).stem
    base = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._") or "feed"
    base = base[:50]
    name, n = base, 2
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    return name


def import_opml(cfg: Config, file: Path) -> tuple[list[FeedSpec], list[Any]]:
    """Subscribe to every http(s) feed of an OPML file: (the specs added, the outlines
    skipped, each with its reason)."""
    from .config import append_feeds
    from .opml import parse_opml

    try:
        data = file.expanduser().read_bytes()
    except OSError as exc:
        raise KzfeedError(
            tr("cannot read {path}: {reason}").format(path=file, reason=exc.strerror)
        ) from None
    outlines, skipped = parse_opml(data, [f.url for f in cfg.feeds])
    taken = {f.name for f in cfg.feeds}
    specs = []
    for outline in outlines:
        name = derive_name(outline.url, taken)
        taken.add(name)
        specs.append(
            FeedSpec(
                name=name,
                url=outline.url,
                title=outline.title,
                lang=outline.lang,
                rubric=outline.rubric,
            )
        )
    append_feeds(cfg.path, specs)
    return specs, list(skipped)
