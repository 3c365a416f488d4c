"""Rich views.  Feed text reaches Rich only as `rich.text.Text` built from cleaned strings:
never as markup, so `[bold]`, `:smile:` or escape sequences in a title are shown literally
(without their control characters)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from . import rubrics
from .dates import from_iso
from .model import FeedResult, display_source, primary_rubric
from .query import (
    DailyCounts,
    Record,
    StoryLine,
    group_by_day,
    group_by_feed,
    group_by_rubric,
)
from .sanitize import clean_line, clean_text
from .words import label, ntr, status_word, tr

if TYPE_CHECKING:
    from rich.table import Table

    from .rules import Alert
    from .ticker import Tick

MONTHS_GEN = {
    "ru": (
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    "kk": (
        "қаңтар",
        "ақпан",
        "наурыз",
        "сәуір",
        "мамыр",
        "маусым",
        "шілде",
        "тамыз",
        "қыркүйек",
        "қазан",
        "қараша",
        "желтоқсан",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
WEEKDAYS = {
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "kk": ("дс", "сс", "ср", "бс", "жм", "сн", "жс"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
ID_WIDTH = 8


def safe(value: object, style: str = "") -> Text:
    """Untrusted text as a Text: control and bidi characters removed, no markup parsed."""
    return Text(clean_text(str(value or "")), style=style)


def safe_line(value: object, style: str = "") -> Text:
    return Text(clean_line(str(value or "")), style=style)


#: where a search's words are in a text: (plain text, its language) -> (start, end) spans
Highlight = Callable[[str, "str | None"], list[tuple[int, int]]]
MATCH_STYLE = "bold black on yellow"


def marked(text: Text, highlight: Highlight | None, lang: str | None) -> Text:
    """``text`` with a search's matches styled (on the plain text it shows)."""
    if highlight is not None:
        for start, end in highlight(text.plain, lang):
            text.stylize(MATCH_STYLE, start, end)
    return text


def date_words(day: date, lang: str) -> str:
    """A date written the way the language writes it: 3 февраля 2023 / 2023 жылғы 3 ақпан /
    3 February 2023."""
    month = MONTHS_GEN.get(lang, MONTHS_GEN["en"])[day.month - 1]
    if lang == "kk":
        return f"{day.year} жылғы {day.day} {month}"
    return f"{day.day} {month} {day.year}"


def day_label(day: date, today: date, lang: str) -> str:
    if day == today:
        return tr("Today, {date}", lang).format(date=date_words(day, lang))
    if day == today - timedelta(days=1):
        return tr("Yesterday, {date}", lang).format(date=date_words(day, lang))
    return date_words(day, lang)


def rubric_label(record: Record, lang: str, short: bool = False) -> str:
    primary = primary_rubric(record)
    if short:
        return (
            SHORT_LABELS.get(lang, SHORT_LABELS["en"]).get(primary)
            or rubrics.label(primary, lang)[:6]
        )
    return rubrics.label(primary, lang)


# Rubric labels of at most 6 cells, for narrow terminals.
SHORT_LABELS = {
    "ru": {
        "politics": "Полит.",
        "society": "Общ.",
        "economy": "Экон.",
        "culture": "Культ.",
        "analytics": "Анал.",
        "sport": "Спорт",
        "world": "Мир",
        "incidents": "Пр-ш.",
        "regions": "Рег.",
        "science": "Наука",
        "health": "Здор.",
        "technology": "Техн.",
        "other": "Друг.",
    },
    "kk": {
        "politics": "Саясат",
        "society": "Қоғам",
        "economy": "Экон.",
        "culture": "Мәден.",
        "analytics": "Талдау",
        "sport": "Спорт",
        "world": "Әлем",
        "incidents": "Оқиға",
        "regions": "Аймақ",
        "science": "Ғылым",
        "health": "Денс.",
        "technology": "Техн.",
        "other": "Басқа",
    },
    "en": {
        "politics": "Pol.",
        "society": "Soc.",
        "economy": "Econ.",
        "culture": "Cult.",
        "analytics": "Anal.",
        "sport": "Sport",
        "world": "World",
        "incidents": "Incid.",
        "regions": "Reg.",
        "science": "Sci.",
        "health": "Health",
        "technology": "Tech.",
        "other": "Other",
    },
}
# The room a headline gets before the other columns give up space (issue 12: at 80 columns a
# title had 33 cells; newsboat gives the same titles 57).
MIN_TITLE = 50
# ... and past what a wide terminal gives a headline (this much), the source column grows to
# show whole names up to WIDE_SOURCE cells ("Kazinform - Политика", not "Kazinform - Пол…")
WIDE_TITLE, WIDE_SOURCE = 60, 28


