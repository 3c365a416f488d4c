"""`kzfeed browse`: the full-screen reader (Textual), a face on `reading.Wire`.

A sidebar of rubrics and feeds with unread counts; the headline list, grouped by local day
(or by rubric or feed, `g`), read from the store a partition at a time as you scroll; the
story pane.  Everything it shows comes from `Wire`, as the CLI's views do, and everything it
changes (read marks, an article's text, an update) is written through it — in worker
threads, so the screen never waits for the database lock or the network.

Feed text is untrusted: it reaches Textual only as `rich.text.Text` built from cleaned
plain text (`text.clean_line`), never as markup.
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from . import rubrics
from .config import Config
from .dates import from_iso
from .errors import KzfeedError, StoreError, describe
from .model import display_source, listing_order, primary_rubric, story_of
from .query import IndexMismatch, Record, StoryLine, collapse, group_by_day
from .reading import GROUPS, Selection, StoryPages, Wire
from .render import abbreviate, day_label, item_view
from .sanitize import clean_line
from .words import count, tr

#: How many rows the list holds before it reads the next page (more as you scroll).
FIRST_ROWS = 120
KEEP_ROWS = 1200  # how far down a reload looks for the story that was on screen
MORE_WHEN_LEFT = 40

#: (key, action, description) — the footer and the `?` screen list them.
KEYS: tuple[tuple[str, str, str], ...] = (
    ("enter", "open", "open"),
    ("escape", "go_back", "back"),
    ("q", "back_or_quit", "back / quit"),
    ("n", "next_unread", "next unread"),
    ("r", "toggle_read", "read / unread"),
    ("f", "full_text", "full text"),
    ("o", "open_link", "open link"),
    ("slash", "search", "search"),
    ("u", "update", "update"),
    ("tab", "switch_pane", "pane"),
    ("g", "cycle_group", "grouping"),
    ("s", "toggle_stories", "stories"),
    ("question_mark", "help", "keys"),
)


def key_descriptions(lang: str) -> list[tuple[str, str]]:
    """The keys and what they do, in ``lang`` (the `?` screen, the README's table)."""
    words = {
        "open": tr("open the story", lang),
        "back": tr("back to the list", lang),
        "back / quit": tr("back; on the list: quit", lang),
        "next unread": tr("the next unread story", lang),
        "read / unread": tr("mark read / unread", lang),
        "full text": tr("fetch the full text", lang),
        "open link": tr("open the link in the browser", lang),
        "search": tr("search (the CLI's --search)", lang),
        "update": tr("update in the background", lang),
        "pane": tr("switch between sidebar and list", lang),
        "grouping": tr("group by day, rubric, feed", lang),
        "stories": tr("one line per story, or every item", lang),
        "keys": tr("this list", lang),
    }
    shown = {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter", "tab": "Tab"}
    rows = [(shown.get(key, key), words[what]) for key, _action, what in KEYS]
    rows.insert(1, ("↑ ↓  j k", tr("move", lang)))
    return rows


def _footer_word(what: str, lang: str) -> str:
    words = {
        "open": tr("open", lang),
        "back": tr("back", lang),
        "back / quit": tr("quit", lang),
        "next unread": tr("next", lang),
        "read / unread": tr("read", lang),
        "full text": tr("full text", lang),
        "open link": tr("link", lang),
        "search": tr("search", lang),
        "update": tr("update", lang),
        "pane": tr("pane", lang),
        "grouping": tr("grouping", lang),
        "stories": tr("stories", lang),
        "keys": tr("keys", lang),
    }
    return words[what]


class KeysScreen(ModalScreen[None]):
    """`?`: every key and what it does."""

    BINDINGS: ClassVar[list[Any]] = [Binding("escape,q,question_mark", "dismiss", show=False)]
    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > Static { width: auto; max-width: 90%; border: round $accent; padding: 1 2;
                          background: $surface; }
    """

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        text = Text()
        rows = key_descriptions(self.lang)
        width = max(len(key) for key, _ in rows)
        for n, (key, what) in enumerate(rows):
            text.append(("\n" if n else "") + key.ljust(width + 2), style="bold")
            text.append(what)
        yield Static(text)


class WireReader(App[None]):
    """The reader.  ``wire`` is the opened store; ``config`` lets workers open their own
    (a Store is not shared between threads)."""

    TITLE = "kzfeed"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #panes { height: 1fr; }
    #sidebar { width: 30; height: 100%; border: none; border-right: vkey $foreground 20%; }
    #sidebar.narrow { width: 20; }
    #sidebar { text-wrap: nowrap; text-overflow: ellipsis; }
    #headlines { width: 1fr; height: 100%; border: none; text-wrap: nowrap;
                 text-overflow: ellipsis; }
    #story { width: 1fr; display: none; padding: 0 1; }
    #search { display: none; }
    #status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, config: Config, *, now: datetime | None = None) -> None:
        super().__init__()
        self.config = config
        self.fixed_now = now  # None: the clock (a reader left open overnight moves on)
        self.wire = Wire(config, now=now)
        self.lang = self.wire.lang
        self.selection = Selection()
        self.group = "date"
        self.by_story = config.settings.stories  # one row per story (s toggles)
        self.story_lines: dict[str, StoryLine] = {}  # a listed story's versions, by lead id
        self.rows: list[Record | None] = []  # one per option of the list; None: a heading
        self.pages: Iterator[list[Record]] | None = None
        # listing stories: read through the term index, as `latest --stories` lists them
        # (else each page of items is collapsed alone: `leads`)
        self.story_pages: StoryPages | None = None
        self.last_day: str | None = None
        # stories first stored at or after this time were brought by an update run from
        # the reader (they are marked ●, whatever the view)
        self.fresh_since: str | None = None
        self.listed_before: set[str] = set()  # listed when u was pressed: not new
        # what this reader changed, applied to every row it lists (its own store's copy
        # is read once; the writes go through workers with stores of their own)
        self.read_marks: dict[str, bool] = {}
        self.texts: dict[str, str] = {}
        self.pending_marks: dict[str, bool] = {}  # written by one worker, the last wins
        self.marks_lock = threading.Lock()
        self.marking = False
        self.listed: set[str] = set()  # ids in the list (an item is listed once)
        self.reached: tuple[str, str] | None = None  # the oldest item of the pages read
        self.listed_at_start: set[str] = set()
        self.current: Record | None = None  # the story on screen
        self.updating = False
        self.failure: KzfeedError | None = None  # why the reader could not open
        self.sidebar_keys: list[tuple[str, str] | None] = []
        # unread items per rubric and per feed over 7 days (`count_unread`)
        self.counts: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.status_follows = False  # the status line says what is listed
        self.counting = False  # a count is running
        self.recount = False  # and another was asked for meanwhile
        self.source_width = 14  # cells for the agency's name (10 on a narrow terminal)
        self.sidebar_room = 27
        for key, action, what in KEYS:
            self.bind(key, action, description=_footer_word(what, self.lang))
        self.bind("j", "down", show=False)
        self.bind("k", "up", show=False)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield OptionList(id="sidebar")
            yield OptionList(id="headlines")
            with VerticalScroll(id="story"):
                yield Static(id="story-body")
        yield Input(id="search", placeholder=tr("search: words of a title or summary", self.lang))
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.fit(self.size.width)
        self.reload()
        if self.failure is not None:
            return
        self.query_one("#headlines", OptionList).focus()
        self.guarded(self.show_counts)  # the rubrics and feeds; their counts as they come
        if self.failure is None:  # once the first screen is drawn: a thread beside the
            self.call_after_refresh(self.count_unread)  # drawing slowed it by a third

    def on_resize(self, event: events.Resize) -> None:
        changed = self.fit(event.size.width)
        if not self.rows:
            return
        # the new width's room, and a scrollbar come or gone with the new height (the
        # app's own size is not the new one yet)
        self.guarded(lambda: self.show_counts(event.size.height))
        if changed:
            keep = self.current["id"] if self.current is not None else self.highlighted_id()
            self.reload(keep=keep)

    def fit(self, width: int) -> bool:
        """Give the headlines the room on a narrow terminal (under 100 columns): a narrower
        sidebar and source column.  True when the layout changed."""
        narrow = width < 100
        self.query_one("#sidebar").set_class(narrow, "narrow")
        source_width = 10 if narrow else 14
        changed = source_width != self.source_width
        self.source_width = source_width
        self.sidebar_room = 17 if narrow else 27  # the sidebar's width less its padding
        return changed

    # ------------------------------------------------------------------ the sidebar

    def count_unread(self) -> None:
        """Count the sidebar's unread items afresh: in a thread (`_count`), one count at a
        time — asked again while one runs, the next starts when it ends."""
        if self.counting:
            self.recount = True
            return
        self.counting, self.recount = True, False
        self._count()

    @work(thread=True, group="counts")
    def _count(self) -> None:
        """The sidebar's unread counts, in a thread with a store of its own: they read the
        last 7 days whole (0.2 s on a wire of 7,500 items a day, 0.8 s on one of 45,000),
        and the list stays live meanwhile, from its first screen on."""
        try:
            counts = Wire(self.config, now=self.fixed_now).unread_counts()
        except Exception as exc:
            self.call_from_thread(self.counted, None, exc)
            return
        self.call_from_thread(self.counted, counts, None)

    def counted(
        self, counts: tuple[dict[str, int], dict[str, int]] | None, error: Exception | None
    ) -> None:
        self.counting = False
        if isinstance(error, StoreError):  # a damaged database: the CLI says so in one line
            self.fail(error)
            return
        if error is not None:  # one line in the status bar, never the app
            self.say(_reason(error))
        elif counts is not None:
            self.counts = counts
            self.guarded(self.show_counts)
        if self.recount:  # marks or an update came in meanwhile
            self.count_unread()

    def show_counts(self, screen_height: int | None = None) -> None:
        """The sidebar, with the unread counts last counted (``screen_height``: the
        terminal's, when it has just changed)."""
        sidebar = self.query_one("#sidebar", OptionList)
        by_rubric, by_feed = self.counts
        # ids name the sections, so a choice stands for its section even if the counts
        # rebuild the sidebar between the key and its handling
        # rows past the sidebar's height bring a scrollbar, two cells of the room (without
        # them, 40 feeds at 80 columns showed "Tengrinews #2 …", its count cut off)
        rows = 3 + sum(1 for key in rubrics.ORDER if key in by_rubric) + len(self.config.feeds)
        # the screen less the status line and the footer
        height = (screen_height or self.size.height) - 2
        room = self.sidebar_room - (2 if rows > height else 0)
        all_news = Option(Text(tr("All news", self.lang), style="bold"), id="all")
        options: list[Option | None] = [all_news]
        keys: list[tuple[str, str] | None] = [None]
        options.append(Option(Text(tr("Rubrics", self.lang), style="dim"), disabled=True))
        keys.append(None)
        for key in rubrics.ORDER:
            if key in by_rubric:
                label = rubrics.label(key, self.lang)
                counted = _counted(label, by_rubric[key], room)
                options.append(Option(counted, id=f"rubric:{key}"))
                keys.append(("rubric", key))
        options.append(Option(Text(tr("Feeds", self.lang), style="dim"), disabled=True))
        keys.append(None)
        titles = self.wire.feed_titles()
        for spec in self.config.feeds:
            name = clean_line(titles.get(spec.name, spec.name))
            counted = _counted(name, by_feed.get(spec.name, 0), room)
            options.append(Option(counted, id=f"feed:{spec.name}"))
            keys.append(("feed", spec.name))
        # the row that was highlighted stays so, wherever the counts moved it
        was = sidebar.highlighted
        held = self.sidebar_keys[was] if was is not None and was < len(self.sidebar_keys) else None
        self.sidebar_keys = keys
        sidebar.clear_options()
        sidebar.add_options(options)
        if was is not None:
            sidebar.highlighted = keys.index(held) if held in keys else 0

    @on(OptionList.OptionSelected, "#sidebar")
    def choose_section(self, event: OptionList.OptionSelected) -> None:
        kind, _, name = (event.option_id or "all").partition(":")
        base = replace(self.selection, rubrics=(), feeds=())
        if kind == "rubric":
            self.selection = replace(base, rubrics=(name,))
        elif kind == "feed":
            self.selection = replace(base, feeds=(name,))
        else:
            self.selection = base
        self.reload()
        self.query_one("#headlines", OptionList).focus()

    # ------------------------------------------------------------------ the list

    def reload(self, keep: str | None = None) -> None:
        """Read the list afresh for the selection and grouping (a page at a time when
        grouped by day: `Wire.pages`); ``keep``: the item to highlight again."""
        headlines = self.query_one("#headlines", OptionList)
        kept = next((r for r in self.rows if r is not None and r["id"] == keep), None)
        if kept is None and self.current is not None and self.current["id"] == keep:
            kept = self.current  # open, though another version leads its story's row now
        headlines.clear_options()
        self.rows, self.last_day, self.listed = [], None, set()
        self.story_lines = {}
        self.reached = None
        self.pages = None
        if self.story_pages is not None:
            self.story_pages.close()
            self.story_pages = None
        try:
            if self.group == "date":
                if self.by_story:
                    self.story_pages = self.wire.story_pages(self.selection)
                if self.story_pages is not None:
                    self.pages = self.story_leads(self.story_pages)
                else:
                    self.pages = self.wire.pages(self.selection)
                self.load_more(FIRST_ROWS)
                # the story that was on screen stays found, however far down it was: by
                # its id or, listing stories, its story's (another version may lead it
                # now) — as far as KEEP_ROWS more rows: a story placed by a first version
                # days back (an item's later version highlighted, then `s`) is not worth
                # reading days of stories for, while the screen waits
                for _ in range(KEEP_ROWS // FIRST_ROWS):
                    if keep is None or self.pages is None or self.find(keep, kept) is not None:
                        break
                    if self.read_past(kept):
                        break  # past where it was published: it is not in this list
                    self.load_more(FIRST_ROWS)
            else:
                self.pages = None
                self.show_sections()
        except StoreError as exc:
            self.fail(exc)
            return
        except KzfeedError as exc:
            self.say(str(exc))
            return
        if not self.rows:
            empty = not self.wire.store.partitions()
            message = (
                tr("the database is empty: press u to fetch the feeds", self.lang)
                if empty
                else tr("No items match.", self.lang)
            )
            headlines.add_option(Option(Text(message, style="dim"), disabled=True))
            self.rows.append(None)
        self.say_selection()
        target = self.find(keep, kept) if keep is not None else None
        if target is None:
            target = next((n for n, r in enumerate(self.rows) if r is not None), None)
        if target is not None:
            headlines.highlighted = target

    def read_past(self, record: Record | None) -> bool:
        """Whether the pages read reach older than ``record`` (listing stories through the
        index: and never met its story — a story met is listed once past its lead)."""
        if record is None:
            return False
        if self.story_pages is not None:
            return self.story_pages.passed(record)
        return self.reached is not None and self.reached < listing_order(record)

    def story_leads(self, pages: StoryPages) -> Iterator[list[Record]]:
        """Each page of stories as its leads, their lines kept for the rows."""
        for lines in pages:
            for line in lines:
                self.story_lines[line.lead["id"]] = line
            yield [line.lead for line in lines]

    def find(self, item_id: str, record: Record | None) -> int | None:
        """The row of an item; listing stories, of its story when it does not lead it."""
        for n, row in enumerate(self.rows):
            if row is not None and row["id"] == item_id:
                return n
        if self.by_story and record is not None:
            story = story_of(record)
            for n, row in enumerate(self.rows):
                if row is not None and story_of(row) == story:
                    return n
        return None

    def load_more(self, rows: int) -> None:
        """Append pages until ``rows`` more rows are listed (or the store ends)."""
        if self.pages is None:
            return
        try:
            try:
                self._load_more(rows)
            except IndexMismatch:  # the term index is not the store's: pages of items,
                assert self.story_pages is not None  # from where the stories had got to
                through = self.story_pages.position
                self.story_pages = None
                self.pages = self.wire.pages(self.selection, through)
                self._load_more(rows)
        except StoreError as exc:  # a damaged older partition, met while scrolling
            self.pages = None
            self.fail(exc)
            return
        if self.status_follows:  # how many are listed now (not over a message)
            self.say_selection()

    def _load_more(self, rows: int) -> None:
        assert self.pages is not None
        headlines = self.query_one("#headlines", OptionList)
        wanted = len(self.rows) + rows
        options: list[Option] = []
        try:
            self._pages_into(wanted, options)
        finally:  # the rows listed so far, shown whatever stopped the pages
            headlines.add_options(options)

    def _pages_into(self, wanted: int, options: list[Option]) -> None:
        assert self.pages is not None
        while len(self.rows) < wanted:
            page = next(self.pages, None)
            if page is None:
                self.pages = None
                break
            self.reached = listing_order(page[-1])  # a page's oldest: where the list is
            today = self.wire.now.astimezone(self.wire.tz).date()
            if self.by_story and self.story_pages is None:
                page = self.leads(page)
            for day, records in group_by_day(page, self.wire.tz):
                key = day.isoformat()
                if key != self.last_day:
                    heading = Text(day_label(day, today, self.lang), style="bold underline")
                    options.append(Option(heading, disabled=True))
                    self.rows.append(None)
                    self.last_day = key
                for record in records:
                    if record["id"] in self.listed:  # in two partitions (a cut commit)
                        continue
                    self.known_state(record)
                    options.append(Option(self.headline(record), id=record["id"]))
                    self.rows.append(record)
                    self.listed.add(record["id"])

    def leads(self, records: list[Record]) -> list[Record]:
        """A page's stories, one lead each (newest first), leaving out a story listed
        already (its newer versions came on an earlier page)."""
        listed = {story_of(line.lead) for line in self.story_lines.values()}
        settings = self.config.settings
        out = []
        for line in collapse(records, settings.preferred_feeds, self.wire.feed_titles()):
            if story_of(line.lead) in listed:
                continue
            self.story_lines[line.lead["id"]] = line
            out.append(line.lead)
        return out

    def known_state(self, record: Record) -> None:
        """What this reader changed about a record, over its store's copy."""
        if record["id"] in self.read_marks:
            record["read"] = self.read_marks[record["id"]]
        if record["id"] in self.texts:
            record["full_text"] = self.texts[record["id"]]

    def show_sections(self) -> None:
        listing = self.wire.latest(self.selection, 20, self.group, stories=self.by_story)
        self.story_lines = dict(listing.stories or {})
        headlines = self.query_one("#headlines", OptionList)
        options: list[Option] = []
        if listing.window:
            start = from_iso(listing.window).astimezone(self.wire.tz)
            options.append(Option(Text(start.strftime("%d.%m") + " →", style="dim"), disabled=True))
            self.rows.append(None)
        sections: dict[str, list[Record]] = {}
        for record in listing.items:
            key = primary_rubric(record) if self.group == "rubric" else display_source(record)
            sections.setdefault(key, []).append(record)
        more_word = tr("+{n} more", self.lang)
        for key, records in sections.items():
            name = rubrics.label(key, self.lang) if self.group == "rubric" else clean_line(key)
            total = listing.totals.get(key, len(records))
            heading = f"{name} · {total}"
            if total > len(records):
                heading += f" ({more_word.format(n=total - len(records))})"
            options.append(Option(Text(heading, style="bold underline"), disabled=True))
            self.rows.append(None)
            for record in records:
                if record["id"] in self.listed:
                    continue
                self.known_state(record)
                options.append(Option(self.headline(record, with_date=True), id=record["id"]))
                self.rows.append(record)
                self.listed.add(record["id"])
        headlines.add_options(options)

    def headline(self, record: Record, with_date: bool = False) -> Text:
        """One row: a mark for what an update brought, local time, source, title; unread
        titles bold.  Plain text only."""
        local = from_iso(record["published"]).astimezone(self.wire.tz)
        line = Text()
        fresh = (
            self.fresh_since is not None
            and record.get("first_seen", "") >= self.fresh_since
            and record["id"] not in self.listed_before
        )
        line.append("● " if fresh else "  ", style="green")
        line.append(local.strftime("%d.%m %H:%M" if with_date else "%H:%M"), style="dim")
        line.append("  ")
        width = self.source_width
        line.append(
            abbreviate(clean_line(display_source(record)), width).ljust(width), style="cyan"
        )
        line.append(" ")
        line.append(
            clean_line(str(record.get("title") or "")), style="" if record.get("read") else "bold"
        )
        story = self.story_lines.get(record["id"]) if self.by_story else None
        if story is not None and story.sources:
            line.append(f"  +{len(story.sources)}", style="dim")
        return line

    def redraw_row(self, index: int) -> None:
        record = self.rows[index]
        if record is None:
            return
        headlines = self.query_one("#headlines", OptionList)
        headlines.replace_option_prompt_at_index(
            index, self.headline(record, with_date=self.group != "date")
        )

    @on(OptionList.OptionHighlighted, "#headlines")
    def near_the_end(self, event: OptionList.OptionHighlighted) -> None:
        if self.pages is not None and event.option_index >= len(self.rows) - MORE_WHEN_LEFT:
            self.load_more(FIRST_ROWS)

    @on(OptionList.OptionSelected, "#headlines")
    def open_selected(self, event: OptionList.OptionSelected) -> None:
        self.open_story(event.option_index)

    # ------------------------------------------------------------------ the story

    def open_story(self, index: int) -> None:
        record = self.rows[index] if 0 <= index < len(self.rows) else None
        if record is None:
            return
        self.current = record
        told = self.story_lines.get(record["id"]) if self.by_story else None
        if told is not None:
            # the whole story (through the term index): its versions on pages the list has
            # not read yet are shown and marked read too
            try:
                whole = self.wire.story(record["id"])
            except KzfeedError:
                pass
            else:  # as the list shows them: muted versions only with --all
                everything = self.selection.everything
                shown = [v for v in whole.versions if everything or not v.get("hidden")]
                if any(v["id"] == record["id"] for v in shown):
                    (line,) = collapse(
                        shown, self.config.settings.preferred_feeds, self.wire.feed_titles()
                    )
                    told = self.story_lines[record["id"]] = StoryLine(
                        record, line.versions, line.sources
                    )
        self.render_story(record)
        for version in told.versions if told is not None else ():
            if version["id"] != record["id"] and not version.get("read"):
                version["read"] = True
                self.write_mark(version["id"], True)  # the story is read: every version
        story = self.query_one("#story", VerticalScroll)
        self.query_one("#headlines", OptionList).display = False
        story.display = True
        story.scroll_home(animate=False)
        story.focus()
        if not record.get("read"):
            self.set_read(index, True)

    def render_story(self, record: Record, text: str | None = None) -> None:
        shown = record.copy()
        if text:
            shown["text"] = text
        view: RenderableType = item_view(
            shown, tz=self.wire.tz, lang=self.lang, feeds=self.wire.feed_titles(), fold=True
        )
        story = self.story_lines.get(record["id"]) if self.by_story else None
        if story is not None and len(story.versions) > 1:
            others = [v for v in story.versions if v["id"] != record["id"]]
            lines = [Text(""), Text(tr("Also told by", self.lang), style="bold underline")]
            for version in others:
                when = from_iso(version["published"]).astimezone(self.wire.tz)
                told = Text(when.strftime("%d.%m %H:%M") + "  ", style="dim")
                told.append(clean_line(display_source(version)), style="cyan")
                told.append("  " + clean_line(str(version.get("title") or "")))
                lines.append(told)
            view = Group(view, *lines)
        self.query_one("#story-body", Static).update(view)

    def close_story(self) -> None:
        self.current = None
        self.query_one("#story", VerticalScroll).display = False
        headlines = self.query_one("#headlines", OptionList)
        headlines.display = True
        headlines.focus()

    def highlighted_id(self) -> str | None:
        index = self.highlighted_index()
        record = self.rows[index] if index is not None and index < len(self.rows) else None
        return record["id"] if record is not None else None

    @property
    def reading(self) -> bool:
        return self.current is not None

    def highlighted_index(self) -> int | None:
        if self.current is not None:  # its row, or its story's (another version may lead it)
            return self.find(self.current["id"], self.current)
        return self.query_one("#headlines", OptionList).highlighted

    # ------------------------------------------------------------------ actions

    def action_down(self) -> None:
        if self.reading:
            self.query_one("#story", VerticalScroll).scroll_down()
        elif isinstance(self.focused, OptionList):
            self.focused.action_cursor_down()

    def action_up(self) -> None:
        if self.reading:
            self.query_one("#story", VerticalScroll).scroll_up()
        elif isinstance(self.focused, OptionList):
            self.focused.action_cursor_up()

    def action_open(self) -> None:
        if not self.reading and self.focused is self.query_one("#headlines"):
            index = self.query_one("#headlines", OptionList).highlighted
            if index is not None:
                self.open_story(index)

    def action_go_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.display:
            search.display = False
            self.query_one("#headlines", OptionList).focus()
        elif self.reading:
            self.close_story()

    def action_back_or_quit(self) -> None:
        if self.reading or self.query_one("#search", Input).display:
            self.action_go_back()
        else:
            self.exit()

    def action_next_unread(self) -> None:
        start = self.highlighted_index()
        start = -1 if start is None else start
        while True:
            for n in range(start + 1, len(self.rows)):
                record = self.rows[n]
                if record is not None and not record.get("read"):
                    self.query_one("#headlines", OptionList).highlighted = n
                    self.open_story(n)
                    return
            if self.pages is None:
                break
            start = len(self.rows) - 1
            self.load_more(FIRST_ROWS)
        self.say(tr("nothing unread", self.lang))

    def action_toggle_read(self) -> None:
        index = self.highlighted_index()
        if index is not None and (record := self.rows[index]) is not None:
            self.set_read(index, not record.get("read"))

    def set_read(self, index: int, read: bool) -> None:
        record = self.rows[index]
        if record is None:
            return
        record["read"] = read
        self.redraw_row(index)
        self.write_mark(record["id"], read)

    def write_mark(self, item_id: str, read: bool) -> None:
        """Queue a read mark; one worker writes the queue with a store of its own (the lock
        may be held by a running update: the screen does not wait), the last mark of an
        item winning."""
        self.read_marks[item_id] = read
        with self.marks_lock:
            self.pending_marks[item_id] = read
            if self.marking:
                return
            self.marking = True
        self.write_marks()

    @work(thread=True, group="marks")
    def write_marks(self) -> None:
        while True:
            with self.marks_lock:
                marks, self.pending_marks = self.pending_marks, {}
                if not marks:
                    self.marking = False
                    return
            try:
                wire = Wire(self.config, now=self.wire.now)
                for read in (True, False):
                    ids = [item_id for item_id, value in marks.items() if value is read]
                    if ids:
                        wire.mark(ids, read)
            except Exception as exc:  # one line in the status bar, never the app
                self.call_from_thread(self.say, _reason(exc))
            else:
                self.call_from_thread(self.refresh_counts)

    def refresh_counts(self) -> None:
        """The sidebar's unread counts, read afresh (the marks are in the store now)."""
        self.wire = Wire(self.config, now=self.fixed_now)
        self.count_unread()

    def action_full_text(self) -> None:
        if self.current is None:
            index = self.highlighted_index()
            if index is None or self.rows[index] is None:
                return
            self.open_story(index)
        assert self.current is not None
        self.say(tr("fetching the full text…", self.lang))
        self.fetch_article(self.current.copy())

    @work(thread=True, exclusive=True, group="article")
    def fetch_article(self, record: Record) -> None:
        try:
            text = Wire(self.config, now=self.wire.now).article(record)
        except Exception as exc:
            self.call_from_thread(
                self.say,
                tr("no full text: {reason}; showing what the feed gave", self.lang).format(
                    reason=_reason(exc)
                ),
            )
            return
        self.call_from_thread(self.show_article, record["id"], text)

    def show_article(self, item_id: str, text: str) -> None:
        self.texts[item_id] = text
        for record in self.rows:
            if record is not None and record["id"] == item_id:
                record["full_text"] = text
        if self.current is not None and self.current["id"] == item_id:
            self.render_story(self.current, text)
            self.say(tr("full text", self.lang))

    def action_open_link(self) -> None:
        from .normalize import http_url

        index = self.highlighted_index()
        record = self.rows[index] if index is not None else None
        url = http_url(record.get("url")) if record is not None else None
        if url is None:
            self.say(tr("no http(s) link", self.lang))
            return
        self.open_in_browser(url)
        self.say(url)

    @work(thread=True, group="browser")
    def open_in_browser(self, url: str) -> None:
        webbrowser.open(url)

    def action_search(self) -> None:
        if self.reading:
            self.close_story()
        search = self.query_one("#search", Input)
        search.value = self.selection.search or ""
        search.display = True
        search.focus()

    @on(Input.Submitted, "#search")
    def run_search(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.selection = replace(self.selection, search=event.value.strip() or None)
        self.reload()
        self.query_one("#headlines", OptionList).focus()

    def action_switch_pane(self) -> None:
        if self.reading:
            return
        sidebar = self.query_one("#sidebar", OptionList)
        if self.focused is sidebar:
            self.query_one("#headlines", OptionList).focus()
        else:
            sidebar.focus()

    def action_cycle_group(self) -> None:
        if self.reading:
            self.close_story()
        self.group = GROUPS[(GROUPS.index(self.group) + 1) % len(GROUPS)]
        self.reload()

    def action_toggle_stories(self) -> None:
        if self.reading:
            self.close_story()
        self.by_story = not self.by_story
        self.reload(keep=self.highlighted_id())

    def action_help(self) -> None:
        self.push_screen(KeysScreen(self.lang))

    def action_update(self) -> None:
        if self.updating:
            self.say(tr("an update is running", self.lang))
            return
        self.updating = True
        from .dates import to_utc_iso, utcnow

        started = to_utc_iso(utcnow())  # seconds: an item stored that second counts as new
        self.listed_at_start = set(self.listed)
        self.say(tr("updating", self.lang) + "…")
        self.run_update(started)

    @work(thread=True, exclusive=True, group="update")
    def run_update(self, started: str) -> None:
        """`kzfeed update` in a worker: you keep reading; the list is read again after."""
        from .update import update

        def progress(name: str, what: str) -> None:
            self.call_from_thread(self.say, clean_line(f"{tr('updating', self.lang)}: {name}")[:80])

        def waiting(message: str) -> None:
            self.call_from_thread(self.say, message)

        try:
            report = update(self.config, None, progress=progress, on_wait=waiting)
        except Exception as exc:
            self.call_from_thread(self.update_done, None, _reason(exc), started)
            return
        self.call_from_thread(self.update_done, report, None, started)

    def update_done(self, report: Any, error: str | None, started: str) -> None:
        self.updating = False
        self.listed_before = self.listed_at_start
        if error is not None:
            self.say(tr("error: {reason}", self.lang).format(reason=error))
            return
        keep = self.current["id"] if self.current is not None else self.highlighted_id()
        self.wire = Wire(self.config, now=self.fixed_now)  # a fresh store: what it wrote
        self.fresh_since = started
        self.reload(keep=keep)
        if self.current is not None:  # the open story is the store's copy now
            found = next((r for r in self.rows if r is not None and r["id"] == keep), None)
            self.current = found or self.current
        self.count_unread()
        self.say(
            tr("{new} new, {updated} updated, {errors} failed", self.lang).format(
                new=report.new, updated=report.updated, errors=report.errors
            )
        )

    def fail(self, exc: KzfeedError) -> None:
        """The database cannot be read: leave, restoring the terminal; `run` raises it."""
        self.failure = exc
        self.exit(return_code=1)

    def guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except StoreError as exc:
            self.fail(exc)

    # ------------------------------------------------------------------ status

    def say(self, message: str) -> None:
        self.status_follows = False  # a message: more pages read do not overwrite it
        self.query_one("#status", Static).update(Text(clean_line(message)))

    def say_selection(self) -> None:
        """The status line: what is listed and how many (it follows the pages read)."""
        self.say(self.describe_selection())
        self.status_follows = True

    def describe_selection(self) -> str:
        parts = []
        if self.selection.rubrics:
            parts.append(rubrics.label(self.selection.rubrics[0], self.lang))
        if self.selection.feeds:
            parts.append(self.wire.feed_titles().get(self.selection.feeds[0], ""))
        if self.selection.search:
            parts.append(f"«{self.selection.search}»")
        shown = sum(1 for r in self.rows if r is not None)
        listed = count(shown, "story" if self.by_story else "item", self.lang)
        if self.pages is not None:  # more to come as the list is scrolled
            listed += " …"
        return " · ".join([*parts, listed]) if parts else listed


def _reason(exc: BaseException) -> str:
    """An error for the status line: kzfeed's own as it says it, anything else in short."""
    return str(exc) if isinstance(exc, KzfeedError) else describe(exc)


def _counted(name: str, unread: int, width: int) -> Text:
    """A sidebar line: the name, cut to leave room for its unread count."""
    count = f" {unread}" if unread else ""
    line = Text(abbreviate(name, max(4, width - len(count))))
    line.append(count, style="bold")
    return line


def run(config: Config) -> None:
    """Open the reader; returns when it is quit.  A database it cannot read is raised once
    the terminal is restored (the CLI turns it into one line and exit 1)."""
    reader = WireReader(config)
    reader.run()
    if reader.failure is not None:
        raise reader.failure
