"""News-list pages as the agencies really write them (issue 11): the date texts, the
selector grammar (alternatives, attributes, day headings) and the presets."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kzfeed.dates import parse_day, parse_list_date
from kzfeed.htmlsource import alternatives, parse_list
from kzfeed.model import FeedSpec

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 13:00 on 27 November in Almaty (UTC+5)


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("Сегодня, 13:51", "2026-11-27 13:51"),
        ("13:51, сегодня", "2026-11-27 13:51"),  # said today: today (later than now: clamped later)
        ("12:51, сегодня", "2026-11-27 12:51"),
        ("Вчера, 18:20", "2026-11-26 18:20"),
        ("вчера в 18:20", "2026-11-26 18:20"),
        ("Бүгін, 09:05", "2026-11-27 09:05"),
        ("09:05 бүгін", "2026-11-27 09:05"),
        ("Кеше 23:59", "2026-11-26 23:59"),
        ("Today, 7:40", "2026-11-27 07:40"),
        ("Yesterday 7:40", "2026-11-26 07:40"),
        ("12:30", "2026-11-27 12:30"),
        ("13:30", "2026-11-26 13:30"),  # a time alone, later than now: yesterday's
        ("13:51, 15 Август 2025", "2025-08-15 13:51"),  # Kazinform: nominative, capitalised
        ("15:00, 23 Ноябрь 2025", "2025-11-23 15:00"),
        ("21:38, 18 Августа 2026", "2026-08-18 21:38"),
        ("13 августа 2025, 18:25", "2025-08-13 18:25"),
        ("13:51, 15 тамыз 2025", "2025-08-15 13:51"),
        ("2026 жылғы 24 қараша", "2026-11-24 00:00"),
        ("23 қараша 2026 ж.", "2026-11-23 00:00"),
        ("13:51, 15 August 2025", "2025-08-15 13:51"),
        ("24 ноября", "2026-11-24 00:00"),  # no year: the most recent not after now
        ("28 ноября", "2025-11-28 00:00"),
        ("2025-08-13T18:25:00+05:00", "2025-08-13 18:25"),
        ("2025-08-13T13:25:00Z", "2025-08-13 18:25"),
        ("2026-11-24 13:51", "2026-11-24 13:51"),  # ISO without an offset: local
        ("2025-08-13", "2025-08-13 00:00"),
        ("27.11 12:44", "2026-11-27 12:44"),  # a numeric date without a year
        ("12 минут назад", "2026-11-27 12:48"),
        ("2 часа назад", "2026-11-27 11:00"),
        ("5 минут бұрын", "2026-11-27 12:55"),
        ("15 min ago", "2026-11-27 12:45"),
    ],
)
def test_every_date_text_of_the_evidence_parses(text: str, local: str) -> None:
    parsed = parse_list_date(text, ALMATY, NOW)
    assert parsed is not None
    assert parsed.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize("text", ["", "garbage", "25:99", "Сегодня", "вчера", "x" * 400])
def test_what_is_no_date_is_none(text: str) -> None:
    assert parse_list_date(text, ALMATY, NOW) is None


def test_a_time_under_a_day_heading_takes_its_day() -> None:
    heading = parse_day("25 ноября", ALMATY, NOW)
    assert heading == date(2026, 11, 25)
    parsed = parse_list_date("23:55", ALMATY, NOW, heading)
    assert parsed is not None and parsed.astimezone(UTC).isoformat() == "2026-11-25T18:55:00+00:00"
    # before 2024-03-01 Almaty was UTC+6
    old = parse_list_date("23:30", ALMATY, NOW, parse_day("29 февраля 2024", ALMATY, NOW))
    assert old is not None and old.astimezone(UTC).isoformat() == "2024-02-29T17:30:00+00:00"
    new = parse_list_date("00:30", ALMATY, NOW, parse_day("1 марта 2024", ALMATY, NOW))
    assert new is not None and new.astimezone(UTC).isoformat() == "2024-02-29T19:30:00+00:00"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Сегодня", date(2026, 11, 27)),
        ("Вчера", date(2026, 11, 26)),
        ("Бүгін", date(2026, 11, 27)),
        ("Кеше", date(2026, 11, 26)),
        ("Понедельник, 23 ноября", date(2026, 11, 23)),
        ("Жұма, 20 қараша 2026", date(2026, 11, 20)),
        ("24.11.2026", date(2026, 11, 24)),
        ("2026-11-24", date(2026, 11, 24)),
        ("24 қараша, сейсенбі", date(2026, 11, 24)),  # the weekday after the date
        ("23 ноября, понедельник", date(2026, 11, 23)),
        ("Сегодня, 13:51", None),  # a story's time, not a heading
    ],
)
def test_day_headings(text: str, day: date | None) -> None:
    assert parse_day(text, ALMATY, NOW) == day


def test_selector_alternatives_and_attributes() -> None:
    assert alternatives("time@datetime, .date") == [("time", "datetime"), (".date", None)]
    assert alternatives("@href") == [("", "href")]
    assert alternatives('a[title="a, b"]@href, a:not(.x, .y)') == [
        ('a[title="a, b"]', "href"),
        ("a:not(.x, .y)", None),
    ]
    assert alternatives("a[data-x]") == [("a[data-x]", None)]


PAGE = """<html><head><title>Лента</title></head><body>
<nav><a href="/about">О нас</a></nav>
<ul class="list">
  <li><h2 class="day">Сегодня</h2></li>
  <li class="it"><time>12:05</time><a href="/n/1">Первая новость дня о важном событии</a></li>
  <li class="it"><time datetime="2026-11-27T11:00:00+05:00">11:00</time>
      <a href="/n/2">Вторая новость дня, с атрибутом времени</a></li>
  <li><h2 class="day">26 ноября</h2></li>
  <li class="it"><time>23:55</time><a href="/n/3">Поздняя новость вчерашнего дня</a></li>
  <li class="it"><span class="d">Вчера, 08:00</span><a href="/n/4">Утренняя новость вчера</a></li>