def abbreviate(name: str, width: int) -> str:
    """A source's name in ``width`` cells: whole if it fits; else without a leading "The "
    and a trailing "(…)" qualifier; else cut, with "…" right after the last letter."""
    if cell_len(name) <= width:
        return name
    short = re.sub(r"\s*\([^()]*\)$", "", re.sub(r"^The\s+", "", name)) or name
    if cell_len(short) <= width:
        return short
    while short and cell_len(short) > width - 1:
        short = short[:-1]
    return short.rstrip(" ·-–,") + "…"


def plain_lines(records: Sequence[Record], *, tz: tzinfo, lang: str) -> str:
    """`latest --plain`: one tab-separated line per item (full id, local time, source,
    rubric, title), no headings, never cut: for fzf and scripts."""
    lines = []
    for record in records:
        local = from_iso(record["published"]).astimezone(tz)
        cells = [
            record["id"],
            local.strftime("%Y-%m-%d %H:%M"),
            clean_line(display_source(record)),
            rubric_label(record, lang),
            clean_line(str(record.get("title") or "")),
        ]
        lines.append("\t".join(cell.replace("\t", " ") for cell in cells))
    return "".join(line + "\n" for line in lines)


class _Column(NamedTuple):
    """A column of an item listing: its width (a longer cell is cut with "…"; None only for
    the headline's, piped: nothing cut) and the style its cells are drawn in."""

    width: int | None
    style: str = ""


class ItemRows:
    """An item listing laid out by kzfeed: each cell cut with "…" or padded to its column's
    width, one space between cells, the headline last and never padded.

    This is what the rich Table these rows used to be prints (tests hold the two together
    at every width), without Rich measuring every cell of every row: ~10 ms of `latest`'s
    ~100 ms for 50 rows.  Piped, the headline's column has no width and nothing is cut.  A
    line wider than the room it is printed in (a headline of over 10,000 cells, piped) is
    left to the Table, which folds it whole onto the next lines."""

    def __init__(self, columns: Sequence[_Column], rows: Sequence[Sequence[Text]]) -> None:
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]

    def lines(self) -> list[Text]:
        out = []
        for row in self.rows:
            line = Text()
            for k, (cell, column) in enumerate(zip(row, self.columns, strict=True)):
                cell = cell.copy()
                if column.style:  # under the cell's own style, as a Table draws a column's
                    own = Style.parse(cell.style) if isinstance(cell.style, str) else cell.style
                    cell.style = Style.parse(column.style) + own
                last = k == len(self.columns) - 1
                if column.width is not None:
                    cell.truncate(column.width, overflow="ellipsis", pad=not last)
                line.append_text(cell)
                if not last:
                    line.append(" ", style=column.style)
            out.append(line)
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self.lines()
        if any(line.cell_len > options.max_width for line in lines):
            cut = self.columns[-1].width is not None
            yield _as_table(self.columns, self.rows, options.max_width if cut else None)
            return
        for line in lines:
            yield from line.render(console, end="")
            yield Segment.line()


class Widest(NamedTuple):
    """The widest short id, source name and rubric label of a view, in cells."""

    id: int
    source: int
    rubric: int


def _shown_id(record: Record, short_ids: Mapping[str, str] | None) -> str:
    return (short_ids or {}).get(record["id"]) or record["id"][:ID_WIDTH]


def _widest(records: Sequence[Record], lang: str, short_ids: Mapping[str, str] | None) -> Widest:
    """What a view's columns must hold: worked out once for the view, not per section."""
    return Widest(
        max((len(_shown_id(r, short_ids)) for r in records), default=ID_WIDTH),
        max((cell_len(clean_line(display_source(r))) for r in records), default=0),
        max((cell_len(rubric_label(r, lang)) for r in records), default=0),
    )


