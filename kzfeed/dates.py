"""Times: the `W` window grammar, Russian/Kazakh dates, ISO formatting (pure)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError
from .words import tr

MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        # ru nominative, genitive, short; kk; en
        ("январь", "января", "янв", "қаңтар", "қаңтардың", "january", "jan"),
        ("февраль", "февраля", "фев", "ақпан", "ақпанның", "february", "feb"),
        ("март", "марта", "мар", "наурыз", "наурыздың", "march"),
        ("апрель", "апреля", "апр", "сәуір", "сәуірдің", "april", "apr"),
        ("май", "мая", "мамыр", "мамырдың", "may"),
        ("июнь", "июня", "июн", "маусым", "маусымның", "june", "jun"),
        ("июль", "июля", "июл", "шілде", "шілденің", "july", "jul"),
        ("август", "августа", "авг", "тамыз", "тамыздың", "august", "aug"),
        ("сентябрь", "сентября", "сен", "сент", "қыркүйек", "қыркүйектің", "september", "sep"),
        ("октябрь", "октября", "окт", "қазан", "қазанның", "october", "oct"),
        ("ноябрь", "ноября", "ноя", "нояб", "қараша", "қарашаның", "november", "nov"),
        ("декабрь", "декабря", "дек", "желтоқсан", "желтоқсанның", "december", "dec"),
    ),
    start=1,
):
    for _name in _names:
        MONTHS[_name] = _num

_MONTH_RE = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_TIME = r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?"


# "3 февраля 2023 10:00", "21:38, 18 Августа 2026", "18апреля 9:09", "1 августа 2026 года",
# "3 ақпан 2023 ж.", "2023 жылғы 3 ақпан", with an optional numeric offset or zone name.
# Compiled on first use: only parsing needs them, and they cost every command 7 ms to build.
@functools.cache
def _date_patterns() -> tuple[re.Pattern[str], ...]:
    return (
        re.compile(
            rf"^(?:[^\d]*?,\s*)?(?:{_TIME}[,\s]+)?(?P<d>\d{{1,2}})\s*(?P<mon>{_MONTH_RE})\.?"
            rf"(?:[\s,]+(?P<y>\d{{4}})(?:\s*(?:г\.|года|г|ж\.|жыл|жылы|жылғы))?)?"
            rf"(?:[\s,в]+{_TIME.replace('P<', 'P<t')})?"
            r"\s*(?P<tz>[+-]\d{2}:?\d{2}|UTC|GMT|Z)?\s*$",
            re.IGNORECASE,
        ),
        re.compile(
            rf"^(?P<y>\d{{4}})\s*(?:ж\.|жылғы|жылы|жыл|г\.|года)?\s*(?P<d>\d{{1,2}})\s*"
            rf"(?P<mon>{_MONTH_RE})\.?(?:[\s,]+{_TIME})?"
            r"\s*(?P<tz>[+-]\d{2}:?\d{2}|UTC|GMT|Z)?\s*$",
            re.IGNORECASE,
        ),
        # 03.02.2023 10:00; 03.02 10:00 (no year: the most recent such date)
        re.compile(
            rf"^(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})(?:\.(?P<y>\d{{4}}))?(?:[\s,]+{_TIME})?"
            r"\s*(?P<tz>[+-]\d{2}:?\d{2}|UTC|GMT|Z)?\s*$"
        ),
    )


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(tr("unknown timezone {zone}").format(zone=repr(name))) from exc


def _offset(value: str | None, default: tzinfo) -> tzinfo:
    if not value:
        return default
    if value.upper() in ("UTC", "GMT", "Z"):
        return UTC
    sign = -1 if value[0] == "-" else 1
    digits = value[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    from datetime import timezone

    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_human_date(text: str, tz: tzinfo, now: datetime | None = None) -> datetime | None:
    """A date as Russian/Kazakh sites and feeds write it, as an aware datetime, or None.

    Without a year, the most recent such date not after ``now`` is taken; without a time
    of day, 00:00 local.  Times without an offset are in ``tz``.
    """
    if len(text) > 300:  # no date is written that long; hostile input is not scanned
        return None
    value = " ".join(text.replace("\u00a0", " ").split()).strip()
    if not value:
        return None
    for pattern in _date_patterns():
        match = pattern.match(value)
        if match:
            break
    else:
        return None
    groups = match.groupdict()
    try:
        day = int(groups["d"])
        month = int(groups["m"]) if groups.get("m") else MONTHS[groups["mon"].lower()]
        hour = groups.get("h") or groups.get("th") or "0"
        minute = groups.get("mi") or groups.get("tmi") or "0"
        second = groups.get("s") or groups.get("ts") or "0"
        when = time(int(hour), int(minute), int(second))
        zone_ = _offset(groups.get("tz"), tz)
        if groups.get("y"):
            return datetime.combine(date(int(groups["y"]), month, day), when, zone_)
        ref = (now or datetime.now(UTC)).astimezone(zone_)
        for year in (ref.year, ref.year - 1):
            try:
                candidate = datetime.combine(date(year, month, day), when, zone_)
            except ValueError:  # 29 February
                continue
            if candidate <= ref + timedelta(minutes=5):
                return candidate
    except (ValueError, KeyError):
        return None
    return None


_DAY_WORDS = {
    "сегодня": 0,
    "бүгін": 0,
    "today": 0,
    "вчера": 1,
    "кеше": 1,
    "yesterday": 1,
    "позавчера": 2,
}
_DAY_WORD = "|".join(_DAY_WORDS)
_WEEKDAY_NAME = (
    r"(?:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|дүйсенбі|сейсенбі"
    r"|сәрсенбі|бейсенбі|жұма|сенбі|жексенбі|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)"
)
_WEEKDAY = _WEEKDAY_NAME + r"[,\s]*"


@functools.cache
def _list_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    relative = re.compile(
        rf"^(?:(?P<w>{_DAY_WORD})[,\s]*(?:в\s*)?{_TIME}"
        rf"|{_TIME.replace('P<', 'P<t')}[,\s]*(?P<w2>{_DAY_WORD}))\.?$",
        re.IGNORECASE,
    )
    time_only = re.compile(rf"^(?:в\s*)?{_TIME}\.?$")
    day_only = re.compile(rf"^(?P<w>{_DAY_WORD})$", re.IGNORECASE)
    return relative, time_only, day_only


# "12 минут назад", "2 часа назад", "5 минут бұрын", "3 сағат бұрын", "15 min ago"
_AGO = re.compile(
    r"^(?P<n>\d{1,3})\s*(?P<u>минут[аы]?|мин\.?|час(?:а|ов)?|ч\.?|минут|сағат|min(?:ute)?s?|"
    r"hours?|h)\s+(?:назад|бұрын|ago)$",
    re.IGNORECASE,
)


def _latest_at(day: date, when: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, when, tz)


def parse_list_date(
    text: str, tz: tzinfo, now: datetime, day: date | None = None
) -> datetime | None:
    """A date as a news list writes it, as an aware datetime, or None.

    Everything `parse_human_date` reads, and: ISO 8601 (a ``datetime`` attribute); a day
    word with a time, either way round ("Сегодня, 13:51", "13:51, сегодня", "Вчера в
    18:20", "Бүгін 09:05", "Yesterday, 7:40"); a time alone ("13:51"), on ``day`` (from a
    day heading above it) or else the most recent such time not after ``now``."""
    if len(text) > 300:
        return None
    value = " ".join(text.replace("\u00a0", " ").split()).strip()
    if not value:
        return None
    local_now = now.astimezone(tz)
    relative, time_only, _day_only = _list_patterns()
    match = relative.match(value)
    if match:
        back = _DAY_WORDS[(match.group("w") or match.group("w2")).lower()]
        try:
            when = time(
                int(match.group("h") or match.group("th")),
                int(match.group("mi") or match.group("tmi")),
            )
        except ValueError:
            return None
        return _latest_at(local_now.date() - timedelta(days=back), when, tz)
    ago = _AGO.match(value)
    if ago:
        amount = int(ago.group("n"))
        minutes = amount * (
            60 if ago.group("u").lower().startswith(("час", "сағ", "hour", "h")) else 1
        )
        return (local_now - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    match = time_only.match(value)
    if match:
        try:
            when = time(int(match.group("h")), int(match.group("mi")))
        except ValueError:
            return None
        if day is not None:
            return _latest_at(day, when, tz)
        candidate = _latest_at(local_now.date(), when, tz)
        if candidate > local_now + timedelta(minutes=5):
            candidate -= timedelta(days=1)
        return candidate
    if value[:4].isdigit() and len(value) >= 10 and value[4] == "-":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return parse_human_date(value, tz, now)


def parse_day(text: str, tz: tzinfo, now: datetime) -> date | None:
    """The day a heading names: "Сегодня", "Вчера", "Бүгін", "24 ноября", "Понедельник,
    24 ноября 2026", "2026 жылғы 24 қараша", "24.11.2026", ISO."""
    value = " ".join(text.replace("\u00a0", " ").split()).strip().rstrip(".")
    if not value or len(value) > 100:
        return None
    _relative, _time_only, day_only = _list_patterns()
    match = day_only.match(value)
    if match:
        return now.astimezone(tz).date() - timedelta(days=_DAY_WORDS[match.group("w").lower()])
    if re.search(r"\d{1,2}:\d\d", value):
        return None  # a time of day: a story's date, not a day heading
    value = re.sub(rf"^{_WEEKDAY}", "", value, flags=re.IGNORECASE)
    value = re.sub(rf"[,\s]+{_WEEKDAY_NAME}$", "", value, flags=re.IGNORECASE)
    parsed = parse_list_date(value, tz, now)
    return parsed.astimezone(tz).date() if parsed is not None else None


