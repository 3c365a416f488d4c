"""Golden fixtures (feed file -> expected items) and the normalize rules."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kzfeed.encoding import sniff_encoding
from kzfeed.errors import FeedError
from kzfeed.model import FeedSpec, Item
from kzfeed.normalize import canonical_url, http_url, normalize_entries
from kzfeed.parse import parse_bytes

from .conftest import CORPUS, FIXTURES, rss

GOLDEN = FIXTURES / "golden"
FETCHED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ALMATY = ZoneInfo("Asia/Almaty")


def items_of(
    path: Path, spec: FeedSpec | None = None, headers: dict[str, str] | None = None
) -> tuple[Item, ...]:
    raw = parse_bytes(path.read_bytes(), headers or {}, ALMATY)
    spec = spec or FeedSpec(
        name=path.stem.split("_")[0], url=f"https://example.invalid/{path.name}"
    )
    return normalize_entries(
        raw.entries, spec, fetched=FETCHED, feed_title=raw.title, feed_language=raw.language
    )


def golden_view(items: tuple[Item, ...]) -> list[dict[str, object]]:
    out = []
    for item in items:
        record = item.to_record()
        record.pop("first_seen")
        record.pop("hash")
        if "text" in record:
            record["text"] = record["text"][:300]
        out.append(record)
    return out


GOLDEN_FILES = [*sorted(p.name for p in CORPUS.glob("*.xml")), "../kazinform-seed.xml"]


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_golden_items(name: str) -> None:
    """Each fixture feed gives exactly the items recorded in tests/fixtures/golden/.

    Regenerate after an intended change with KZFEED_REGEN_GOLDEN=1 and review the diff.
    """
    path = (CORPUS / name).resolve()
    got = golden_view(items_of(path))
    golden = GOLDEN / (path.stem + ".json")
    if os.environ.get("KZFEED_REGEN_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert got == expected


def test_seed_article_as_a_kazinform_item() -> None:
    (item,) = items_of(
        FIXTURES / "kazinform-seed.xml",
        FeedSpec("kazinform-ru", "https://www.inform.kz/rss/rus.xml", title="Kazinform", lang="ru"),
    )
    assert (
        item.title
        == "Алихан Смаилов и Михаил Мишустин обсудили вопросы сотрудничества Казахстана и России"
    )
    # 03.02.2023 10:00 in Almaty, which was UTC+6 then
    assert item.published == "2023-02-03T04:00:00+00:00"
    assert item.date_estimated is False
    assert item.rubrics == ("politics",)
    assert item.categories == ("Политика",)
    assert item.source == "Kazinform"
    assert item.url == (
        "https://www.inform.kz/ru/alihan-smailov-i-mihail-mishustin-obsudili-voprosy-"
        "sotrudnichestva-kazahstana-i-rossii_a4031927"
    )
    assert item.summary.startswith("Алматы (Алма-Ата) - 3 февраля /KZinform/.")
    assert item.text is not None
    paragraphs = item.text.split("\n\n")
    assert len(paragraphs) == 7
    assert paragraphs[-1].endswith("— сказал Михаил Мишустин.")
    assert "Последние новости" not in item.text


def test_corpus_quirks() -> None:
    tut = items_of(CORPUS / "tutby_all_rss_utm_guid_2019.xml")
    assert len(tut) == 12
    assert all(i.url and "utm_" not in i.url for i in tut)
    assert all(i.guid and "utm_" not in i.guid for i in tut)
    assert all("<" not in i.summary for i in tut)

    koi8 = items_of(CORPUS / "feedparser_koi8r_no-declaration.xml")
    assert koi8[0].title == "Как пережить новогоднюю ночь"
    assert '"нового счастья"' in koi8[0].summary
    assert koi8[0].date_estimated and koi8[0].published == "2026-11-24T12:00:00+00:00"

    pravda = items_of(CORPUS / "pravda_com_ua_windows-1251_2020.xml")
    assert len(pravda) == 20 and pravda[0].title.startswith("День сердца")

    unian = items_of(CORPUS / "unian_md5-guid_2020.xml")
    assert len(unian) == 50 and len({i.id for i in unian}) == 50
    assert all(i.title == i.title.strip() and i.title for i in unian)

    ukr = items_of(CORPUS / "ukranews_default-ns_double-escaped_fulltext_2020.xml")
    assert len(ukr) == 2
    assert ukr[0].rubrics == ("economy",)
    assert ukr[0].text and ukr[0].text.startswith("Глава Херсонской обладминистрации")
    assert "&lt;" not in ukr[0].text and "<p>" not in ukr[0].text
    assert ukr[0].summary  # the empty <description> is filled from the full text


def test_cp1251_x80_decodes_to_dje() -> None:
    raw = parse_bytes((CORPUS / "feedparser_x80_cp1251.xml").read_bytes(), {})
    assert raw.title == "\u0402"


def test_koi8r_and_cp1251_are_told_apart_without_a_declaration() -> None:
    text = "<rss><channel><item><title>Как пережить новогоднюю ночь</title></item></channel></rss>"
    assert sniff_encoding(text.encode("koi8_r"), {}) == "koi8_r"
    assert sniff_encoding(text.encode("cp1251"), {}) == "cp1251"
    assert sniff_encoding(text.encode("utf-8"), {}) is None
    assert (
        sniff_encoding(text.encode("cp1251"), {"content-type": "text/xml; charset=windows-1251"})
        is None
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"<!DOCTYPE html><html><head><title>Kazinform</title></head><body>x</body></html>",
        b'{"items": []}',
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
)
def test_not_a_feed_is_an_error(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_bytes(body, {})


def test_entity_declarations_are_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><title>&x;</title></channel></rss>'
    with pytest.raises(FeedError, match="entit"):
        parse_bytes(body, {})


def test_malformed_but_recoverable_feed_still_yields_entries() -> None:
    body = rss(
        [
            {"title": "Первая & <b>вторая", "link": "https://tengrinews.kz/a/1/", "guid": "1"},
            {"title": "Третья", "link": "https://tengrinews.kz/a/2/", "guid": "2"},
        ]
    )
    body = body.replace("</channel></rss>", "")  # truncated document
    raw = parse_bytes(body.encode(), {})
    assert len(raw.entries) == 2
    assert raw.bozo


def _spec(name: str = "tengrinews", rubric: str | None = None) -> FeedSpec:
    return FeedSpec(name=name, url="https://tengrinews.kz/news.rss", rubric=rubric)


def _norm(body: str, spec: FeedSpec | None = None) -> tuple[Item, ...]:
    raw = parse_bytes(body.encode(), {}, ALMATY)
    return normalize_entries(raw.entries, spec or _spec(), fetched=FETCHED, feed_title=raw.title)


def test_dates_missing_garbage_and_future_fall_back_to_fetch_time() -> None:
    items = _norm(
        rss(
            [
                {"title": "Без даты", "link": "https://t.kz/1", "guid": "1"},
                {
                    "title": "Мусор",
                    "link": "https://t.kz/2",
                    "guid": "2",
                    "pubDate": "вчера вечером",
                },
                {
                    "title": "Будущее",
                    "link": "https://t.kz/3",
                    "guid": "3",
                    "pubDate": "Fri, 01 Jan 2100 00:00:00 +0000",
                },
                {
                    "title": "Нормальная",
                    "link": "https://t.kz/4",
                    "guid": "4",
                    "pubDate": "Tue, 24 Nov 2026 10:00:00 +0500",
                },
                {
                    "title": "По-русски",
                    "link": "https://t.kz/5",
                    "guid": "5",
                    "pubDate": "24 ноября 2026 10:00",
                },
            ]
        )
    )
    estimated = {i.title: (i.published, i.date_estimated) for i in items}
    fetched = "2026-11-24T12:00:00+00:00"
    assert estimated["Без даты"] == (fetched, True)
    assert estimated["Мусор"] == (fetched, True)
    assert estimated["Будущее"] == (fetched, True)
    assert estimated["Нормальная"] == ("2026-11-24T05:00:00+00:00", False)
    assert estimated["По-русски"] == ("2026-11-24T05:00:00+00:00", False)


def test_untrustworthy_guids_and_shared_links_fall_back() -> None:
    items = _norm(
        rss(
            [
                {"title": "Одна", "link": "https://t.kz/news/1", "guid": "same"},
                {"title": "Другая", "link": "https://t.kz/news/2", "guid": "same"},
                {"title": "Главная 1", "link": "https://t.kz/", "guid": "g3"},
                {"title": "Главная 2", "link": "https://t.kz/", "guid": "g4"},
                {"title": "Без ссылки и guid", "description": "текст"},
                {"title": "", "description": ""},
            ]
        )
    )
    assert [i.title for i in items] == [
        "Одна",
        "Другая",
        "Главная 1",
        "Главная 2",
        "Без ссылки и guid",
    ]
    assert len({i.feed_key for i in items}) == 5
    assert items[0].link_key and items[1].link_key  # identity by link, GUIDs shared
    assert items[2].link_key is None and items[3].link_key is None  # link shared


def test_rubric_fallbacks_use_config_aliases_and_feed_default() -> None:
    body = rss(
        [
            {"title": "a", "link": "https://t.kz/1", "guid": "1", "categories": "Казахстан"},
            {"title": "b", "link": "https://t.kz/2", "guid": "2", "categories": "Гороскоп"},
            {"title": "c", "link": "https://t.kz/3", "guid": "3", "categories": "Спорт|Футбол"},
        ]
    )
    raw = parse_bytes(body.encode(), {})
    items = normalize_entries(
        raw.entries, _spec(rubric="society"), fetched=FETCHED, aliases={"казахстан": "regions"}
    )
    assert [i.rubrics for i in items] == [("regions",), ("society",), ("sport",)]
    assert items[1].categories == ("Гороскоп",)


def test_only_http_links_are_kept() -> None:
    items = _norm(
        rss(
            [
                {"title": "js", "link": "javascript:alert(1)", "guid": "1"},
                {"title": "file", "link": "file:///etc/passwd", "guid": "2"},
                {"title": "ok", "link": "https://t.kz/3", "guid": "3"},
            ]
        )
    )
    assert [i.url for i in items] == [None, None, "https://t.kz/3"]


def test_hostile_title_is_cleaned_text() -> None:
    (item,) = _norm(
        rss(
            [
                {
                    "title": "[bold]Жирный[/] \x1b[2J\u202eперевёрнутый",
                    "link": "https://t.kz/1",
                    "guid": "1",
                }
            ]
        )
    )
    assert item.title == "[bold]Жирный[/] [2Jперевёрнутый"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://www.inform.kz/ru/news_a1/", "https://inform.kz/ru/news_a1"),
        (
            "https://WWW.Inform.KZ/ru/news_a1?utm_source=rss&utm_medium=x#top",
            "https://inform.kz/ru/news_a1",
        ),
        ("https://inform.kz:443/ru/a?b=2&a=1", "https://inform.kz/ru/a?a=1&b=2"),
        (
            "https://news.tut.by/go/666242.html?utm_campaign=news-feed&utm_medium=rss",
            "https://news.tut.by/go/666242.html",
        ),
        ("https://t.kz/a?fbclid=zz&id=5&yclid=1", "https://t.kz/a?id=5"),
    ],
)
def test_canonical_url_normalises_the_same_story(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


def test_canonical_url_keeps_what_identifies_a_story() -> None:
    assert canonical_url("https://t.kz/a?id=5") != canonical_url("https://t.kz/a?id=6")
    assert canonical_url("https://t.kz/a") != canonical_url("https://t.kz/b")
    assert canonical_url("javascript:alert(1)") is None
    assert canonical_url("ftp://t.kz/a") is None
    assert http_url("/ru/news", "https://www.inform.kz/ru/lenta") == "https://www.inform.kz/ru/news"


@given(st.text(max_size=80))
@example("\n?")  # once gave "https://inform.kz/ " (a trailing space), then "https://inform.kz"
def test_canonical_url_is_idempotent_and_only_https(value: str) -> None:
    url = canonical_url("https://inform.kz/" + value)
    if url is not None:
        assert url.startswith("https://")
        assert canonical_url(url) == url


@given(
    st.from_regex(
        r"https?://(www\.)?[a-z]{1,8}\.kz(/[a-z0-9_-]{1,8}){0,3}/?(\?[a-z]{1,5}=[a-z0-9]{1,5})?",
        fullmatch=True,
    )
)
def test_canonical_url_ignores_scheme_www_and_trailing_slash(url: str) -> None:
    canon = canonical_url(url)
    assert canon is not None
    variant = url.replace("http://", "https://").replace("://www.", "://")
    assert canonical_url(variant.rstrip("/")) == canon or "?" in url
    assert canonical_url(variant) == canon


PLAIN_LINKS = st.from_regex(
    r"https?://(www\.)?[a-z0-9-]{1,10}(\.[a-z0-9-]{1,6}){0,2}"
    r"(/[A-Za-z0-9_~%:@!$&'()*+,;=.-]{0,12}){0,4}/?",
    fullmatch=True,
)
BASES = st.sampled_from(
    [None, "https://www.inform.kz/ru/lenta", "http://127.0.0.1:8080/feed/", "https://x.kz"]
)


@given(PLAIN_LINKS | st.text(max_size=40), BASES)
@example("http://0/;", "http://127.0.0.1:8080/feed/")  # urljoin drops an empty ";" parameter
@settings(max_examples=600)
def test_the_plain_link_shortcut_agrees_with_the_long_way(link: str, base: str | None) -> None:
    """Most agency links skip URL parsing; what they get must be what parsing would give."""
    from kzfeed.normalize import _canonical, _resolve

    fast = http_url(link, base)
    assert fast == (_resolve(link, base) if link else None)
    if fast is not None:
        assert canonical_url(fast, clean=True) == _canonical(fast)


def test_links_are_read_as_browsers_read_them() -> None:
    assert http_url(" https://www.inform.kz/ru/\nnews_a1\t ") == "https://www.inform.kz/ru/news_a1"
    assert http_url("https://inform.kz/ru/a b") == "https://inform.kz/ru/a%20b"
    assert canonical_url("https://inform.kz/\n?") == "https://inform.kz"