def _item_table(
    records: Sequence[Record],
    tz: tzinfo,
    lang: str,
    show_rubric: bool = True,
    show_source: bool = True,
    with_date: bool = False,
    width: int | None = None,
    short_ids: Mapping[str, str] | None = None,
    stories: Mapping[str, StoryLine] | None = None,
    highlight: Highlight | None = None,
    widest: Widest | None = None,
) -> ItemRows | Table:
    """One line per item: short id, local time (with the date when sections span days; "~"
    marks an estimated time), source badge, rubric, title cut to the width that is left.

    The id is each item's shortest unique prefix (``short_ids``; ``ID_WIDTH`` characters
    for an id without one).  The headline keeps at least ``MIN_TITLE`` cells: on a narrow
    terminal the rubric shortens to its short label and the source to what is left (6 cells
    at least; "The " goes first); on a wide terminal it grows to show whole names, as wide
    as the longest name of the view needs.  ``widest``: the view's widest id, source and
    rubric (`_widest` of all its records), so that the sections of one view line up;
    else these records'.  ``width`` None: nothing is cut (piped output).

    Laid out as `ItemRows`; a terminal too narrow for even one cell of headline gets a
    rich Table, which shrinks every column to fit."""
    columns, rows = _item_cells(
        records,
        tz,
        lang,
        show_rubric=show_rubric,
        show_source=show_source,
        with_date=with_date,
        width=width,
        short_ids=short_ids,
        stories=stories,
        highlight=highlight,
        widest=widest,
    )
    if width is None:
        return ItemRows(columns, rows)
    title = width - sum((c.width or 0) + 1 for c in columns[:-1])  # what the headline gets
    if title < 1:
        return _as_table(columns, rows, width)
    return ItemRows([*columns[:-1], columns[-1]._replace(width=title)], rows)


def _as_table(
    columns: Sequence[_Column], rows: Sequence[Sequence[Text]], width: int | None
) -> Table:
    """The rows as a rich Table: for a terminal too narrow for `ItemRows`, and for the
    tests that hold the two layouts together."""
    from rich.table import Table

    cut = width is not None
    table = Table(box=None, show_header=False, pad_edge=False, expand=cut, padding=(0, 1, 0, 0))
    for column in columns[:-1]:
        table.add_column(
            style=column.style,
            no_wrap=True,
            width=column.width,
            overflow="ellipsis",
        )
    table.add_column(no_wrap=cut, overflow="ellipsis" if cut else "fold", ratio=1)
    for row in rows:
        table.add_row(*row)
    return table


