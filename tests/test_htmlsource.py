"""HTML news-list sources: fixture pages -> items with the right titles, links, dates, rubrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kzfeed.config import load_config
from kzfeed.errors import FeedError
from kzfeed.htmlsource import decode_html, parse_list
from kzfeed.model import FeedSpec
from kzfeed.store import Store
from kzfeed.update import update

from .conftest import FIXTURES, FeedServer, write_config

HTML = FIXTURES / "html"
ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 11:00 on 25 November in Almaty
# The news-list markup kzfeed's first fixture pages made up (before ../shared/sites showed
# the real one): read here with selectors of one's own, as a user would for any other site.
LEGACY = {
    "item": "article.lenta-item",
    "title": ".lenta-item__title",
    "link": "a.lenta-item__title",
    "date": ".lenta-item__date",
    "lead": ".lenta-item__lead",
    "rubric": ".lenta-item__rubric",
}
KAZINFORM = FeedSpec(
    "kazinform-lenta",
    "https://www.inform.kz/ru/lenta",
    type="html",
    select=tuple(sorted(LEGACY.items())),
)


def entries(
    name: str,
    spec: FeedSpec = KAZINFORM,
    headers: dict[str, str] | None = None,
    base: str = "https://www.inform.kz/ru/lenta",
) -> tuple[str | None, list[dict[str, Any]]]:
    page = parse_list(
        (HTML / name).read_bytes(), headers or {}, spec, base_url=base, tz=ALMATY, now=NOW
    )
    return page.title, page.entries


def utc(entry: dict[str, Any]) -> str | None:
    parsed = entry.get("published_parsed")
    return datetime(*parsed[:6], tzinfo=UTC).isoformat() if parsed else None


def test_kazinform_preset_reads_the_news_list() -> None:
    title, found = entries("kazinform-lenta-ru.html")
    assert title == "Kazinform"  # the agency: "Последние новости Казахстана и мира — Kazinform"
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
    assert title == "Zakon.kz"
    assert found[0]["title"] == "Курс тенге укрепился на торгах KASE"
    assert found[0]["link"] == "https://www.zakon.kz/6451234-kurs-tenge.html"
    assert utc(found[0]) == "2026-11-24T04:41:00+00:00"


def test_config_selectors_override_the_preset() -> None:
    spec = FeedSpec(
        "k",
        "https://www.inform.kz/lenta/",
        type="html",
        preset="kazinform",
        select=(("date", ".nothing"),),
    )
    _title, found = entries(
        "real/kazinform-ru-2025.html", spec, base="https://www.inform.kz/lenta/"
    )
    assert len(found) == 24 and not any(e.get("published_parsed") for e in found)


def test_selectors_that_match_nothing_fall_back_to_detection_with_a_note() -> None:
    spec = FeedSpec(
        "k",
        "https://www.inform.kz/ru/lenta",
        type="html",
        preset="kazinform",
        select=(("item", "div.news-card"),),
    )
    page = parse_list(
        (HTML / "kazinform-lenta-ru.html").read_bytes(),
        {},
        spec,
        base_url="https://www.inform.kz/ru/lenta",
        tz=ALMATY,
        now=NOW,
    )
    assert page.note == (
        "selectors matched nothing; 4 items found by detection — update the preset or your "
        "[feeds.select]"
    )
    assert page.entries[0]["title"] == "Токаев провел переговоры с президентом Узбекистана"
    assert utc(page.entries[0]) == "2026-11-24T16:38:00+00:00"
    nothing = (
        b"<html><body><nav><a href='/a'>Home</a></nav><p>Closed for repairs.</p></body></html>"
    )
    with pytest.raises(FeedError, match=r"selectors matched no items .* no news list was found"):
        parse_list(nothing, {}, spec, base_url="https://www.inform.kz/", tz=ALMATY, now=NOW)


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
                "lang": "ru",
                "title": "Kazinform",
                "select": LEGACY,
            },
            {
                "name": "broken-lenta",
                "url": server.url("/ru/empty"),
                "type": "html",
                "select": LEGACY,
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
    assert changed.feeds[0].unchanged == 4  # the list's other blocks: not normalized again


# ------------------------------------------------------------------------------ full text and add

from typer.testing import CliRunner  # noqa: E402

from kzfeed.article import extract_text  # noqa: E402
from kzfeed.cli import app  # noqa: E402

from .conftest import rss  # noqa: E402

runner = CliRunner()
SEED_PARAGRAPHS = 7


def test_article_extraction_keeps_the_story_and_drops_the_chrome() -> None:
    text = extract_text(
        (HTML / "kazinform-article-seed.html").read_bytes(),
        {},
        "https://www.inform.kz/ru/x_a4031927",
    )
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == SEED_PARAGRAPHS
    assert paragraphs[0].startswith("Алматы (Алма-Ата) - 3 февраля /KZinform/.")
    assert paragraphs[-1].endswith("— сказал Михаил Мишустин.")
    for chrome in (
        "Версия для печати",
        "Последние новости",
        "Последние интервью",
        "Президент НОК",
        "Все права защищены",
        "О агентстве",
        "__NEXT_DATA__",
        "Политика   Общество",
    ):
        assert chrome not in text, chrome


def test_show_full_fetches_once_and_keeps_the_text(server: FeedServer, cfg_path: Path) -> None:
    article = server.add(
        "/ru/smailov-mishustin_a4031927",
        (HTML / "kazinform-article-seed.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    server.add(
        "/rss.xml",
        rss(
            [
                {
                    "title": "Алихан Смаилов и Михаил Мишустин обсудили вопросы сотрудничества",
                    "link": article,
                    "guid": "4031927",
                    "pubDate": "03.02.2023 10:00",
                    "description": "Алматы (Алма-Ата) - 3 февраля /KZinform/.",
                }
            ]
        ),
    )
    write_config(cfg_path, [{"name": "kazinform-ru", "url": server.url("/rss.xml")}])
    kz = lambda *a: runner.invoke(app, ["--config", str(cfg_path), *a], env={"COLUMNS": "200"})  # noqa: E731
    assert kz("update").exit_code == 0
    item_id = json.loads(kz("latest", "--json").stdout)[0]["id"]
    shown = kz("show", item_id, "--full", "--no-pager")
    assert shown.exit_code == 0, shown.output
    assert "Стороны обсудили широкий круг вопросов" in shown.stdout
    assert "Версия для печати" not in shown.stdout and "Последние новости" not in shown.stdout
    assert len(server.hits("/ru/smailov-mishustin_a4031927")) == 1
    data = json.loads(kz("show", item_id, "--full", "--json").stdout)
    assert len(data["text"].split("\n\n")) == SEED_PARAGRAPHS
    assert (
        len(server.hits("/ru/smailov-mishustin_a4031927")) == 1
    )  # kept in the store: no new request
    plain = json.loads(kz("show", item_id, "--json").stdout)
    assert "text" not in plain or "Стороны обсудили" not in plain.get("text", "")
    # digest --full carries the kept text, in every format, escaped like any feed text
    window = ("--since", "2023-02-01", "--until", "2023-02-05")
    data = json.loads(kz("digest", *window, "-F", "json", "--full").stdout)
    (item,) = [i for g in data["groups"] for s in g["rubrics"] for i in s["items"]]
    assert len(item["text"].split("\n\n")) == SEED_PARAGRAPHS
    assert (
        "text"
        not in json.loads(kz("digest", *window, "-F", "json").stdout)["groups"][0]["rubrics"][0][
            "items"
        ][0]
    )
    assert (
        "Стороны обсудили широкий круг вопросов"
        in kz("digest", *window, "-F", "txt", "--full").stdout
    )
    assert "\n  «Это наглядно показывает" in kz("digest", *window, "-F", "md", "--full").stdout
    assert (
        '<div class="text"><p>Алматы (Алма-Ата)'
        in kz("digest", *window, "-F", "html", "--full").stdout
    )
    assert len(server.hits("/ru/smailov-mishustin_a4031927")) == 1  # digests never fetch


def test_show_full_failures_are_one_line(server: FeedServer, cfg_path: Path) -> None:
    server.add(
        "/rss.xml",
        rss(
            [
                {"title": "Нет страницы", "link": server.url("/gone"), "guid": "1"},
                {"title": "Не http", "link": "javascript:alert(1)", "guid": "2"},
            ]
        ),
    )
    write_config(cfg_path, [{"name": "k", "url": server.url("/rss.xml")}])
    kz = lambda *a: runner.invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    kz("update")
    items = {i["title"]: i["id"] for i in json.loads(kz("latest", "--json").stdout)}
    # the page cannot be had: what is stored is shown, with one line saying why, exit 0
    missing = kz("show", items["Нет страницы"], "--full", "--no-pager")
    assert missing.exit_code == 0 and "Нет страницы" in missing.stdout
    assert "HTTP 404" in missing.stderr and missing.stderr.count("\n") == 1
    assert "no full text" in missing.stderr
    nolink = kz("show", items["Не http"], "--full", "--no-pager")
    assert nolink.exit_code == 0 and "no http(s) link" in nolink.stderr


def test_add_html_source_with_a_preset(server: FeedServer, cfg_path: Path) -> None:
    write_config(cfg_path, [])
    lenta = server.add(
        "/lenta/",
        (HTML / "real" / "kazinform-ru-2025.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    kz = lambda *a: runner.invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    result = kz(
        "add", lenta, "--html", "--preset", "kazinform", "--name", "kazinform-ru", "--lang", "ru"
    )
    assert result.exit_code == 0, result.output
    assert "items on the page: 24" in result.stderr
    text = cfg_path.read_text(encoding="utf-8")
    assert 'type = "html"' in text and 'preset = "kazinform"' in text
    assert (
        'title = "Kazinform"' in text
    )  # the agency, not the page ("Лента новостей … | Kazinform")
    assert kz("update").exit_code == 0
    assert len(json.loads(kz("latest", "--json", "-n", "100").stdout)) == 24
    # no preset: kzfeed finds the list and writes the selectors it used into the config
    page = server.add(
        "/ru/lenta",
        (HTML / "kazinform-lenta-ru.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    auto = kz("add", page, "--html", "--name", "auto")
    assert auto.exit_code == 0, auto.output
    # served from 127.0.0.1, one link is absolute (www.inform.kz): another site's, but in a
    # list that is mostly the page's own, it is one of the stories
    assert "no selectors; 4 items found by detection" in auto.stderr
    assert "24.11 21:38  Токаев провел переговоры с президентом Узбекистана" in auto.stderr
    cfg = load_config(cfg_path)
    select = dict(cfg.feed("auto").select)  # type: ignore[union-attr]
    assert select == {
        "item": "section.lenta > article.lenta-item",
        "title": "a.lenta-item__title",
        "link": "a.lenta-item__title@href",
        "date": "div.lenta-item__date",
    }
    plain = server.add(
        "/ru/plain",
        "<html><body><div>no list here</div></body></html>",
        headers={"Content-Type": "text/html"},
    )
    bad = kz("add", plain, "--html", "--preset", "kazinform", "--name", "x")
    assert bad.exit_code == 1 and "selectors matched no items" in bad.stderr
    assert "no news list was found on the page" in bad.stderr


def test_add_finds_a_feed_at_a_common_path_or_suggests_an_html_source(
    server: FeedServer, cfg_path: Path
) -> None:
    write_config(cfg_path, [])
    kz = lambda *a: runner.invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    server.add(
        "/rss.xml",
        rss([{"title": "Новость", "link": "https://t.kz/1", "guid": "1"}], title="Agency"),
    )
    home = server.add(
        "/",
        "<html><head><title>Agency</title></head><body>news</body></html>",
        headers={"Content-Type": "text/html"},
    )
    found = kz("add", home, "--name", "agency")
    assert found.exit_code == 0, found.output
    assert f'url = "{server.url("/rss.xml")}"' in cfg_path.read_text(encoding="utf-8")
    del server.routes["/rss.xml"]
    none = kz("add", home, "--name", "agency2")
    assert none.exit_code == 1 and "no news list found on it either" in none.stderr
    # a page with a news list but no feed: what detection finds is shown, with the command
    lenta = server.add(
        "/lenta/",
        (HTML / "kazinform-lenta-ru.html").read_bytes(),
        headers={"Content-Type": "text/html"},
    )
    shown = kz("add", lenta, "--name", "agency3")
    assert shown.exit_code == 1
    assert "its news list, as kzfeed finds it (4 items)" in shown.stderr
    assert "Президент НОК Казахстана встретился со студентами в Алматы" in shown.stderr
    assert f"kzfeed add {lenta} --html" in shown.stderr


def test_a_bare_domain_is_a_web_address_never_a_file(tmp_path: Path) -> None:
    from kzfeed.config import check_url

    (tmp_path / "tengrinews.kz").write_text("not this")
    assert check_url("tengrinews.kz", tmp_path) == "https://tengrinews.kz/"
    assert check_url("www.nur.kz/rss/all.rss", tmp_path) == "https://www.nur.kz/rss/all.rss"
    assert check_url("inform.kz?x=1", tmp_path) == "https://inform.kz/?x=1"
    assert check_url("saved.xml", tmp_path) == str(tmp_path / "saved.xml")
    assert check_url("127.0.0.1:8080/rss", tmp_path) == "http://127.0.0.1:8080/rss"
    assert check_url("localhost:8000", tmp_path) == "http://localhost:8000/"


def test_english_page_and_a_feed_timezone() -> None:
    _title, found = entries("kazinform-lenta-en.html", base="https://www.inform.kz/en/lenta")
    assert [e["title"] for e in found] == [
        "Tokayev, Mirziyoyev hold talks in Astana",
        "National Bank keeps base rate at 16.5%",
    ]
    assert utc(found[0]) == "2026-11-24T16:38:00+00:00" and found[0]["tags"] == [
        {"term": "Politics"}
    ]
    # the same page read as if the site wrote Moscow time (UTC+3)
    moscow = parse_list(
        (HTML / "kazinform-lenta-en.html").read_bytes(),
        {},
        KAZINFORM,
        base_url="https://www.inform.kz/en/lenta",
        tz=ZoneInfo("Europe/Moscow"),
        now=NOW,
    )[1]
    assert utc(moscow[0]) == "2026-11-24T18:38:00+00:00"


def test_a_feed_timezone_in_the_config_is_used(server: FeedServer, cfg_path: Path) -> None:
    server.add(
        "/en/lenta",
        (HTML / "kazinform-lenta-en.html").read_bytes(),
        headers={"Content-Type": "text/html"},
    )
    write_config(
        cfg_path,
        [
            {
                "name": "en",
                "url": server.url("/en/lenta"),
                "type": "html",
                "timezone": "Europe/Moscow",
                "select": LEGACY,
            }
        ],
    )
    update(load_config(cfg_path))
    times = sorted(
        r["published"] for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs
    )
    assert times == ["2026-11-23T21:00:00+00:00", "2026-11-24T18:38:00+00:00"]


def test_full_text_feeds_keep_new_articles_text_during_update(
    server: FeedServer, cfg_path: Path
) -> None:
    article = server.add(
        "/ru/smailov_a4031927",
        (HTML / "kazinform-article-seed.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    server.add(
        "/rss.xml",
        rss(
            [
                {
                    "title": "Смаилов и Мишустин",
                    "link": article,
                    "guid": "a1",
                    "pubDate": "03.02.2023 10:00",
                },
                {"title": "Страницы нет", "link": server.url("/ru/missing_a1"), "guid": "a2"},
            ]
        ),
    )
    write_config(cfg_path, [{"name": "k", "url": server.url("/rss.xml"), "full_text": True}])
    report = update(load_config(cfg_path))
    assert report.errors == 0 and report.new == 2  # a missing article page costs its text only
    records = {
        r["title"]: r for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs
    }
    assert len(records["Смаилов и Мишустин"]["full_text"].split("\n\n")) == SEED_PARAGRAPHS
    assert "full_text" not in records["Страницы нет"]
    item_id = records["Смаилов и Мишустин"]["id"]
    shown = runner.invoke(app, ["--config", str(cfg_path), "show", item_id, "--full", "--json"])
    assert "Стороны обсудили" in json.loads(shown.stdout)["text"]
    assert len(server.hits("/ru/smailov_a4031927")) == 1  # kept: show --full asked nothing
    update(load_config(cfg_path), force=True)  # nothing new: no article is fetched again
    assert len(server.hits("/ru/smailov_a4031927")) == 1


def test_kazinform_2025_article_keeps_the_lead_and_body_and_drops_the_chrome() -> None:
    from kzfeed.article import extract_text

    body = (HTML / "kazinform-article-2025.html").read_bytes()
    text = extract_text(
        body, {}, "https://www.inform.kz/ru/kurs-tenge-prodolzhaet-ukreplyatsya-9ce59c"
    )
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("По итогам дневной сессии")  # the lead first
    assert paragraphs[1] == "Об этом передает агентство Kazinform со ссылкой на данные KASE."
    assert paragraphs[-1] == "Напомним, в начале августа курс доллара превышал 545 тенге."
    for chrome in (
        "Telegram",
        "Последние новости",
        "Все права защищены",
        "__ads",
        "Главная",
        "KASE</",
    ):
        assert chrome not in text
    assert "В Астане открылся новый мост" not in text  # the sidebar's stories are not the story


@pytest.mark.parametrize(
    ("page", "first", "last"),
    [
        (
            "nur-article.html",
            "С 1 декабря в Алматы начнут работать пять новых автобусных маршрутов",
            "Интервал движения в часы пик составит 8–10 минут.",
        ),
        (
            "24kz-article.html",
            "Президент поручил акимам областей завершить подготовку",
            "Министерству по чрезвычайным ситуациям поручено обновить карты рисков.",
        ),
    ],
)
def test_nur_and_24kz_articles_are_read_by_their_markup(page: str, first: str, last: str) -> None:
    from kzfeed.article import site_text

    text = site_text((HTML / "articles" / page).read_text(encoding="utf-8"))
    assert text is not None
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith(first) and paragraphs[-1] == last
    for chrome in (
        "Реклама",
        "Популярное",
        "Читайте также",
        "Все права защищены",
        "Фото:",
        "var tag",
    ):
        assert chrome not in text


def test_a_dead_feed_a_page_names_is_not_offered(server: FeedServer, cfg_path: Path) -> None:
    write_config(cfg_path, [])
    page = (HTML / "real" / "zakon-2026.html").read_text(encoding="utf-8")
    page = page.replace(
        "</head>", '<link rel="alternate" type="application/rss+xml" href="/rss/news.xml"></head>'
    )
    news = server.add("/news/", page, headers={"Content-Type": "text/html; charset=utf-8"})
    kz = lambda *a: runner.invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    result = kz("add", news, "--name", "zakon")
    assert result.exit_code == 1
    assert "names a feed at" in result.stderr and "HTTP 404" in result.stderr
    assert "its news list, as kzfeed finds it (20 items)" in result.stderr
    assert "[[feeds]]" not in cfg_path.read_text(encoding="utf-8")


def test_articles_are_fetched_with_the_database_lock_released(
    server: FeedServer, cfg_path: Path
) -> None:
    """A slow article site must not hold the lock: a reader's read marks (or `kzfeed read`)
    go through while `update` waits for the pages."""
    import threading
    import time

    article = server.add(
        "/ru/slow_a1",
        (HTML / "kazinform-article-seed.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
        delay=1.5,
    )
    server.add("/rss.xml", rss([{"title": "Медленная статья", "link": article, "guid": "s1"}]))
    write_config(cfg_path, [{"name": "k", "url": server.url("/rss.xml"), "full_text": True}])
    config = load_config(cfg_path)
    running = threading.Thread(target=update, args=(config,))
    running.start()
    deadline = time.monotonic() + 10
    while not server.hits("/ru/slow_a1") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.hits("/ru/slow_a1")  # the page is being served, slowly
    started = time.monotonic()
    with Store(config.data_dir, lock_timeout=1.0).writer() as writer:
        stored = [r["id"] for _d, rs in writer.store.iter_newest() for r in rs]
        assert writer.set_read(stored, True) == 1  # the item itself is already stored
    assert time.monotonic() - started < 1.0
    running.join(timeout=20)
    (record,) = [r for _d, rs in Store(config.data_dir).iter_newest() for r in rs]
    assert record["read"] is True and "Стороны обсудили" in record["full_text"]