</ul></body></html>"""


def _parse(select: dict[str, str], page: str = PAGE) -> list[dict[str, Any]]:
    spec = FeedSpec("t", "https://example.kz/list", type="html", select=tuple(select.items()))
    return parse_list(
        page.encode(), {}, spec, base_url="https://example.kz/list", tz=ALMATY, now=NOW
    ).entries


def _local(entry: dict[str, Any]) -> str | None:
    parsed = entry.get("published_parsed")
    if not parsed:
        return None
    return datetime(*parsed[:6], tzinfo=UTC).astimezone(ALMATY).strftime("%d %H:%M")


def test_day_headings_between_time_only_items() -> None:
    found = _parse(
        {
            "item": "li.it",
            "title": "a",
            "link": "a@href",
            "date": "time@datetime, time, .d",
            "day": "h2.day",
        }
    )
    assert [e["link"] for e in found] == [f"https://example.kz/n/{k}" for k in range(1, 5)]
    assert [_local(e) for e in found] == ["27 12:05", "27 11:00", "26 23:55", "26 08:00"]


def test_the_first_alternative_that_matches_wins() -> None:
    found = _parse({"item": "article.none, li.it", "title": "b.none, a", "link": "@href, a@href"})
    assert len(found) == 4 and found[0]["title"] == "Первая новость дня о важном событии"
    assert found[0]["link"] == "https://example.kz/n/1"  # the li has no href: the next one


# ---------------------------------------------------------------- language and rubric


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("ru", "ru"),
        ("RU", "ru"),
        ("ru-RU", "ru"),
        ("рус", "ru"),
        ("kz", "kk"),
        ("қаз", "kk"),
        ("kk-KZ", "kk"),
        ("каз", "kk"),
        ("eng", "en"),
        ("en_GB", "en"),
        ("English", "en"),
    ],
)
def test_the_language_forms_people_type(typed: str, code: str) -> None:
    from kzfeed.language import parse_language

    assert parse_language(typed) == code


def test_an_unknown_language_is_a_usage_error_listing_the_accepted() -> None:
    from kzfeed.errors import UsageError
    from kzfeed.language import parse_language

    with pytest.raises(UsageError, match="use ru, kk or en"):
        parse_language("fr")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Токаев провел переговоры с президентом Узбекистана", "ru"),
        ("Тоқаев Өзбекстан Президентімен келіссөз жүргізді", "kk"),
        ("Tokayev, Mirziyoyev hold talks in Astana", "en"),
        ("Україна в день місцевих виборів перейде на зимовий час", "uk"),
        ("Світ і люди: вибори", "ru"),  # і alone is not Kazakh (Ukrainian writes it too)
        ("ДТП", None),
    ],
)
def test_language_from_the_letters(text: str, lang: str | None) -> None:
    from kzfeed.language import text_language

    assert text_language(text) == lang


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://tengrinews.kz/crime/v-almaty-zaderzhali-123/", "incidents"),
        ("https://tengrinews.kz/world_news/ssha-i-kitay-456/", "world"),
        ("https://tengrinews.kz/kazakhstan_news/tokaev-789/", "society"),
        ("https://tengrisport.kz/football/kairat-pobedil-1/", "sport"),
        ("https://news.liga.net/politics/news/x", "politics"),
        ("https://www.inform.kz/ru/kurs-tenge-9ce59c", None),
        (None, None),
    ],
)
def test_a_rubric_from_the_link(url: str | None, key: str | None) -> None:
    from kzfeed.rubrics import classify, from_link

    assert from_link(url) == key
    assert classify([], None, "society", url)[0] == (key or "society")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Tengri Sport", "sport"),
        ("Авто", "technology"),
        ("Рецепты", "culture"),
        ("Ближний Восток", "world"),
        ("Личные финансы", "economy"),
    ],
)
def test_tengrinews_sections_and_sub_brands(raw: str, key: str) -> None:
    from kzfeed.rubrics import resolve

    assert resolve(raw) == key


def test_lang_filter_finds_items_whose_language_came_from_their_text(
    server: Any, cfg_path: Any
) -> None:
    import json

    from typer.testing import CliRunner

    from kzfeed.cli import app

    from .conftest import rss, write_config

    body = rss(
        [
            {
                "title": "Курс рубля упал на открытии торгов",
                "link": "https://lenta.ru/1",
                "guid": "1",
            },
            {
                "title": "Тоқаев Өзбекстан Президентімен кездесті",
                "link": "https://x.kz/2",
                "guid": "2",
            },
        ],
        lang="",
    ).replace("<language></language>", "")
    server.add("/lenta.xml", body)
    write_config(cfg_path, [{"name": "lenta", "url": server.url("/lenta.xml")}])
    kz = lambda *a: CliRunner().invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    assert kz("update").exit_code == 0
    ru = json.loads(kz("latest", "--lang", "рус", "--json").stdout)
    assert [i["title"] for i in ru] == ["Курс рубля упал на открытии торгов"]
    kk = json.loads(kz("latest", "--lang", "kz", "--json").stdout)
    assert [i["lang"] for i in kk] == ["kk"]
    bad = kz("latest", "--lang", "fr")
    assert bad.exit_code == 2 and "use ru, kk or en" in bad.stderr


# ---------------------------------------------------------------- the labelled real-shaped pages

REAL = Path(__file__).parent / "fixtures" / "html" / "real"


def _read(page: Path, spec: FeedSpec) -> Any:
    label = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    listed = parse_list(
        page.read_bytes(),
        {},
        spec,
        base_url=label["url"],
        tz=ZoneInfo(label["tz"]),
        now=datetime.fromisoformat(label["now"]),
    )
    got = [
        {
            "title": e["title"],
            "link": e["link"],
            "published": (
                datetime(*e["published_parsed"][:6], tzinfo=UTC).isoformat()
                if e.get("published_parsed")
                else None
            ),
        }
        for e in listed.entries
    ]
    return label, listed, got


PRESET_PAGES = {
    "kazinform-ru-2025": "kazinform",
    "kazinform-kk-2025": "kazinform",
    "kazinform-en-2025": "kazinform",
    "kazinform-ru-2026": "kazinform",
    "zakon-2026": "zakon",
    "informburo-2026": "informburo",
    "informburo-2024-03": "informburo",
    "24kz-2026": "24kz",
    "vlast-2026": "vlast",
    "kazpravda-2026": "kazpravda",
}


@pytest.mark.parametrize("name", sorted(PRESET_PAGES))
def test_each_preset_reads_its_page_as_the_evidence_shapes_it(name: str) -> None:
    page = REAL / f"{name}.html"
    spec = FeedSpec(name, "https://x", type="html", preset=PRESET_PAGES[name])
    label, listed, got = _read(page, spec)
    assert listed.note is None  # the preset matched: no detection
    assert got == label["items"]


REDESIGNS = {
    "kazinform-ru-redesign": "kazinform",
    "zakon-redesign": "zakon",
    "informburo-redesign": "informburo",
    "24kz-redesign": "24kz",
    "vlast-redesign": "vlast",
    "kazpravda-redesign": "kazpravda",
}


@pytest.mark.parametrize("name", sorted(REDESIGNS))
def test_after_a_redesign_the_news_keeps_coming_with_a_note(name: str) -> None:
    spec = FeedSpec(name, "https://x", type="html", preset=REDESIGNS[name])
    label, listed, got = _read(REAL / f"{name}.html", spec)
    count = len(label["items"])
    assert listed.note == (
        f"selectors matched nothing; {count} items found by detection — update the preset or "
        "your [feeds.select]"
    )
    assert got == label["items"]
    assert not {g["link"] for g in got} & set(label["decoys"])


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in REAL.glob("other-*.html")), ids=lambda n: n[6:]
)
def test_detection_on_pages_it_has_no_selectors_for(name: str) -> None:
    label, listed, got = _read(REAL / f"{name}.html", FeedSpec(name, "https://x", type="html"))
    assert listed.note == f"no selectors; {len(label['items'])} items found by detection"
    assert got == label["items"]


HELDOUT = [
    p for folder in ("heldout", "heldout2") for p in sorted((REAL.parent / folder).glob("*.html"))
]


@pytest.mark.parametrize("page", HELDOUT, ids=lambda p: p.stem)
def test_detection_on_pages_written_by_someone_who_had_not_seen_it(page: Path) -> None:
    label, _listed, got = _read(page, FeedSpec(page.stem, "https://x", type="html"))
    assert got == label["items"]
    assert not {g["link"] for g in got} & set(label["decoys"])


def test_detected_selectors_read_the_page_again_the_same_way() -> None:
    """What `add --html` writes into the config finds the same stories the next time."""
    page = REAL / "zakon-redesign.html"
    _label, listed, got = _read(page, FeedSpec("z", "https://x", type="html"))
    assert listed.detected is not None and set(listed.detected) >= {"item", "title", "link"}
    spec = FeedSpec("z", "https://x", type="html", select=tuple(listed.detected.items()))
    _label, again, got_again = _read(page, spec)
    assert again.note is None and [g["link"] for g in got_again] == [g["link"] for g in got]


# ---------------------------------------------------------------- nothing dropped from real feeds

FEEDPARSER_TESTS = REAL.parents[3].parent / "shared" / "corpus" / "feedparser-tests"


def _header_lines(body: bytes) -> tuple[tuple[str, str], ...]:
    found = re.findall(rb"^Header:\s*([^:\n]+):\s*(.*?)\s*$", body[:4000], re.M)
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in found)


@pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(), reason="../shared/corpus is not beside the repo")
def test_feedparsers_own_test_feeds_lose_nothing_without_a_reason() -> None:
    """Each of feedparser's 2,106 test feeds: every entry feedparser reads is an item, an
    entry left out as empty (counted), or a repeat of another in the same file; a refused
    file says why, and only when feedparser finds no entry with text in it either."""
    import io

    import feedparser

    from kzfeed.update import parse_job

    files = sorted(FEEDPARSER_TESTS.rglob("*.xml"))
    assert len(files) >= 2100
    refused = {}
    for n, path in enumerate(files):
        body = path.read_bytes()
        headers = _header_lines(body)
        spec = FeedSpec(f"fp{n}", "http://example.com/feed")
        parsed = parse_job(
            spec, body, headers, "2026-11-24T09:00:00+00:00", "http://example.com/", "UTC", {}
        )
        theirs = feedparser.parse(io.BytesIO(body), response_headers=dict(headers)).entries
        if parsed.error:
            assert not parsed.error.startswith("parser failed"), (path, parsed.error)
            refused[path.name] = parsed.error
            assert not [e for e in theirs if e.get("title") or e.get("summary")], path
            continue
        distinct = {
            (e.get("id") or e.get("link") or "", e.get("title", ""), e.get("summary", ""))
            for e in theirs
        }
        kept = len(parsed.items) + parsed.empty
        assert len(distinct) - 1 <= kept <= len(theirs), (path, kept, len(theirs))
    assert all(
        why.startswith(("not a feed", "an HTML page", "empty response", "feed declares a DTD"))
        for why in refused.values()
    ), refused
    assert len(refused) <= 12


def test_harmless_declared_entities_are_expanded_and_the_dangerous_refused() -> None:
    from kzfeed.errors import FeedError
    from kzfeed.parse import parse_bytes

    old_russian = (
        '<?xml version="1.0" encoding="windows-1251"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">'
        '<!ENTITY laquo "&#171;"><!ENTITY raquo "&#187;">]><rss version="2.0"><channel>'
        "<title>Лента</title><item><title>Выборы&nbsp;в &laquo;Казахстане&raquo;</title>"
        "<link>http://e.kz/1</link></item></channel></rss>"
    ).encode("cp1251")
    (entry,) = parse_bytes(old_russian, {}).entries
    assert entry["title"] == "Выборы\xa0в «Казахстане»"
    big = "Я" * 40_000  # 80 KB, used 20,000 times
    many_uses = (
        f'<!DOCTYPE rss [<!ENTITY big "{big}">]><rss><channel><item><title>'
        + "&big;" * 20_000
        + "</title></item></channel></rss>"
    ).encode()
    nested = (
        "<!DOCTYPE rss ["
        + '<!ENTITY e0 "x">'
        + "".join(f'<!ENTITY e{k} "&e{k - 1};&e{k - 1};">' for k in range(1, 7))
    )
    for body, why in [
        (many_uses, "an entity of over 1024 bytes"),
        ((nested + "]><rss><channel><title>&e6;</title></channel></rss>").encode(), "nested"),
        (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss>&x;</rss>', "external"),
    ]:
        with pytest.raises(FeedError, match=why):
            parse_bytes(body, {})
    small = '<!DOCTYPE rss [<!ENTITY s "' + "Я" * 200 + '">]><rss><channel><item><title>'
    with pytest.raises(FeedError, match="KiB of expansion"):
        parse_bytes((small + "&s;" * 1_000 + "</title></item></channel></rss>").encode(), {})


def test_the_fallback_note_reaches_update_and_feeds(server: Any, cfg_path: Any) -> None:
    from typer.testing import CliRunner

    from kzfeed.cli import app

    from .conftest import write_config

    page = (REAL / "zakon-redesign.html").read_bytes()
    server.add("/news/", page, headers={"Content-Type": "text/html; charset=utf-8"})
    write_config(
        cfg_path,
        [{"name": "zakon", "type": "html", "url": server.url("/news/"), "preset": "zakon"}],
        timezone="Asia/Almaty",
    )
    kz = lambda *a: CliRunner().invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    note = (
        "selectors matched nothing; 20 items found by detection — update the preset or your "
        "[feeds.select]"
    )
    done = kz("update", "--json")
    assert done.exit_code == 0, done.output
    (row,) = json.loads(done.stdout)["feeds"]
    assert (row["status"], row["new"], row["note"]) == ("ok", 20, note)
    (health,) = json.loads(kz("feeds", "--json").stdout)
    assert health["note"] == note and health["items"] == 20
    shown = kz("feeds")
    assert "selectors matched nothing" in " ".join(shown.stdout.split())
    summary = kz("update", "--force")
    assert "20 items found by detection" in " ".join(summary.stdout.split())


# ---------------------------------------------------------------- done when


def test_a_new_user_in_almaty_reads_every_agency_of_the_starter_config(
    server: Any, cfg_path: Any
) -> None:
    """`kzfeed init`'s config, each source served from loopback in the shape the evidence
    gives (the news lists as the labelled pages, the feeds as saved feeds): one `update`
    reads every agency, Kazinform in three languages."""
    from urllib.parse import urlsplit

    from typer.testing import CliRunner

    from kzfeed.cli import app
    from kzfeed.config import example_text

    from .conftest import REPO, rss

    pages = {
        "kazinform-ru": REAL / "kazinform-ru-2025.html",
        "kazinform-en": REAL / "kazinform-en-2025.html",
        "zakon": REAL / "zakon-2026.html",
        "informburo": REAL / "informburo-2026.html",
        "24kz": REAL / "24kz-2026.html",
        "vlast": REAL / "vlast-2026.html",
        "kazpravda": REAL / "kazpravda-2026.html",
    }
    feeds = {
        "kazinform-kk": REPO / "examples" / "feeds" / "kazinform-kk.xml",
        "tengrinews": REPO / "examples" / "feeds" / "tengrinews.xml",
        "astanatimes": REPO / "examples" / "feeds" / "astanatimes.xml",
        "interfax": REPO / "examples" / "feeds" / "interfax-cp1251.xml",
        "rbc": REAL.parents[1] / "corpus" / "rbc_rssexport_item_2022_from_test.xml",
        "lenta": REAL.parents[1] / "corpus" / "lenta_rss_item_2022_from_test.xml",
    }
    text = example_text().replace("retention_days = 180", "retention_days = 0")
    text = text.replace("[settings]", f'[settings]\ndata_dir = "{cfg_path.parent / "data"}"', 1)
    names = re.findall(r'^name = "([^"]+)"', text, re.M)
    for name in names:
        url = re.search(rf'name = "{re.escape(name)}"\n(?:[^\n]*\n)*?url = "([^"]+)"', text)
        assert url is not None
        path = "/" + name + urlsplit(url.group(1)).path
        if name in pages:
            body = pages[name].read_bytes()
            server.add(path, body, headers={"Content-Type": "text/html; charset=utf-8"})
        elif name in feeds:
            server.add(path, feeds[name].read_bytes(), headers={"Content-Type": "text/xml"})
        else:  # a saved-feed stand-in in the agency's language
            item = {"title": f"Новость агентства {name} о событиях в Казахстане", "guid": name}
            server.add(path, rss([{**item, "link": f"https://{name}.example/1"}]))
        text = text.replace(f'url = "{url.group(1)}"', f'url = "{server.url(path)}"', 1)
    cfg_path.write_text(
        text.replace("[settings]", "[settings]\nallow_private = true", 1), encoding="utf-8"
    )
    kz = lambda *a: CliRunner().invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    done = kz("update", "--json")
    assert done.exit_code == 0, done.output
    rows = {f["name"]: f for f in json.loads(done.stdout)["feeds"]}
    assert set(rows) == set(names) and len(names) >= 20
    assert all(r["status"] == "ok" and r["new"] > 0 and r["note"] is None for r in rows.values())
    for lang in ("ru", "kk", "en"):
        kazinform = json.loads(
            kz(
                "latest",
                "--lang",
                lang,
                "--feed",
                f"kazinform-{lang}",
                "--json",
                "-n",
                "5",
                "--since",
                "3650d",
            ).stdout
        )
        assert kazinform and all(i["lang"] == lang for i in kazinform), lang


def test_a_saved_page_with_a_base_href_keeps_its_sites_links(tmp_path: Path) -> None:
    """A news list saved to disk is read from a path; its <base href> says where its
    relative links point (without one, a saved page's stories would have no web link)."""
    page = (REAL / "kazinform-ru-2025.html").read_text(encoding="utf-8")
    saved = tmp_path / "lenta.html"
    saved.write_text(
        page.replace("<head>", '<head><base href="https://www.inform.kz/lenta/">', 1),
        encoding="utf-8",
    )
    spec = FeedSpec("k", str(saved), type="html", preset="kazinform")
    found = parse_list(saved.read_bytes(), {}, spec, base_url=str(saved), tz=ALMATY, now=NOW)
    label = json.loads((REAL / "kazinform-ru-2025.json").read_text(encoding="utf-8"))
    assert [e["link"] for e in found.entries] == [i["link"] for i in label["items"]]