def _item_cells(
    records: Sequence[Record],
    tz: tzinfo,
    lang: str,
    *,
    show_rubric: bool,
    show_source: bool,
    with_date: bool,
    width: int | None,
    short_ids: Mapping[str, str] | None,
    stories: Mapping[str, StoryLine] | None,
    highlight: Highlight | None,
    widest: Widest | None,
) -> tuple[list[_Column], list[list[Text]]]:
    """`_item_table`'s columns (the headline's last, its width left open) and cells."""
    shown = {r["id"]: _shown_id(r, short_ids) for r in records}
    view = widest or _widest(records, lang, short_ids)
    id_width = view.id
    source_width, rubric_width = 16, 12
    time_width = 12 if with_date else 6
    if width is not None:
        fixed = id_width + 1 + time_width + 1
        fixed += (source_width + 1) if show_source else 0
        fixed += (rubric_width + 1) if show_rubric else 0
        compact = width - fixed < MIN_TITLE
    else:
        compact = False
    if compact and width is not None:
        rubric_width = 6
        rest = width - (id_width + 1 + time_width + 1) - ((rubric_width + 1) if show_rubric else 0)
        source_width = max(6, min(16, rest - MIN_TITLE - 1))
    if width is None:  # piped: nothing cut, each column as wide as the view's widest cell
        source_width, rubric_width = view.source, view.rubric
    elif not compact and show_source:
        spare = width - fixed - WIDE_TITLE  # what the headline can give up on a wide terminal
        source_width = max(source_width, min(view.source, WIDE_SOURCE, source_width + spare))
    cut = width is not None
    columns = [_Column(id_width, "dim"), _Column(time_width)]
    if show_source:
        columns.append(_Column(source_width, "bold cyan"))
    if show_rubric:
        columns.append(_Column(rubric_width, "magenta"))
    columns.append(_Column(None))
    rows: list[list[Text]] = []
    for record in records:
        local = from_iso(record["published"]).astimezone(tz)
        when = Text(local.strftime("%d.%m %H:%M" if with_date else "%H:%M"))
        if record.get("date_estimated"):
            when.append("~", style="dim")
        row: list[Text] = [Text(shown[record["id"]]), when]
        if show_source:
            source = clean_line(display_source(record))
            row.append(Text(abbreviate(source, source_width) if cut else source))
        if show_rubric:
            row.append(Text(rubric_label(record, lang, short=compact)))
        title = safe_line(record.get("title"))
        if not record.get("read"):
            title.stylize("bold")
        row.append(marked(title, highlight, record.get("lang")))
        rows.append(row)
        line = (stories or {}).get(record["id"])
        if line is not None and len(line.versions) > 1:
            blank = [Text("")] * (len(row) - 1)
            rows.append([*blank, Text(story_note(line, tz), style="dim")])
    return columns, rows


def story_note(line: StoryLine, tz: tzinfo) -> str:
    """What a story's line says of its other versions: "+3: Интерфакс, Tengrinews, The
    Astana Times · 09:10–11:40" (the span with dates when it crosses a day)."""
    first = from_iso(line.first).astimezone(tz)
    last = from_iso(line.last).astimezone(tz)
    if first.date() == last.date():
        span = first.strftime("%H:%M") + ("–" + last.strftime("%H:%M") if last != first else "")
    else:
        span = first.strftime("%d.%m %H:%M") + "–" + last.strftime("%d.%m %H:%M")
    sources = ", ".join(clean_line(name) for name in line.sources)
    tail = f"+{len(line.sources)}: {sources}" if line.sources else f"×{len(line.versions)}"
    return f"{span} · {tail}"  # the span first: a narrow terminal cuts the list of agencies


def story_view(
    line: StoryLine,
    *,
    tz: tzinfo,
    lang: str,
    width: int | None = 100,
    short_ids: Mapping[str, str] | None = None,
) -> Group:
    """`kzfeed story`: the lead's title, how many versions over what span, then every
    version (earliest first) with its date, agency, rubric and title."""
    heading = safe_line(line.lead.get("title"), style="bold")
    note = Text(
        ntr("{n} version", "{n} versions", len(line.versions)).format(n=len(line.versions))
        + " · "
        + story_note(line, tz).split(" · ")[0],
        style="dim",
    )
    table = _item_table(  # no rubric column: the agencies matter here, and get the room
        line.versions, tz, lang, show_rubric=False, with_date=True, width=width, short_ids=short_ids
    )
    return Group(heading, note, Text(""), table)


