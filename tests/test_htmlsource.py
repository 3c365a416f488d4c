"""HTML news-list sources: fixture pages -> items with the right titles, links, dates, rubrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kzfeed.config import load_config
from kzfeed.errors import FeedError
from kzfeed.htmlsource import decode_html, parse_list
from kzfeed.model import FeedSpec
from kzfeed.pipeline import update
from kzfeed.store import Store

from .conftest import FIXTURES, FeedServer, write_config

HTML = FIXTURES / "html"
ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 11:00 on 25 November in Almaty
KAZINFORM = FeedSpec(
    "kazinform-lenta", "https://www.inform.kz/ru/lenta", type="html", preset="kazinform"
)


def entries(
    name: str,
    spec: FeedSpec = KAZINFORM,
    headers: dict[str, str] | None = None,
    base: str = "https://www.inform.kz/ru/lenta",
) -> tuple[str | None, list[dict[str, Any]]]:
    return parse_list(
        (HTML / name).read_bytes(), headers or {}, spec, base_url=base, tz=ALMATY, now=NOW
    )


def utc(entry: dict[str, Any]) -> str | None:
    parsed = entry.get("published_parsed")
    return datetime(*parsed[:6], tzinfo=UTC).isoformat() if parsed else None


def test_kazinform_preset_reads_the_news_list() -> None:
    title, found = entries("kazinform-lenta-ru.html")
    assert title == "Последние новости Казахстана и мира — Kazinform"
    assert [e["title"] for e in found] == [
        "Токаев провел переговоры с президентом Узбекистана",
        "Нацбанк сохранил базовую ставку на уровне 16,5%",
        "Президент НОК Казахстана встретился со студентами в Алматы",
        "В Алматы открылся новый парк",
        "Материал без даты",
    ]
    assert (
        found[0]["link"]
        == "https://www.inform.kz/ru/tokaev-provel-peregovory-s-prezidentom-uzbekistana_a4201567"
    )
    assert found[0]["tags"] == [{"term": "Политика"}]
    assert found[0]["summary"].startswith("Стороны обсудили")
    # "21:38, 24 Ноября 2026" in Almaty (UTC+5)
    assert utc(found[0]) == "2026-11-24T16:38:00+00:00"
    # a date without a time of day is 00:00 local
    assert utc(found[1]) == "2026-11-23T19:00:00+00:00"
    # "18апреля 9:09": no year, so the most recent 18 April not after the fetch
    assert utc(found[2]) == "2026-04-18T04:09:00+00:00"
    assert utc(found[3]) == "2026-08-01T09:05:00+00:00"
    assert utc(found[4]) is None  # "вчера": unusable, the fetch time will stand in


def test_kazakh_page_and_dates() -> None:
    _title, found = entries("kazinform-lenta-kk.html", base="https://www.inform.kz/kz/lenta")
    assert [e["title"] for e in found] == [
        "Тоқаев Өзбекстан Президентімен келіссөз жүргізді",
        "Шымкентте жол апатынан екі адам зардап шекті",
    ]
    assert utc(found[0]) == "2026-11-24T05:15:00+00:00"
    assert utc(found[1]) == "2026-11-22T19:00:00+00:00"
    assert found[1]["tags"] == [{"term": "Оқиғалар"}]


def test_own_selectors_and_a_windows_1251_page() -> None:
    spec = FeedSpec(
        "zakon-lenta",
        "https://www.zakon.kz/news/",
        type="html",
        select=(
            ("date", ".newsline__time"),
            ("item", "div.newsline__item"),
            ("link", "a.newsline__link"),
            ("rubric", ".newsline__cat"),
            ("title", ".newsline__title"),
        ),
    )
    title, found = entries("zakon-newsline-cp1251.html", spec, base="https://www.zakon.kz/news/")
    assert title == "Новости Казахстана — Zakon.kz"
    assert found[0]["title"] == "Курс тенге укрепился на торгах KASE"
    assert found[0]["link"] == "https://www.zakon.kz/6451234-kurs-tenge.html"
    assert utc(found[0]) == "2026-11-24T04:41:00+00:00"


def test_config_selectors_override_the_preset() -> None:
    spec = FeedSpec(
        "k",
        "https://www.inform.kz/ru/lenta",
        type="html",
        preset="kazinform",
        select=(("lead", ".nothing-here"),),
    )
    _title, found = entries("kazinform-lenta-ru.html", spec)
    assert all(e["summary"] == "" for e in found) and len(found) == 5


def test_selectors_that_match_nothing_are_an_error() -> None:
    spec = FeedSpec(
        "k",
        "https://www.inform.kz/ru/lenta",
        type="html",
        preset="kazinform",
        select=(("item", "div.news-card"),),
    )
    with pytest.raises(FeedError, match="selectors matched no items"):
        entries("kazinform-lenta-ru.html", spec)


def test_charset_order_http_then_meta_then_detection() -> None:
    body = "<html><head><meta charset='koi8-r'></head><body>Привет</body></html>".encode("koi8_r")
    assert "Привет" in decode_html(body, {})
    assert "Привет" in decode_html(
        "<p>Привет</p>".encode("cp1251"), {"content-type": "text/html; charset=windows-1251"}
    )
    assert "Привет" in decode_html("<p>Привет, как дела у всех</p>".encode("cp1251"), {})


def test_html_source_through_update_dedup_and_store(server: FeedServer, cfg_path: Path) -> None:
    page = (HTML / "kazinform-lenta-ru.html").read_bytes()
    server.add("/ru/lenta", page, headers={"Content-Type": "text/html; charset=utf-8"}, etag='"l1"')
    server.add(
        "/ru/empty",
        b"<html><head><title>x</title></head><body><div>redesign</div></body></html>",
        headers={"Content-Type": "text/html"},
    )
    write_config(
        cfg_path,
        [
            {
                "name": "kazinform-lenta",
                "url": server.url("/ru/lenta"),
                "type": "html",
                "preset": "kazinform",
                "lang": "ru",
                "title": "Kazinform",
            },
            {
                "name": "broken-lenta",
                "url": server.url("/ru/empty"),
                "type": "html",
                "preset": "kazinform",
            },
        ],
    )
    report = update(load_config(cfg_path))
    by_name = {f.name: f for f in report.feeds}
    assert by_name["kazinform-lenta"].status == "ok" and by_name["kazinform-lenta"].new == 5
    assert by_name["broken-lenta"].status == "error"
    assert "selectors matched no items" in (by_name["broken-lenta"].error or "")
    records = {
        r["title"]: r for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs
    }
    talks = records["Токаев провел переговоры с президентом Узбекистана"]
    assert talks["url"].endswith("_a4201567") and talks["url"].startswith(server.url("/ru/"))
    assert (
        talks["rubrics"] == ["politics"]
        and talks["source"] == "Kazinform"
        and talks["lang"] == "ru"
    )
    assert records["В Алматы открылся новый парк"]["rubrics"] == ["society"]  # "Казахстан"
    undated = records["Материал без даты"]
    assert undated["date_estimated"] is True
    assert datetime.fromisoformat(undated["published"]) > datetime.now(UTC) - timedelta(minutes=5)
    # the same page again: a 304, nothing new; a changed page: only what is new
    again = update(load_config(cfg_path), ["kazinform-lenta"])
    assert again.feeds[0].status == "not_modified"
    server.add(
        "/ru/lenta",
        page.replace(
            b"\xd0\x9c\xd0\xb0\xd1\x82\xd0\xb5\xd1\x80\xd0\xb8\xd0\xb0\xd0\xbb",
            "Новый материал".encode(),
        ),
        headers={"Content-Type": "text/html; charset=utf-8"},
        etag='"l2"',
    )
    changed = update(load_config(cfg_path), ["kazinform-lenta"])
    assert changed.feeds[0].status == "ok" and (changed.new, changed.updated) == (0, 1)
