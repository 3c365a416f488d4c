"""The Typer app: parse arguments, call the stages, render; exceptions -> exit codes.

Heavy modules (httpx, feedparser, the update run) are imported inside the commands that
need them, so `kzfeed latest` and `kzfeed --help` start fast.

No ``from __future__ import annotations`` here: Typer reads every command's annotations, and
as strings each is compiled and evaluated again (the 40 commands' parameters took 11.8 ms to
work out for `--help`, 4.8 ms as objects).  Names imported only for type checking are quoted.
"""

import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from . import __version__
from .errors import KzfeedError, UpdateFailed, UsageError
from .words import count, environment_language, ntr, status_word, tr, use

if TYPE_CHECKING:
    from rich.console import Console

    from .config import Config
    from .model import StoredItem
    from .reading import Listing, Selection, Wire
    from .render import Highlight
    from .rules import Alert

app = typer.Typer(
    name="kzfeed",
    help="A wire reader for Kazakhstan's news agencies and the Russian-language wires.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Rich help formatting costs ~0.15 s at start-up
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> typer.Exit:
    _say(message)
    return typer.Exit(code)


def handled(func: F) -> F:
    """Turn kzfeed's errors into one line on stderr and the exit code SPEC gives."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        use(environment_language())  # until the config says otherwise
        try:
            return func(*args, **kwargs)
        except KzfeedError as exc:
            raise _fail(tr("error: {reason}").format(reason=exc), exc.exit_code) from None
        except BrokenPipeError:  # `kzfeed latest --jsonl | head`: the reader had enough
            _quiet_stdout()
            raise typer.Exit(0) from None
        except OSError as exc:  # a disk or permission problem: one line, not a traceback
            raise _fail(tr("error: {reason}").format(reason=exc), 1) from None
        except KeyboardInterrupt:
            raise _fail(tr("interrupted"), 130) from None

    return wrapper  # type: ignore[return-value]


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no closed pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class _State:
    config_file: str | None = None


_state = _State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kzfeed {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file (else $KZFEED_CONFIG, else the user config dir).",
            metavar="PATH",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    _state.config_file = config
    if ctx.invoked_subcommand is None:
        # plain `kzfeed`: the reader on a terminal, the command list otherwise
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(browse)
        else:
            typer.echo(ctx.get_help())
        raise typer.Exit()


def _config() -> "Config":
    from .config import config_path, load_config  # not for --help: ~18 ms of imports

    cfg = load_config(config_path(_state.config_file))
    use(cfg.settings.language)
    return cfg


def _console(stderr: bool = False) -> "Console":
    from .render import make_console

    return make_console(stderr=stderr)


def _print_json(data: Any) -> None:
    """JSON on stdout, every string cleaned of control and bidi characters first: JSON
    escapes C0 controls but would print C1 (0x9b, a CSI to some terminals) and bidi raw."""
    from .sanitize import clean_tree

    sys.stdout.write(json.dumps(clean_tree(data), ensure_ascii=False, indent=2) + "\n")


def _say(message: str) -> None:
    """One message on stderr.  Messages can quote a server (an HTTP reason phrase, a URL):
    control and bidi characters are removed first, as for everything shown."""
    from .sanitize import clean_text

    sys.stderr.write(f"kzfeed: {clean_text(message)}\n")
    sys.stderr.flush()


# ------------------------------------------------------------------------ init / add / remove


@app.command()
@handled
def init() -> None:
    """Write a commented starter config (never overwrites one)."""
    from .config import config_path, init_config

    path = init_config(config_path(_state.config_file))
    typer.echo(tr("wrote {path}; edit it, then run `kzfeed update`").format(path=path))


@app.command()
@handled
def add(
    url: Annotated[str, typer.Argument(help="Feed URL, an agency's HTML page, or a local file.")],
    # no -n here: -n is --number everywhere
    name: Annotated[str | None, typer.Option("--name", help="Short unique id.")] = None,
    rubric: Annotated[
        str | None, typer.Option(help="Default rubric for uncategorised items.")
    ] = None,
    lang: Annotated[
        str | None, typer.Option(help="Language: ru, kk, en (or kz, қаз, рус …).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Display title (else the feed's own).")] = None,
    pick: Annotated[
        int | None, typer.Option(help="Which discovered feed to take (1, 2, …).")
    ] = None,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Add without fetching the URL.")
    ] = False,
    html: Annotated[
        bool, typer.Option("--html", help="Read the page's news list (an HTML source).")
    ] = False,
    preset: Annotated[
        str | None,
        typer.Option(
            help="Selectors for --html: kazinform, zakon, informburo, 24kz, vlast or kazpravda;"
            " without one, kzfeed finds the list and writes its selectors into the config."
        ),
    ] = None,
) -> None:
    """Subscribe to a feed; an HTML page URL is searched for its feed links (or, with --html,
    its news list is read, with a preset's CSS selectors or the ones kzfeed finds)."""
    from .subscribe import AddOptions, subscribe

    spec = subscribe(
        _config(),
        AddOptions(url, name, rubric, lang, title, pick, no_check, html, preset),
        say=_say,
    )
    from .sanitize import clean_line

    typer.echo(tr("added {name}: {url}").format(name=spec.name, url=clean_line(spec.url)))


@app.command()
@handled
def remove(
    name: Annotated[str, typer.Argument(help="The feed's name.")],
    purge: Annotated[bool, typer.Option(help="Also drop its stored items now.")] = False,
) -> None:
    """Unsubscribe (items stay until pruned; --purge drops them)."""
    from .config import remove_feed

    cfg = _config()
    remove_feed(cfg.path, name)
    dropped = 0
    wire = _wire(cfg)
    with wire.store.writer(on_wait=_say) as writer:
        if purge:
            dropped = writer.purge_feed(name, wire.feed_titles())
        writer.drop_state(name)
    typer.echo(
        tr("removed {name}; dropped {items}").format(name=name, items=count(dropped, "item"))
        if purge
        else tr("removed {name}").format(name=name)
    )


# ------------------------------------------------------------------------ feeds / update


def _data_dir_source(cfg: "Config") -> str:
    """Where the database location came from: `settings.data_dir` wins over $KZFEED_DATA,
    which wins over the platform's user data dir."""
    if cfg.settings.data_dir is not None:
        if os.environ.get("KZFEED_DATA"):
            return tr("settings.data_dir, over $KZFEED_DATA")
        return "settings.data_dir"
    if os.environ.get("KZFEED_DATA"):
        return "$KZFEED_DATA"
    return tr("the user data dir; set settings.data_dir or $KZFEED_DATA to move it")


@app.command()
@handled
def feeds(json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Subscriptions with health: last fetch, HTTP status, failure streak, items, newest."""
    cfg = _config()
    wire = _wire(cfg)
    rows = wire.feed_rows()
    if json_:
        _print_json(rows)
        return
    from .render import feeds_view

    console = _console()
    _write_stripped(console, feeds_view(rows, wire.tz, wire.lang, int(console.width)), True)
    _say(tr("database: {path} ({source})").format(path=cfg.data_dir, source=_data_dir_source(cfg)))


@contextlib.contextmanager
def _progress_bar(total: int, quiet: bool) -> Iterator[Callable[[str, str], None] | None]:
    """On a terminal (and unless ``quiet``), a live bar on stderr for an update: the hook
    it yields is told each feed's outcome.  It starts at the first answer, after the parse
    workers were forked: Rich's refresh thread must not exist at the fork (it may hold
    stderr's lock)."""
    if quiet:  # `update --json` (cron, scripts): Rich is not even imported
        yield None
        return
    err = _console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .sanitize import clean_line

    progress = Progress(
        TextColumn("{task.description}", markup=False),  # feed names and server text
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task(tr("updating"), total=total)

    def hook(name: str, what: str) -> None:
        if not progress.live.is_started:
            progress.start()
        line = clean_line(f"{name}: {status_word(what)}")[:60]
        progress.update(task, advance=1, description=line)

    try:
        yield hook
    finally:
        progress.stop()


@app.command()
@handled
def update(
    names: Annotated[
        list[str] | None, typer.Argument(help="Feeds to update (default: all).")
    ] = None,
    jobs: Annotated[int | None, typer.Option(min=1, max=64, help="Feeds fetched at once.")] = None,
    force: Annotated[
        bool, typer.Option(help="Ignore validators, max-age and Retry-After.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Fetch, parse, dedup and store; a summary per feed.  Exit 3 if a feed failed."""
    from .update import update as run_update

    cfg = _config()
    if not cfg.feeds:
        _say(
            tr(
                "no feeds in {path}: add one with `kzfeed add URL` (or `kzfeed import-opml FILE`)"
            ).format(path=cfg.path)
        )
    with _progress_bar(len(names) if names else len(cfg.feeds), quiet=json_) as hook:
        report = run_update(cfg, names, jobs=jobs, force=force, progress=hook, on_wait=_say)
    if json_:
        _print_json(report.to_dict())
    else:
        from .render import update_view

        console = _console()
        view = update_view(
            report.feeds,
            report.new,
            report.updated,
            report.errors,
            int(console.width),
            cfg.settings.language,
        )
        _write_stripped(console, view, True)
        if report.alerts:
            from rich.text import Text

            from .dates import zone
            from .render import alerts_view

            heading = ntr("{n} alert", "{n} alerts", len(report.alerts))
            console.print(Text(heading.format(n=len(report.alerts)) + ":", style="bold red"))
            tz = zone(cfg.settings.timezone)
            _write_stripped(
                console, alerts_view(report.alerts, tz=tz, lang=cfg.settings.language), True
            )
    for note in report.notes:
        _say(note)
    _send_alerts(cfg, report.alerts)
    if report.errors:
        lang = cfg.settings.language
        raise UpdateFailed(
            tr("failed: {feeds}; the others were stored", lang).format(
                feeds=count(report.errors, "feed", lang)
            )
        )


def _send_alerts(cfg: "Config", alerts: "list[Alert]") -> None:
    """Send the alerts a run raised, and those an earlier run could not (settings.notify,
    notify_urls; `outbox.py`); problems one line each."""
    from .dates import utcnow
    from .outbox import deliver

    # the clock the alerts were raised by (KZFEED_NOW fixes only what views show)
    for problem in deliver(cfg, alerts, now=utcnow(), on_wait=_say):
        _say(problem)


@app.command()
@handled
def watch(
    names: Annotated[
        list[str] | None, typer.Argument(help="Feeds to watch (default: all).")
    ] = None,
    every: Annotated[
        str, typer.Option(metavar="TIME", help="How often to update: 30s, 5m, 1h.")
    ] = "5m",
    polls: Annotated[int, typer.Option(hidden=True, help="Stop after N polls (tests).")] = 0,
) -> None:
    """Update every few minutes and print each new story as one line as it arrives (alerts
    marked and rung): a ticker for a terminal pane.  Ctrl-C stops it."""
    import time

    from .errors import LockTimeout, StoreError
    from .render import ticker_line
    from .ticker import parse_every, ticks
    from .update import update as run_update

    cfg = _config()
    seconds = parse_every(every)
    wire = _wire(cfg)
    console = _console()
    ring = sys.stdout.isatty()
    shown: set[str] = set()
    failing: dict[str, str] = {}
    _say(
        tr("watching {feeds}, every {every}; Ctrl-C stops").format(
            feeds=count(len(names) if names else len(cfg.feeds), "feed"), every=every
        )
    )
    done = 0
    try:
        while True:
            done += 1
            try:
                report = run_update(cfg, names, on_wait=_say)
            except LockTimeout as exc:  # another kzfeed held it all along: the next poll
                _say(str(exc))
                report = None
            except StoreError:
                raise  # nothing can be stored: stop (exit 1)
            if report is not None:
                for feed in report.feeds:  # a failure said once, and its end
                    if feed.status == "error" and failing.get(feed.name) != feed.error:
                        failing[feed.name] = feed.error or ""
                        _say(f"{feed.name}: {feed.error}")
                    elif feed.status == "ok" and feed.name in failing:
                        del failing[feed.name]
                        _say(tr("{feed}: works again").format(feed=feed.name))
                for note in report.notes:
                    _say(note)
                wire = _wire(cfg)  # the store as this poll left it
                records = [r for r in (wire.store.get(i) for i in report.new_ids) if r]
                found = ticks(
                    records,
                    shown,
                    [a.id for a in report.alerts],
                    cfg.settings.preferred_feeds,
                    wire.feed_titles(),
                )
                width = _listing_width()
                for tick in found[-WATCH_LINES:]:
                    line = ticker_line(tick, tz=wire.tz, lang=wire.lang, width=width)
                    console.print(line, soft_wrap=width is None)
                if len(found) > WATCH_LINES:
                    _say(tr("(and {n} more: kzfeed latest)").format(n=len(found) - WATCH_LINES))
                if ring and any(t.alerted for t in found):
                    sys.stdout.write("\a")
                sys.stdout.flush()
                _send_alerts(cfg, report.alerts)
            if polls and done >= polls:
                return
            time.sleep(seconds)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a ticker ends: exit 0


WATCH_LINES = 30  # of one poll, at most (the first poll of a fresh store brings hundreds)


# ------------------------------------------------------------------------ reading


def _now() -> datetime:
    from .reading import clock

    return clock()


def _wire(cfg: "Config") -> "Wire":
    from .reading import Wire

    return Wire(cfg, now=_now(), on_wait=_say)


def _selection(
    rubric: list[str] | None = None,
    feed: list[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    lang: str | None = None,
    search: str | None = None,
    unread: bool = False,
    starred: bool = False,
    tag: str | None = None,
    everything: bool = False,
) -> "Selection":
    """The listing options, the same for every command that lists items."""
    from .reading import Selection

    return Selection(
        rubrics=tuple(rubric or ()),
        feeds=tuple(feed or ()),
        since=since,
        until=until,
        lang=lang,
        search=search,
        unread=unread,
        starred=starred,
        tag=tag,
        everything=everything,
    )


def _listing_width() -> int | None:
    """The width a listing is cut to: the terminal's, or $COLUMNS when piped; None (never
    cut) when piped without $COLUMNS."""
    console = _console()
    if console.is_terminal or os.environ.get("COLUMNS"):
        return int(console.width)
    return None


def _emit(
    renderable: Any, cfg: "Config", pager: bool | None, uncut: bool = False, crop: bool = True
) -> None:
    """Print a view; on a terminal, a view taller than the screen goes through the pager
    (`$PAGER`, else less) unless `--no-pager` or `settings.pager = false`.  ``uncut``: piped
    with no width to keep to: laid out wide, without trailing spaces."""
    if uncut:
        from .render import make_console

        _write_stripped(make_console(width=10_000), renderable, crop)
        return
    console = _console()
    use_pager = cfg.settings.pager if pager is None else pager
    text = _stripped(console, renderable, crop)
    if use_pager and console.is_terminal and text.count("\n") > console.height:
        from rich.pager import SystemPager

        os.environ.setdefault("LESS", "-FRX")  # keep colours; quit if one screen
        SystemPager().show(text)
        return
    sys.stdout.write(text)


# the end of a line: spaces and colour codes only (Rich pads table cells to the width)
_LINE_TAIL = re.compile(r"(?:[ \t]|\x1b\[[0-9;]*m)+$")


def _stripped(console: "Console", renderable: Any, crop: bool) -> str:
    """A view laid out by ``console``, without trailing spaces (on a terminal the colour
    codes stay: a line's padding goes, its closing reset does not)."""
    with console.capture() as capture:
        console.print(renderable, crop=crop)
    return "".join(
        _LINE_TAIL.sub(lambda m: m.group().replace(" ", "").replace("\t", ""), line) + "\n"
        for line in capture.get().splitlines()
    )


def _write_stripped(console: "Console", renderable: Any, crop: bool) -> None:
    sys.stdout.write(_stripped(console, renderable, crop))


RubricOpt = Annotated[
    list[str] | None,
    typer.Option("--rubric", "-r", help="Rubric key or label in any language (repeatable)."),
]
FeedOpt = Annotated[
    list[str] | None, typer.Option("--feed", "-f", help="Feed name; matches also_in (repeatable).")
]
SinceOpt = Annotated[
    str | None,
    typer.Option(help="From: 24h, 7d, 2w, 2023-02-03, 2023-02-03T10:00, today, yesterday."),
]
UntilOpt = Annotated[str | None, typer.Option(help="Until (a date means the end of that day).")]
LangOpt = Annotated[
    str | None, typer.Option(help="Only items in this language: ru, kk, en (or kz, қаз, рус …).")
]
SearchOpt = Annotated[
    str | None,
    typer.Option(
        "--search",
        "-s",
        help='A query: words in any form, "a phrase", -word, OR, title:/feed:/rubric:/lang:.',
    ),
]
UnreadOpt = Annotated[bool, typer.Option(help="Only unread items.")]
StarredOpt = Annotated[bool, typer.Option(help="Only starred items.")]
TagOpt = Annotated[
    str | None, typer.Option("--tag", metavar="TAG", help="Only items a rule tagged so.")
]
EverythingOpt = Annotated[
    bool, typer.Option("--all", help="Items muted by a rule (action hide) too.")
]
StoriesOpt = Annotated[
    bool | None,
    typer.Option(
        "--stories/--items",
        help="One line per story (every agency's version under it), or every item "
        "(default: settings.stories).",
    ),
]
PagerOpt = Annotated[
    bool | None, typer.Option("--pager/--no-pager", help="Page long output on a terminal.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command()
@handled
def latest(
    n: Annotated[
        int,
        typer.Option(
            "-n",
            "--number",
            min=1,
            help="How many items (per section when grouped by rubric or feed).",
        ),
    ] = 30,
    group: Annotated[str, typer.Option(help="date | rubric | feed")] = "date",
    rubric: RubricOpt = None,
    feed: FeedOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    lang: LangOpt = None,
    search: SearchOpt = None,
    unread: UnreadOpt = False,
    starred: StarredOpt = False,
    tag: TagOpt = None,
    everything: EverythingOpt = False,
    stories: StoriesOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Print one JSON item per line.")] = False,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain", help="One tab-separated line per item (id, time, source, rubric, title)."
        ),
    ] = False,
    pager: PagerOpt = None,
) -> None:
    """The newest items, grouped by local day (default), or by rubric or feed; with
    --stories one line per story."""
    cfg = _config()
    wire = _wire(cfg)
    selection = _selection(
        rubric, feed, since, until, lang, search, unread, starred, tag, everything
    )
    by_story = cfg.settings.stories if stories is None else stories
    listing = wire.latest(selection, n, group, stories=by_story)
    records = listing.items
    if json_ or jsonl:
        from .sanitize import clean_tree

        shaped = [_item_json(r, listing) for r in records]
        if json_:
            _print_json(shaped)
        else:
            for data in shaped:
                sys.stdout.write(json.dumps(clean_tree(data), ensure_ascii=False) + "\n")
        return
    from .render import latest_view, plain_lines

    if listing.empty_store:
        _say(tr("the database is empty: run `kzfeed update` to fetch the feeds"))
        return
    if plain:
        sys.stdout.write(plain_lines(records, tz=wire.tz, lang=wire.lang))
        return
    width = _listing_width()
    wire.abbreviate(listing)
    view = latest_view(
        records,
        tz=wire.tz,
        lang=wire.lang,
        now=wire.now,
        group=group,
        width=width,
        totals=listing.totals,
        window=listing.window,
        short_ids=listing.short_ids,
        stories=listing.stories,
        highlight=_highlighter(search) if _console().is_terminal else None,
    )
    _emit(view, cfg, pager, uncut=width is None)
    if cfg.settings.mark_read_on_list and records:
        shown = [r["id"] for r in records]
        if listing.stories:
            shown = [v["id"] for i in shown for v in listing.stories[i].versions]
        wire.mark(shown, True)


def _item_json(record: "StoredItem", listing: "Listing") -> dict[str, Any]:
    """An item in SPEC's JSON shape; in a stories listing with its story's other versions
    (``versions``) and the agencies that carried them (``sources``)."""
    from .model import public

    data = public(record)
    line = (listing.stories or {}).get(record["id"])
    if line is not None:
        data["versions"] = [
            {k: v[k] for k in ("id", "feed", "source", "title", "url", "published") if k in v}
            for v in line.versions
            if v["id"] != record["id"]
        ]
        data["sources"] = line.sources
    return data


@app.command()
@handled
def story(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="Any item of the story.")],
    json_: JsonOpt = False,
    pager: PagerOpt = None,
) -> None:
    """Every version of a story: the item ID and each agency's report of the same event."""
    from .model import public

    cfg = _config()
    wire = _wire(cfg)
    line = wire.story(item_id)
    if json_:
        _print_json([public(r) for r in line.versions])
        return
    from .render import story_view

    listing_ids = wire.store.abbreviations(r["id"] for r in line.versions)
    _emit(
        story_view(line, tz=wire.tz, lang=wire.lang, width=_listing_width(), short_ids=listing_ids),
        cfg,
        pager,
        uncut=_listing_width() is None,
    )


@app.command()
@handled
def browse() -> None:
    """The full-screen reader: rubrics and feeds, headlines by day, the story, keys shown
    below (? lists them all).  Plain `kzfeed` on a terminal opens it too."""
    from .browse import run

    run(_config())


@app.command("rubrics")
@handled
def rubrics_cmd(
    since: SinceOpt = None,
    until: UntilOpt = None,
    feed: FeedOpt = None,
    lang: LangOpt = None,
    search: SearchOpt = None,
    unread: UnreadOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Item counts per (primary) rubric in the window, with a bar."""
    from . import rubrics as table

    cfg = _config()
    counts = _wire(cfg).rubric_counts(_selection(None, feed, since, until, lang, search, unread))
    language = cfg.settings.language
    if json_:
        _print_json(
            [{"rubric": k, "label": table.label(k, language), "count": c} for k, c in counts]
        )
        return
    from .render import rubrics_view

    _write_stripped(_console(), rubrics_view(counts, language), True)


@app.command()
@handled
def stats(
    days: Annotated[int, typer.Option(min=1, max=366, help="How many local days back.")] = 14,
    rubric: RubricOpt = None,
    feed: FeedOpt = None,
    lang: LangOpt = None,
    json_: JsonOpt = False,
    pager: PagerOpt = None,
) -> None:
    """Items per day, per rubric and per feed over the last days, as terminal charts."""
    cfg = _config()
    wire = _wire(cfg)
    data = wire.daily(_selection(rubric, feed, None, None, lang), days)
    if json_:
        from . import rubrics as table

        language = cfg.settings.language
        _print_json(
            {
                "days": [d.isoformat() for d in data.days],
                "total": data.total,
                "rubrics": [
                    {"rubric": k, "label": table.label(k, language), "counts": c, "total": sum(c)}
                    for k, c in data.rubrics
                ],
                "feeds": [{"feed": k, "counts": c, "total": sum(c)} for k, c in data.feeds],
            }
        )
        return
    from .render import stats_view

    _emit(stats_view(data, lang=wire.lang, feeds=wire.feed_titles()), cfg, pager)


@app.command()
@handled
def show(
    item_ids: Annotated[
        list[str], typer.Argument(metavar="ID...", help="Item ids or unique prefixes.")
    ],
    full: Annotated[
        bool, typer.Option("--full", help="Fetch the article page and show its main text.")
    ] = False,
    search: Annotated[
        str | None,
        typer.Option("--search", "-s", metavar="TEXT", help="Highlight what this query finds."),
    ] = None,
    json_: JsonOpt = False,
    pager: PagerOpt = None,
) -> None:
    """Items in full: title, source, time, rubrics, link, also_in, text; marks them read
    (settings.mark_read_on_show)."""
    cfg = _config()
    wire = _wire(cfg)
    records = [wire.item(item_id) for item_id in item_ids]
    _show_records(wire, records, full=full, json_=json_, pager=pager, search=search)


def _highlighter(search: str | None) -> "Highlight | None":
    """What `latest` and `show` mark on a terminal: the words and phrases a query finds."""
    if not search:
        return None
    from functools import partial

    from .search import parse, spans

    return partial(spans, parse(search))


def _show_records(
    wire: "Wire",
    records: "list[StoredItem]",
    *,
    full: bool,
    json_: bool,
    pager: bool | None,
    search: str | None = None,
) -> None:
    from rich.console import Group
    from rich.rule import Rule

    from .model import public
    from .render import item_view

    cfg = wire.config
    for record in records:
        if full:
            try:
                record["text"] = wire.article(record)
            except KzfeedError as exc:  # what is stored is still worth showing
                _say(tr("no full text: {reason}; showing what the feed gave").format(reason=exc))
    if json_:
        shown = []
        for record in records:
            data = public(record)
            if record.get("text"):
                data["text"] = record["text"]
            shown.append(data)
        _print_json(shown[0] if len(shown) == 1 else shown)
    else:
        names = wire.feed_titles()
        views: list[Any] = []
        for n, record in enumerate(records):
            if n:
                views.append(Rule(style="dim"))
            views.append(
                item_view(
                    record,
                    tz=wire.tz,
                    lang=wire.lang,
                    feeds=names,
                    highlight=_highlighter(search) if _console().is_terminal else None,
                )
            )
        _emit(Group(*views), cfg, pager, crop=False)  # URLs are printed whole
    unread = [r["id"] for r in records if not r.get("read")]
    if cfg.settings.mark_read_on_show and unread:
        wire.mark(unread, True)


@app.command("next")
@handled
def next_(
    rubric: RubricOpt = None,
    feed: FeedOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    lang: LangOpt = None,
    search: SearchOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="Fetch the article page and show its main text.")
    ] = False,
    json_: JsonOpt = False,
    pager: PagerOpt = None,
) -> None:
    """The newest unread item (with the latest filters), in full; it is then read."""
    cfg = _config()
    wire = _wire(cfg)
    found = wire.next_unread(_selection(rubric, feed, since, until, lang, search))
    if found is None:
        _say(tr("nothing unread"))
        return
    _show_records(wire, [found], full=full, json_=json_, pager=pager, search=search)


@app.command("open")
@handled
def open_(item_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Open the item's link in the browser (http(s) links only)."""
    import webbrowser

    from .normalize import http_url

    record = _wire(_config()).item(item_id)
    url = http_url(record.get("url"))
    if url is None:
        raise KzfeedError(tr("item {id} has no http(s) link").format(id=record["id"][:8]))
    if not webbrowser.open(url):
        typer.echo(url)


def _mark(
    ids: list[str] | None, read: bool, all_: bool, filters: dict[str, Any], story: bool | None
) -> None:
    cfg = _config()
    wire = _wire(cfg)
    if not all_ and not ids:
        raise UsageError(
            tr(
                "which items? give their ids (as `latest` shows them), or --all with the latest "
                "filters (kzfeed read --all --rubric sport --since yesterday)"
            )
        )
    if all_ and ids:
        raise UsageError(tr("give item ids, or --all (with the latest filters), not both"))
    chosen = wire.select_ids(_selection(**filters)) if all_ else list(ids or ())
    if not all_ and (cfg.settings.stories if story is None else story):
        chosen = [v["id"] for given in chosen for v in wire.story(given).versions]
    changed = wire.mark(chosen, read)
    done = tr("marked read: {items}") if read else tr("marked unread: {items}")
    typer.echo(done.format(items=count(changed, "item")))


IdsArg = Annotated[
    list[str] | None, typer.Argument(metavar="[ID]...", help="Item ids or prefixes.")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every item the filters select.")]


def _marker(read: bool) -> Callable[..., None]:
    """The `read` / `unread` command: by ids, or `--all` with the listing filters."""

    def command(
        ids: IdsArg = None,
        all_: AllOpt = False,
        rubric: RubricOpt = None,
        feed: FeedOpt = None,
        since: SinceOpt = None,
        until: UntilOpt = None,
        lang: LangOpt = None,
        search: SearchOpt = None,
        story: Annotated[
            bool | None,
            typer.Option(
                "--story/--item",
                help="Each id's whole story (every version), or the item alone "
                "(default: settings.stories).",
            ),
        ] = None,
    ) -> None:
        filters = {
            "rubric": rubric,
            "feed": feed,
            "since": since,
            "until": until,
            "lang": lang,
            "search": search,
        }
        _mark(ids, read, all_, filters, story)

    word = "read" if read else "unread"
    command.__doc__ = f"Mark items {word}: by id, or `--all` with the `latest` filters."
    command.__name__ = word
    return handled(command)


app.command("read")(_marker(True))
app.command("unread")(_marker(False))


def _starrer(starred: bool) -> Callable[..., None]:
    def command(
        ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Item ids or prefixes.")],
    ) -> None:
        changed = _wire(_config()).star(ids, starred)
        done = tr("starred: {items}") if starred else tr("unstarred: {items}")
        typer.echo(done.format(items=count(changed, "item")))

    word = "star" if starred else "unstar"
    command.__doc__ = "Star items (`latest --starred` lists them)." if starred else "Unstar items."
    command.__name__ = word
    return handled(command)


app.command("star")(_starrer(True))
app.command("unstar")(_starrer(False))


@app.command()
@handled
def alerts(
    since: Annotated[
        str | None, typer.Option(metavar="W", help="Raised since W (default: 7d).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The alerts `[[rules]]` raised (action alert), oldest first."""
    cfg = _config()
    wire = _wire(cfg)
    found = wire.alerts(since)
    waiting = wire.waiting_alerts()
    if json_:  # "waiting": a notifier has not taken it yet; it is sent again (outbox)
        _print_json([a.to_dict() | {"waiting": (a.id, a.rule) in waiting} for a in found])
        return
    if not found:
        _say(tr("no alerts since {since}").format(since=since or "7d"))
        return
    from .render import alerts_view

    view = alerts_view(found, tz=wire.tz, lang=wire.lang, with_date=True, waiting=waiting)
    _write_stripped(_console(), view, True)


rules_app = typer.Typer(
    help="Filter rules ([[rules]] in the config): try a query, apply the rules to stored items.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")


@rules_app.command("test")
@handled
def rules_test(
    query: Annotated[
        str, typer.Argument(metavar="QUERY", help="A rule's query (the search syntax).")
    ],
    rubric: RubricOpt = None,
    feed: FeedOpt = None,
    lang: LangOpt = None,
    since: Annotated[str, typer.Option(metavar="W", help="Over the items since W.")] = "7d",
    n: Annotated[int, typer.Option("-n", "--number", min=1, help="How many to show.")] = 20,
) -> None:
    """What a rule with QUERY would match among the stored items, before you save it."""
    cfg = _config()
    wire = _wire(cfg)
    selection = _selection(rubric, feed, since, None, lang, query, everything=True)
    everything = wire.select_ids(selection)
    listing = wire.abbreviate(wire.latest(selection, n))
    typer.echo(
        tr("{items} since {since} match").format(items=count(len(everything), "item"), since=since)
    )
    if listing.items:
        from .render import latest_view

        width = _listing_width()
        view = latest_view(
            listing.items,
            tz=wire.tz,
            lang=wire.lang,
            now=wire.now,
            width=width,
            short_ids=listing.short_ids,
        )
        _emit(view, cfg, False, uncut=width is None)


@rules_app.command("apply")
@handled
def rules_apply() -> None:
    """Apply the rules as they are now to every stored item (hide and tag worked out again,
    read and star added; no alerts)."""
    cfg = _config()
    if not cfg.rules:
        _say(tr("no [[rules]] in {path}").format(path=cfg.path))
    seen, changed = _wire(cfg).apply_rules()
    typer.echo(
        tr("rules applied to {items}: {changed} changed").format(
            items=count(seen, "item"), changed=changed
        )
    )


def _write_output(text: str, output: Path | None) -> None:
    """To stdout, or to ``output`` atomically (a temp file beside it, then rename)."""
    if output is None:
        sys.stdout.write(text)
        return
    import tempfile

    target = output.expanduser()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise KzfeedError(
            tr("cannot write {path}: {reason}").format(path=target, reason=exc.strerror)
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise KzfeedError(
            tr("cannot write {path}: {reason}").format(path=target, reason=exc.strerror)
        ) from None


@app.command()
@handled
def digest(
    since: SinceOpt = None,
    until: UntilOpt = None,
    date: Annotated[
        str | None, typer.Option("--date", help="One local day: 2026-11-24, today, yesterday.")
    ] = None,
    rubric: RubricOpt = None,
    feed: FeedOpt = None,
    lang: LangOpt = None,
    search: SearchOpt = None,
    unread: UnreadOpt = False,
    format_: Annotated[
        str, typer.Option("--format", "-F", help="md | html | json | txt | atom")
    ] = "md",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to FILE (atomically).")
    ] = None,
    template: Annotated[
        Path | None, typer.Option(help="A Jinja2 template given the digest data (as the JSON).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Include each story's kept text (show --full).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the digest without moving the since-last mark."),
    ] = False,
) -> None:
    """A digest of the wire grouped by local date, then rubric: Markdown, HTML, JSON, text or
    Atom.  Without a window: everything since the previous digest of the same format and
    filters (or the last 24 hours the first time); only such a run moves that mark."""
    from .reading import DigestOptions

    wire = _wire(_config())
    options = DigestOptions(
        _selection(rubric, feed, since, until, lang, search, unread),
        format_,
        date,
        template,
        full,
        dry_run,
    )
    made = wire.digest(options)
    _write_output(made.text, output)
    wire.keep_digest_mark(made)
    if output is not None:
        items = count(made.data["count"], "item", wire.lang)
        _say(tr("wrote {file}: {items}", wire.lang).format(file=output, items=items))


@app.command("import-opml")
@handled
def import_opml(
    file: Annotated[Path, typer.Argument(help="An OPML 1.0/2.0 file.")],
) -> None:
    """Subscribe to every http(s) feed of an OPML file; report every outline skipped."""
    from .subscribe import import_opml as subscribe_all

    specs, skipped = subscribe_all(_config(), file)
    for item in skipped:
        _say(tr("skipped {what}: {reason}").format(what=item.what, reason=item.reason))
    typer.echo(
        tr("imported {feeds}; skipped {skipped}").format(
            feeds=count(len(specs), "feed"), skipped=len(skipped)
        )
    )


@app.command("export-opml")
@handled
def export_opml(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE.")] = None,
) -> None:
    """Write the subscriptions as OPML 2.0 (for newsboat, Miniflux, reader …)."""
    from .opml import to_opml

    wire = _wire(_config())
    feeds, left_out = wire.opml_feeds()
    for name in left_out:
        _say(tr("skipped {name}: only http(s) feeds go into OPML").format(name=name))
    _write_output(to_opml(feeds, wire.now, wire.lang), output)


@app.command()
@handled
def prune(
    older_than: Annotated[
        str | None, typer.Option(help="Cut-off, e.g. 90d (default: retention_days).")
    ] = None,
) -> None:
    """Apply retention now: drop items older than the cut-off; they do not come back."""
    cutoff, removed = _wire(_config()).prune(older_than)
    if cutoff is None:
        typer.echo(tr("retention_days = 0: nothing is pruned"))
        return
    typer.echo(
        tr("pruned {items} published before {date}").format(
            items=count(removed, "item"), date=f"{cutoff:%Y-%m-%d}"
        )
    )


db_app = typer.Typer(
    help="Check the database, restore its last good state, or rebuild its term index.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("check")
@handled
def db_check() -> None:
    """Read every database file and cross-check the index and the items; exit 1 on a fault."""
    from .store import check

    cfg = _config()
    problems, items, partitions = check(cfg.data_dir)
    for problem in problems:
        _say(problem)
    if problems:
        raise KzfeedError(
            tr("{n} problem(s) in {path}, each with what mends it").format(
                n=len(problems), path=cfg.data_dir
            )
        )
    typer.echo(
        tr("ok: {items} in {partitions} partitions ({path})").format(
            items=count(items, "item"), partitions=partitions, path=cfg.data_dir
        )
    )


@db_app.command("restore")
@handled
def db_restore(
    previous: Annotated[
        bool, typer.Option(help="The state before the last write, not after it.")
    ] = False,
) -> None:
    """Bring back the last good copy of the database from its backups (the current files
    are kept aside, not deleted)."""
    from .store import check, restore

    cfg = _config()
    aside = restore(
        cfg.data_dir, previous=previous, lock_timeout=cfg.settings.lock_timeout, on_wait=_say
    )
    problems, items, partitions = check(cfg.data_dir)
    typer.echo(
        tr("restored {items} in {partitions} partitions; the replaced files are in {path}").format(
            items=count(items, "item"), partitions=partitions, path=aside
        )
    )
    for problem in problems:
        _say(problem)


@db_app.command("reindex")
@handled
def db_reindex() -> None:
    """Build the term index (search and stories) again from every stored item."""
    import time

    cfg = _config()
    wire = _wire(cfg)
    started = time.perf_counter()
    items = wire.reindex()
    typer.echo(
        tr("indexed {items} in {seconds} s").format(
            items=count(items, "item"), seconds=f"{time.perf_counter() - started:.1f}"
        )
    )


# What `--help` shows for each value (Typer would print Python types: <list[str]>, <int range>)
METAVARS = {
    "date": "D",
    "days": "N",
    "feed": "FEED",
    "file": "FILE",
    "format_": "md|html|json|txt|atom",
    "group": "date|rubric|feed",
    "jobs": "N",
    "lang": "ru|kk|en",
    "n": "N",
    "name": "NAME",
    "names": "NAME",
    "older_than": "W",
    "output": "FILE",
    "pick": "N",
    "preset": "PRESET",
    "rubric": "RUBRIC",
    "search": "TEXT",
    "since": "W",
    "template": "FILE",
    "title": "TITLE",
    "until": "W",
    "url": "URL",
}
GLOBAL_OPTIONS = ("--config", "-c")


def command(only: str | None = None) -> Any:
    """The click command behind the app, with readable placeholders and whole summaries in
    `--help`.  With ``only`` (a command's name), the group holds that command alone when
    there is one of that name: Typer works out every command's parameters from its
    signature, 17 ms for all of kzfeed's, which every run would pay for the one it runs."""
    import typer.main

    commands, groups = app.registered_commands, app.registered_groups
    if only is not None:
        name = typer.main.get_command_name  # how Typer names a command from its function
        picked = [
            c for c in commands if (c.name or name(getattr(c.callback, "__name__", ""))) == only
        ]
        picked_groups = [g for g in groups if g.name == only]
        if picked or picked_groups:  # else all: click names the near misses
            app.registered_commands, app.registered_groups = picked, picked_groups
    try:
        group = typer.main.get_command(app)
    finally:
        app.registered_commands, app.registered_groups = commands, groups
    todo = list(group.commands.values())  # type: ignore[attr-defined]
    while todo:
        sub = todo.pop()
        todo.extend(getattr(sub, "commands", {}).values())  # `db check`, `db restore`
        if sub.help and not sub.short_help:
            sub.short_help = sub.help.strip().split("\n\n")[0].split(". ")[0].rstrip(".")
        for param in sub.params:
            if getattr(param, "metavar", None) is None and param.name in METAVARS:
                param.metavar = METAVARS[param.name]
            if param.param_type_name == "argument":
                _plain_argument(param)
    return group


def _plain_argument(param: Any) -> None:
    """An argument shown as `URL`, `[NAME]...`: Typer would print `{URL}` and `URL <str>`."""
    name = str(param.metavar or param.name).upper().removesuffix("...").strip("[]{}")
    shown = name if param.required else f"[{name}]"
    if param.nargs != 1:
        shown += "..."
    param.metavar = shown
    param._usage_display_name = lambda: shown
    param._rich_display_name = lambda: shown
    param.display_type_rich = lambda ctx: None


def global_options_first(argv: list[str]) -> list[str]:
    """`kzfeed latest --config my.toml` works as `kzfeed --config my.toml latest` does: the
    global options found after the command name (before any "--") move in front of it."""
    k = 0
    while k < len(argv) and argv[k].startswith("-"):  # global options already in front
        k += 2 if argv[k] in GLOBAL_OPTIONS else 1
    head, rest, moved = argv[: k + 1], argv[k + 1 :], []
    tail = []
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            tail += [arg, *rest]
            break
        if arg in GLOBAL_OPTIONS and rest:
            moved += [arg, rest.pop(0)]
        elif arg.startswith("--config="):
            moved.append(arg)
        else:
            tail.append(arg)
    return head[:k] + moved + head[k:] + tail


def invoked(argv: list[str]) -> str | None:
    """The command an argument list (global options first) names, or None (none named, or
    a global option asks for help or the version)."""
    k = 0
    while k < len(argv) and argv[k].startswith("-"):
        if argv[k] in GLOBAL_OPTIONS:
            k += 2
        elif argv[k].startswith(("--config=", "-c")):
            k += 1  # `--config=PATH`, `-cPATH`
        else:
            return None  # --help, --version, or a mistake click is to report
    return argv[k] if k < len(argv) else None


def main() -> None:
    args = global_options_first(sys.argv[1:])
    command(only=invoked(args))(args=args, prog_name="kzfeed")


def run() -> None:
    """The `kzfeed` command: `main`, then the process ends without Python's teardown, which
    frees every object one by one (27 ms of a steady poll's 1.2 s).  What the teardown must
    do is done first: the atexit handlers (multiprocessing's, which ends the parse
    workers) and the standard streams' last flush.  Files are written and closed by then
    (`files.write_atomic`).  While another thread is still running, Python ends as usual:
    it waits for that thread."""
    import atexit
    import threading

    code: int | str | None = 0
    if invoked(global_options_first(sys.argv[1:])) not in LONG_RUNNING:
        collect_less()
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    except BrokenPipeError:  # outside a command (`--version | true`): as `handled` does
        _quiet_stdout()
    except OSError as exc:  # outside a command (`--version` to a full disk): one line
        code = _lost(exc)
    if threading.active_count() > 1 or not isinstance(code, int | None):
        sys.exit(code)
    atexit._run_exitfuncs()
    code = code or 0
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (`>&-`, some crons)
            continue
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader gone (`| head`): nothing to say
            pass
        except OSError as exc:  # a full disk: the output is lost, and the run says so
            if stream is sys.stdout and not code:  # (once: not again after the above)
                code = _lost(exc)
    os._exit(code)


#: How often the `kzfeed` process looks for cyclic garbage (`gc.set_threshold`): every
#: 200,000 new containers, not 700 (as mypy does).  Its data — records decoded from JSON,
#: feeds parsed — holds no cycles, and each collection scans what is alive: on a day of
#: 45,000 items, scanning the records as they were decoded was a fifth of `latest --group
#: rubric` (1.84 → 1.53 s); a cold update gained 4 %.  Memory does not grow (cycles
#: are few, and still collected).
GC_THRESHOLDS = (200_000, 30, 30)
#: Commands that run for hours keep Python's thresholds: the reader's widgets and each
#: poll's connections make cyclic garbage, which would otherwise wait long to be freed
#: (None: no command named — `kzfeed` alone opens the reader).
LONG_RUNNING = frozenset({"watch", "browse", None})


def collect_less() -> None:
    import gc

    gc.set_threshold(*GC_THRESHOLDS)


def _lost(exc: OSError) -> int:
    """Output lost (a full disk): one line on stderr, where there is one; the exit code."""
    with contextlib.suppress(Exception):
        _say(tr("error: {reason}").format(reason=exc))
    return 1