def latest_view(
    records: Sequence[Record],
    *,
    tz: tzinfo,
    lang: str,
    now: datetime,
    group: str = "date",
    width: int | None = 100,
    totals: dict[str, int] | None = None,
    window: str | None = None,
    short_ids: Mapping[str, str] | None = None,
    stories: Mapping[str, StoryLine] | None = None,
    highlight: Highlight | None = None,
) -> Group:
    """The `latest` listing, grouped by local day (default), rubric or feed.  Grouped views
    say what they hide: each section's total and how many more it holds than it shows
    (``totals``), and the default window they cover (``window``)."""
    if not records:
        return Group(Text(label("No items match.", lang), style="dim"))
    parts: list[Any] = []
    today = now.astimezone(tz).date()
    if window is not None:
        start = from_iso(window).astimezone(tz).date()
        parts.append(
            Text(
                label("{start}–{end}: the 7 days up to the newest dated story", lang).format(
                    start=start.strftime("%d.%m"), end=(start + timedelta(days=6)).strftime("%d.%m")
                ),
                style="dim",
            )
        )
        parts.append(Text(""))

    widest = _widest(records, lang, short_ids)  # the sections of the view line up

    def heading(name: str, key: str, shown: int) -> str:
        total = (totals or {}).get(key, shown)
        more = label("+{n} more", lang).format(n=total - shown)
        return f"{name} · {total}" + (f" ({more})" if total > shown else "")

    if group == "rubric":
        for key, chunk in group_by_rubric(records):
            title = heading(rubrics.label(key, lang), key, len(chunk))
            parts.append(Text(title, style="bold underline"))
            parts.append(
                _item_table(
                    chunk,
                    tz,
                    lang,
                    show_rubric=False,
                    with_date=True,
                    width=width,
                    short_ids=short_ids,
                    stories=stories,
                    highlight=highlight,
                    widest=widest,
                )
            )
            parts.append(Text(""))
    elif group == "feed":
        for source, chunk in group_by_feed(records):
            parts.append(safe_line(heading(source, source, len(chunk)), style="bold underline"))
            parts.append(
                _item_table(
                    chunk,
                    tz,
                    lang,
                    show_source=False,
                    with_date=True,
                    width=width,
                    short_ids=short_ids,
                    stories=stories,
                    highlight=highlight,
                    widest=widest,
                )
            )
            parts.append(Text(""))
    else:
        for day, chunk in group_by_day(records, tz):
            parts.append(Text(day_label(day, today, lang), style="bold underline"))
            parts.append(
                _item_table(
                    chunk,
                    tz,
                    lang,
                    width=width,
                    short_ids=short_ids,
                    stories=stories,
                    highlight=highlight,
                    widest=widest,
                )
            )
            parts.append(Text(""))
    return Group(*parts[:-1])