def to_utc_iso(dt: datetime) -> str:
    """ISO 8601 in UTC with an explicit +00:00 offset, seconds precision."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def from_iso(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


_RELATIVE = re.compile(
    r"^(?P<n>\d+)\s*(?P<u>m|min|mins|minutes?|мин|минуты?|минут|h|hours?|ч|час|часа|часов|"
    r"сағ|сағат|d|days?|д|дн|дня|дней|день|күн|w|weeks?|н|нед|недели|недель|неделя|апта)$"
)
_UNITS = {
    "minutes": ("m", "min", "mins", "minute", "minutes", "мин", "минута", "минуты", "минут"),
    "hours": ("h", "hour", "hours", "ч", "час", "часа", "часов", "сағ", "сағат"),
    "days": ("d", "day", "days", "д", "дн", "день", "дня", "дней", "күн"),
    "weeks": ("w", "week", "weeks", "н", "нед", "неделя", "недели", "недель", "апта"),
}
_UNIT_OF = {name: unit for unit, names in _UNITS.items() for name in names}


def parse_when(value: str, tz: tzinfo, now: datetime, *, end: bool = False) -> datetime:
    """SPEC's `W`: ``24h``, ``7d``, ``2w``, ``2023-02-03``, ``2023-02-03T10:00``, ``today``,
    ``yesterday`` — and the forms people type and kzfeed itself prints: ``24.11.2026``,
    ``24.11``, ``23 ноября``, ``23 ноября 2026``, ``23 қараша``, ``вчера``/``кеше``,
    ``сегодня``/``бүгін``, ``7д``, ``24ч``, ``3 days``, ``3 дня``.  A date is the start of that
    local day, or its end when ``end`` (``--until``); a date without a year is the most recent
    such day.  Returns an aware UTC datetime.
    """
    raw = " ".join(value.strip().lower().split())
    local_now = now.astimezone(tz)
    match = _RELATIVE.match(raw)
    if match:
        amount = {_UNIT_OF[match["u"]]: int(match["n"])}
        try:
            return (now - timedelta(**amount)).astimezone(UTC)
        except OverflowError:
            raise UsageError(
                tr("time {value} reaches back too far").format(value=repr(value))
            ) from None
    day: date | None = None
    if raw in ("today", "сегодня", "бүгін"):
        day = local_now.date()
    elif raw in ("yesterday", "вчера", "кеше"):
        day = local_now.date() - timedelta(days=1)
    else:
        try:
            if re.fullmatch(r"\d{4}-\d\d-\d\d[t ]\d.*", raw):
                moment = datetime.fromisoformat(raw.upper().replace(" ", "T"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=tz)
                return moment.astimezone(UTC)
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is None:
            human = parse_human_date(raw, tz, now)  # 24.11.2026, 23 ноября, 23 қараша 2026 …
            if human is None:
                short = re.fullmatch(r"(\d{1,2})\.(\d{1,2})", raw)  # 24.11: the latest such day
                if short:
                    human = parse_list_date(f"{short[1]}.{short[2]} 00:00", tz, now)
            if human is not None and re.search(r"\d[:.]\d\d(?!\.)", raw) and ":" in raw:
                return human.astimezone(UTC)  # "23 ноября 10:00": that moment
            day = human.astimezone(tz).date() if human is not None else None
    if day is None:
        raise UsageError(
            tr(
                "cannot read time {value}: use 24h, 7d, 2w, 3 дня, 2023-02-03, 24.11.2026, 24.11, "
                "23 ноября, 2023-02-03T10:00, today/сегодня/бүгін or yesterday/вчера/кеше"
            ).format(value=repr(value))
        )
    if end:  # in UTC: wall-clock arithmetic would land in the wrong fold on a 25-hour day
        next_day = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
        return next_day - timedelta(microseconds=1)
    return datetime.combine(day, time(0), tz).astimezone(UTC)