class WholeLine:
    """One line printed whole: never wrapped or cropped by kzfeed (a long URL stays one
    piece to copy; the terminal may fold it on screen).  Print with ``crop=False``."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.text.render(console, end="")
        yield Segment.line()


def _link(url: str) -> Text:
    """An http(s) URL as text that is also an OSC 8 hyperlink where the terminal shows them
    (the URL was cleaned when stored; anything else is plain text)."""
    clean = clean_line(url)
    if clean.startswith(("http://", "https://")) and " " not in clean:
        return Text(clean, style=Style(link=clean, underline=True))
    return Text(clean)


def item_view(
    record: Record,
    *,
    tz: tzinfo,
    lang: str,
    feeds: dict[str, str],
    fold: bool = False,
    highlight: Highlight | None = None,
) -> Group:
    """One item in full: title, source, local time, rubrics, link, also_in, text.  Fields are
    whole lines (URLs never broken across lines), nothing is padded to the width.  ``fold``
    (a pane of the reader): a field longer than the width folds onto the next line instead,
    so a link is shown whole there too."""
    local = from_iso(record["published"]).astimezone(tz)
    when = local.strftime("%Y-%m-%d %H:%M %Z")
    if record.get("date_estimated"):
        when += f" ({label('estimated: the feed gave no usable date', lang)})"
    keys = ", ".join(rubrics.label(k, lang) for k in record.get("rubrics", []))
    fields: list[tuple[str, Text]] = [
        (label("id", lang), Text(record["id"])),
        (label("source", lang), safe_line(display_source(record))),
        (label("time", lang), Text(when)),
        (label("rubrics", lang), Text(keys)),
    ]
    if record.get("categories"):
        fields.append((label("categories", lang), safe_line(", ".join(record["categories"]))))
    url = record.get("url")
    link = _link(url) if url else Text("—")
    fields.append((label("link", lang), link))
    for also in record.get("also_in", []):
        name = feeds.get(also.get("feed", ""), also.get("feed", ""))
        line = safe_line(name, style="cyan")
        also_url = also.get("url")
        if also_url:
            line.append("  ")
            line.append_text(_link(also_url))
        fields.append((label("also in", lang), line))
    label_width = max(cell_len(name) for name, _value in fields)
    language = record.get("lang")
    parts: list[Any] = [marked(safe_line(record.get("title"), style="bold"), highlight, language)]
    for name, value in fields:
        line = Text(name + " " * (label_width - cell_len(name) + 2), style="dim")
        line.append_text(value)
        if fold:
            line.overflow = "fold"
            parts.append(line)
        else:
            parts.append(WholeLine(line))
    parts.append(Text(""))
    body = record.get("text") or record.get("summary") or ""
    paragraphs = [p.strip() for p in clean_text(body).split("\n\n") if p.strip()]
    for i, paragraph in enumerate(paragraphs):
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        if paragraph.startswith("│ "):
            quote = marked(safe(paragraph, style="italic"), highlight, language)
            parts.append(Padding(quote, (0, 0, 1, 2), expand=False))
        elif paragraph.startswith("• "):  # a list: no blank line between its items
            gap = 0 if following.startswith("• ") else 1
            point = marked(safe(paragraph), highlight, language)
            parts.append(Padding(point, (0, 0, gap, 2), expand=False))
        else:
            parts.append(marked(safe(paragraph), highlight, language))
            if following:
                parts.append(Text(""))
    return Group(*parts)


AGE_UNITS = {
    "ru": ("мин", "ч", "д"),
    "kk": ("мин", "сағ", "күн"),
    "en": ("min", "h", "d"),
}


def age_text(days: float | None, lang: str) -> str:
    """An age as people say it: "12 мин", "5 ч", "3 д" (kk: сағ, күн; en: min, h, d)."""
    if days is None:
        return "—"
    minute, hour, day = AGE_UNITS.get(lang, AGE_UNITS["en"])
    if days < 1 / 24:
        return f"{max(0, round(days * 1440))} {minute}"
    if days < 1:
        return f"{round(days * 24)} {hour}"
    return f"{round(days)} {day}"


def feeds_view(
    rows: Sequence[dict[str, Any]], tz: tzinfo, lang: str = "en", width: int = 80
) -> Text:
    """Each feed's health: items, age of the newest, last success, HTTP status, failure
    streak, and a note (an error, why it is not fetched, a list found by detection): beside
    the row when it fits in ``width``, else on its own indented line below it."""
    header = (
        label("feed", lang),
        label("items", lang),
        label("newest", lang),
        label("last ok", lang),
        label("http", lang),
        label("fails", lang),
    )
    cells = []
    notes = []
    for row in rows:
        found = []
        if row["disabled"]:
            found.append("disabled")
        if row.get("next_fetch") and row["next_fetch"] > (row["last_fetch"] or ""):
            found.append(f"next {_local(row['next_fetch'], tz)}")
        if row["last_error"]:
            found.append(f"{row['last_error']} (at {_local(row['last_fetch'], tz)})")
        if row["url"] != row.get("config_url"):
            found.append(f"moved to {row['url']}")
        if row.get("note") and not row["last_error"]:
            found.append(row["note"])
        notes.append(clean_line(". ".join(found)))
        cells.append(
            (
                clean_line(row["name"]),
                str(row["items"]),
                age_text(row.get("newest_age_days"), lang),
                _local(row.get("last_success"), tz),
                str(row["last_status"]) if row["last_status"] is not None else "—",
                str(row["failures"]),
            )
        )
    styles = ["red" if row["failures"] else ("dim" if row["disabled"] else "") for row in rows]
    out = _rows_with_notes(
        header, cells, notes, styles, width, right=(1, 2, 4, 5), note_title=label("note", lang)
    )
    out.rstrip()  # the console ends the last line
    return out


def _rows_with_notes(
    header: Sequence[str],
    cells: Sequence[Sequence[str]],
    notes: Sequence[str],
    styles: Sequence[str],
    width: int,
    right: Sequence[int] = (),
    note_title: str = "note",
) -> Text:
    """Aligned columns laid out by hand, then each row's note: after the row when the line
    still fits in ``width``, else on its own line(s) below it, indented and wrapped, so
    nothing ever wraps back into column 0."""
    import textwrap

    columns = len(header)
    widths = [max(cell_len(r[k]) for r in (header, *cells)) for k in range(columns)]
    # a very long feed name gives way first, so the numbers keep their place
    room = width - 2 - sum(widths[1:]) - 3 * (columns - 1)
    widths[0] = max(8, min(widths[0], room))

    def fit(text: str, k: int) -> str:
        if cell_len(text) <= widths[k]:
            gap = " " * (widths[k] - cell_len(text))
            return gap + text if k in right else text + gap
        out = ""
        for ch in text:
            if cell_len(out + ch) > widths[k] - 1:
                break
            out += ch
        return out + "…"

    def line(values: Sequence[str]) -> str:
        return "  " + "   ".join(fit(v, k) for k, v in enumerate(values))

    out = Text()
    head = line(header)
    note_label = "  " + note_title if note_title else ""
    if cell_len(head.rstrip() + note_label) <= width:
        head = head.rstrip() + note_label
    out.append(head.rstrip() + "\n")
    out.stylize("bold")
    out.append(" " + "─" * (min(width, cell_len(head.rstrip())) - 1) + "\n")
    for values, note, style in zip(cells, notes, styles, strict=True):
        row = line(values)
        if note and cell_len(row) + 3 + cell_len(note) <= width:
            out.append(row + "   ", style=style)
            out.append(note + "\n", style=style or "dim")
            continue
        out.append(row.rstrip() + "\n", style=style)
        if note:
            for part in textwrap.wrap(note, max(20, width - 6), break_long_words=False):
                out.append("      " + part + "\n", style=style or "dim")
    return out


def _local(value: str | None, tz: tzinfo) -> str:
    if not value:
        return "—"
    return from_iso(value).astimezone(tz).strftime("%d.%m %H:%M")


def _empty_note(count: int, lang: str) -> str:
    if not count:
        return ""
    return ntr(
        "{n} entry without title, text or link left out",
        "{n} entries without title, text or link left out",
        count,
        lang,
    ).format(n=count)


def update_view(
    results: Sequence[FeedResult],
    new: int,
    updated: int,
    errors: int,
    width: int = 80,
    lang: str = "en",
) -> Text:
    """A line per feed in aligned columns, then the totals; a note or error too long for the
    line goes on its own indented line below it.

    Laid out here rather than as a rich Table: measuring a Table of 500 feeds took Rich
    0.3-0.5 s, most of a warm update's time."""
    header = (
        label("feed", lang),
        label("status", lang),
        label("http", lang),
        label("new", lang),
        label("updated", lang),
    )
    cells = [
        (
            clean_line(result.name),
            status_word(result.status, lang),
            str(result.http_status) if result.http_status is not None else "—",
            str(result.new),
            str(result.updated),
        )
        for result in results
    ]
    notes = [
        clean_line(result.error or result.note or "") or _empty_note(result.empty, lang)
        for result in results
    ]
    colors = {"not_modified": "dim", "error": "red", "skipped": "yellow"}
    styles = [colors.get(result.status, "") for result in results]
    out = _rows_with_notes(
        header, cells, notes, styles, width, right=(2, 3, 4), note_title=label("note", lang)
    )
    summary = Text(
        label("{new} new, {updated} updated, {errors} failed", lang).format(
            new=new, updated=updated, errors=errors
        )
    )
    if errors:
        summary.stylize("bold red")
    out.append_text(summary)
    return out


def alerts_view(
    alerts: Sequence[Alert],
    *,
    tz: tzinfo,
    lang: str,
    with_date: bool = False,
    waiting: Collection[tuple[str, str]] = (),
) -> Table:
    """Alerted items: "● 09:10 [rule] Kazinform: title" (the item's local time), the link
    below; a long title folds under itself, not under the mark.  One a notifier has not
    taken yet (``waiting``: item id, rule) is "○ … (waits to be sent)"."""
    from rich.table import Table

    table = Table.grid(padding=(0, 1, 0, 0))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for alert in alerts:
        when = from_iso(alert.published or alert.at).astimezone(tz)
        line = Text(when.strftime("%d.%m %H:%M" if with_date else "%H:%M") + " ", style="dim")
        line.append(f"[{clean_line(alert.rule)}] ", style="magenta")
        line.append(clean_line(alert.source) + ": ", style="bold cyan")
        line.append(clean_line(alert.title), style="bold")
        if (alert.id, alert.rule) in waiting:
            line.append(" (" + label("waits to be sent", lang) + ")", style="yellow")
            table.add_row(Text("○", style="bold yellow"), line)
        else:
            table.add_row(Text("●", style="bold red"), line)
        if alert.url:
            table.add_row(Text(""), Text(clean_line(alert.url), style="dim"))
    return table


def ticker_line(tick: Tick, *, tz: tzinfo, lang: str, width: int | None) -> Text:
    """One story of `kzfeed watch`: "09:10 Kazinform Полит. Title  +2: Tengrinews, …",
    cut to ``width``; an alerted story in red with ●."""
    line = tick.line
    lead = line.lead
    out = Text()
    if tick.alerted:
        out.append("● ", style="bold red")
    out.append(from_iso(lead["published"]).astimezone(tz).strftime("%H:%M") + " ", style="dim")
    out.append(abbreviate(clean_line(display_source(lead)), 16) + " ", style="bold cyan")
    out.append(rubric_label(lead, lang, short=True) + " ", style="magenta")
    out.append(clean_line(str(lead.get("title") or "")), style="bold red" if tick.alerted else "")
    if line.sources:
        out.append(
            f"  +{len(line.sources)}: " + ", ".join(clean_line(s) for s in line.sources),
            style="dim",
        )
    if width is not None:
        out.truncate(width, overflow="ellipsis")
    return out


def rubrics_view(counts: Sequence[tuple[str, int]], lang: str) -> Table:
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column(label("rubric", lang))
    table.add_column(label("key", lang), style="dim")
    table.add_column(label("items", lang), justify="right")
    table.add_column("", no_wrap=True)
    top = max((c for _k, c in counts), default=0) or 1
    for key, count in counts:
        bar = "█" * max(1, round(20 * count / top)) if count else ""
        table.add_row(rubrics.label(key, lang), key, str(count), Text(bar, style="magenta"))
    return table


def make_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A console that honours NO_COLOR and writes plain text when not on a terminal."""
    return Console(
        stderr=stderr, width=width, highlight=False, emoji=False, markup=False, soft_wrap=False
    )


SPARKS = " ▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    """One character per value, scaled to the largest; a space for zero."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(SPARKS[0] if c == 0 else SPARKS[max(1, round(8 * c / top))] for c in counts)


def stats_view(data: DailyCounts, *, lang: str, feeds: dict[str, str]) -> Group:
    """Items per day (a bar chart), then per rubric and per feed (a sparkline per row)."""
    from rich.table import Table

    per_day = Table(box=box.SIMPLE_HEAD, title_justify="left")
    per_day.add_column(label("day", lang), no_wrap=True)
    per_day.add_column(label("items", lang), justify="right")
    per_day.add_column("", no_wrap=True, ratio=1)
    top = max(data.total, default=0) or 1
    for day, count in zip(reversed(data.days), reversed(data.total), strict=True):
        bar = "█" * round(40 * count / top) if count else ""
        shown = f"{day:%d.%m} {WEEKDAYS.get(lang, WEEKDAYS['en'])[day.weekday()]}"
        per_day.add_row(shown, str(count), Text(bar, style="cyan"))
    span = f"{data.days[0]:%d.%m}–{data.days[-1]:%d.%m}" if data.days else ""

    def sparks(title: str, rows: Sequence[tuple[str, list[int]]], names: dict[str, str]) -> Table:
        table = Table(box=box.SIMPLE_HEAD)
        table.add_column(title, no_wrap=True)
        table.add_column(span, no_wrap=True)
        table.add_column(label("total", lang), justify="right")
        table.add_column(label("max/day", lang), justify="right")
        for key, counts in rows:
            table.add_row(
                safe_line(names.get(key, key)),
                Text(sparkline(counts), style="magenta"),
                str(sum(counts)),
                str(max(counts, default=0)),
            )
        return table

    labels = {key: rubrics.label(key, lang) for key, _ in data.rubrics}
    return Group(
        per_day,
        sparks(label("rubric", lang), data.rubrics, labels),
        sparks(label("feed", lang), data.feeds, feeds),
    )
