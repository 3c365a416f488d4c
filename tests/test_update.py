"""`update` end to end against feeds served on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kzfeed.config import load_config
from kzfeed.store import Store
from kzfeed.store import files as store_files
from kzfeed.update import UpdateReport, update

from .conftest import CORPUS, REPO, FeedServer, rss, write_config

KAZINFORM = [
    {
        "title": "Токаев провел переговоры с президентом Узбекистана",
        "link": "https://www.inform.kz/ru/tokaev-provel-peregovory_a4201567?utm_source=rss",
        "guid": "4201567",
        "pubDate": "Tue, 24 Nov 2026 09:10:00 +0500",
        "categories": "Политика",
        "description": "<p>АСТАНА. KAZINFORM – Глава государства провел переговоры.</p>",
    },
    {
        "title": "Нацбанк сохранил базовую ставку",
        "link": "https://www.inform.kz/ru/nacbank_a4201544",
        "guid": "4201544",
        "pubDate": "Tue, 24 Nov 2026 08:30:00 +0500",
        "categories": "Экономика",
        "description": "Национальный банк сохранил ставку на уровне 16,5%.",
    },
    {
        "title": "Алихан Смаилов и Михаил Мишустин обсудили вопросы сотрудничества Казахстана и России",
        "link": "https://www.inform.kz/ru/smailov-mishustin_a4031927",
        "guid": "4031927",
        "pubDate": "03.02.2023 10:00",
        "categories": "Политика",
        "description": "Алматы (Алма-Ата) - 3 февраля /KZinform/. Премьер-Министр Казахстана встретился…",
    },
]
POLITICS = [
    {
        "title": "Токаев провел переговоры с президентом Узбекистана",
        "link": "http://inform.kz/ru/tokaev-provel-peregovory_a4201567/",
        "guid": "http://inform.kz/ru/tokaev-provel-peregovory_a4201567/",
        "pubDate": "Tue, 24 Nov 2026 09:10:00 +0500",
        "categories": "Внешняя политика|Мир",
    },
    {
        "title": "Сенат ратифицировал соглашение",
        "link": "http://inform.kz/ru/senat_a4201377",
        "guid": "http://inform.kz/ru/senat_a4201377",
        "pubDate": "Mon, 23 Nov 2026 10:40:00 +0500",
        "categories": "Парламент",
    },
]
TENGRI = [
    {
        "title": "Снегопад ожидается на севере Казахстана",
        "link": "https://tengrinews.kz/kazakhstan_news/sneg-589012/",
        "guid": "https://tengrinews.kz/kazakhstan_news/sneg-589012/",
        "pubDate": "Tue, 24 Nov 2026 10:02:00 +0500",
        "categories": "Казахстан",
    },
]


def setup(server: FeedServer, cfg_path: Path, **settings: Any) -> Path:
    server.add("/rss/rus.xml", rss(KAZINFORM), etag='"k-1"')
    server.add(
        "/rss/politics.xml",
        rss(POLITICS, title="Kazinform Политика"),
        last_modified="Tue, 24 Nov 2026 04:00:00 GMT",
    )
    server.add("/news.rss", rss(TENGRI, title="Tengrinews.kz"))
    feeds = [
        {
            "name": "kazinform-ru",
            "url": server.url("/rss/rus.xml"),
            "title": "Kazinform",
            "rubric": "politics",
        },
        {
            "name": "kazinform-politics",
            "url": server.url("/rss/politics.xml"),
            "rubric": "politics",
        },
        {"name": "tengrinews", "url": server.url("/news.rss"), "lang": "ru"},
    ]
    return write_config(cfg_path, feeds, **settings)


def run(cfg_path: Path, *names: str, **kw: Any) -> UpdateReport:
    return update(load_config(cfg_path), list(names) or None, **kw)


def all_items(cfg_path: Path) -> dict[str, dict[str, Any]]:
    store = Store(load_config(cfg_path).data_dir)
    return {r["title"]: r for _d, records in store.iter_newest() for r in records}


def test_every_story_once_with_time_rubric_and_also_in(server: FeedServer, cfg_path: Path) -> None:
    setup(server, cfg_path)
    report = run(cfg_path)
    assert report.errors == 0
    assert {f.name: (f.status, f.new) for f in report.feeds} == {
        "kazinform-ru": ("ok", 3),
        "kazinform-politics": ("ok", 1),
        "tengrinews": ("ok", 1),
    }
    items = all_items(cfg_path)
    assert len(items) == 5
    talks = items["Токаев провел переговоры с президентом Узбекистана"]
    assert talks["feed"] == "kazinform-ru" and talks["source"] == "Kazinform"
    assert talks["url"] == "https://www.inform.kz/ru/tokaev-provel-peregovory_a4201567"
    assert talks["published"] == "2026-11-24T04:10:00+00:00"
    assert talks["rubrics"] == ["politics", "world"]
    assert talks["also_in"] == [
        {
            "feed": "kazinform-politics",
            "url": "http://inform.kz/ru/tokaev-provel-peregovory_a4201567/",
        }
    ]
    seed = items[
        "Алихан Смаилов и Михаил Мишустин обсудили вопросы сотрудничества Казахстана и России"
    ]
    assert seed["published"] == "2023-02-03T04:00:00+00:00" and not seed["date_estimated"]
    tengri = items["Снегопад ожидается на севере Казахстана"]
    assert tengri["rubrics"] == ["society"] and tengri["source"] == "Tengrinews.kz"


def test_second_update_is_conditional_and_adds_nothing(
    server: FeedServer, cfg_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(server, cfg_path)
    run(cfg_path)
    writes: list[str] = []
    real = store_files.write_atomic
    monkeypatch.setattr(
        store_files, "write_atomic", lambda p, d: (writes.append(p.name), real(p, d))
    )
    reads: list[str] = []
    load = store_files.load_json
    monkeypatch.setattr(store_files, "load_json", lambda p: (reads.append(p.name), load(p))[1])
    report = run(cfg_path)
    assert report.new == 0 and report.updated == 0 and report.errors == 0
    assert reads == ["state.json"]  # nothing was parsed: the identity index is never read
    statuses = {f.name: f.status for f in report.feeds}
    assert statuses == {
        "kazinform-ru": "not_modified",
        "kazinform-politics": "not_modified",
        "tengrinews": "not_modified",
    }
    assert server.hits("/rss/rus.xml")[-1].headers["if-none-match"] == '"k-1"'
    assert (
        server.hits("/rss/politics.xml")[-1].headers["if-modified-since"]
        == "Tue, 24 Nov 2026 04:00:00 GMT"
    )
    # tengrinews ignores validators and re-sends the same bytes: recognised by hash, not parsed
    assert [f.http_status for f in report.feeds if f.name == "tengrinews"] == [200]
    assert not any(name.endswith(".json") and name != "state.json" for name in writes)
    assert len(all_items(cfg_path)) == 5


def test_an_edited_title_updates_the_item_in_place(server: FeedServer, cfg_path: Path) -> None:
    setup(server, cfg_path)
    run(cfg_path)
    before = all_items(cfg_path)["Нацбанк сохранил базовую ставку"]
    edited = [dict(KAZINFORM[1], title="Нацбанк сохранил базовую ставку на уровне 16,5%")]
    server.add("/rss/rus.xml", rss(edited + KAZINFORM[:1]), etag='"k-2"')
    report = run(cfg_path, "kazinform-ru")
    assert (report.new, report.updated) == (0, 1)
    after = all_items(cfg_path)
    assert "Нацбанк сохранил базовую ставку" not in after
    assert after["Нацбанк сохранил базовую ставку на уровне 16,5%"]["id"] == before["id"]
    assert len(after) == 5


def test_one_broken_feed_is_reported_and_the_others_are_stored(
    server: FeedServer, cfg_path: Path
) -> None:
    setup(server, cfg_path)
    server.add(
        "/news.rss",
        b"<!DOCTYPE html><html><body>503</body></html>",
        status=500,
        headers={"Content-Type": "text/html"},
    )
    server.add(
        "/rss/politics.xml",
        b"<html><head><title>Kazinform</title></head><body>new site</body></html>",
        headers={"Content-Type": "text/html"},
    )
    report = run(cfg_path)
    by_name = {f.name: f for f in report.feeds}
    assert (
        by_name["tengrinews"].status == "error"
        and by_name["tengrinews"].error == "HTTP 500 Internal Server Error"
    )
    assert by_name["kazinform-politics"].status == "error"
    assert "not a feed" in (by_name["kazinform-politics"].error or "")
    assert by_name["kazinform-ru"].new == 3 and report.errors == 2
    states = Store(load_config(cfg_path).data_dir).feed_states()
    assert states["tengrinews"].failures == 1 and states["tengrinews"].last_status == 500
    assert states["tengrinews"].last_error == "HTTP 500 Internal Server Error"


def test_permanent_redirect_moves_the_feed_and_gone_disables_it(
    server: FeedServer, cfg_path: Path
) -> None:
    setup(server, cfg_path)
    server.routes["/news.rss"].status = 301
    server.routes["/news.rss"].headers = {"Location": "/v2/news.rss"}
    server.add("/v2/news.rss", rss(TENGRI))
    server.add("/rss/politics.xml", status=410)
    run(cfg_path)
    states = Store(load_config(cfg_path).data_dir).feed_states()
    assert states["tengrinews"].url == server.url("/v2/news.rss")
    assert states["kazinform-politics"].disabled
    server.requests.clear()
    report = run(cfg_path)
    assert server.hits("/news.rss") == [] and len(server.hits("/v2/news.rss")) == 1
    assert server.hits("/rss/politics.xml") == []
    assert {f.name: f.status for f in report.feeds}["kazinform-politics"] == "skipped"


def test_retry_after_is_respected_across_runs_unless_forced(
    server: FeedServer, cfg_path: Path
) -> None:
    setup(server, cfg_path)
    server.add("/news.rss", status=429, headers={"Retry-After": "3600"})
    first = run(cfg_path, "tengrinews")
    assert first.feeds[0].status == "error" and first.feeds[0].http_status == 429
    server.requests.clear()
    second = run(cfg_path, "tengrinews")
    assert second.feeds[0].status == "skipped" and "not due" in (second.feeds[0].error or "")
    assert server.hits("/news.rss") == []
    run(cfg_path, "tengrinews", force=True)
    assert len(server.hits("/news.rss")) == 1


def test_cyrillic_encodings_over_http(server: FeedServer, cfg_path: Path) -> None:
    pravda = (CORPUS / "pravda_com_ua_windows-1251_2020.xml").read_bytes()
    koi8 = (CORPUS / "feedparser_koi8r_no-declaration.xml").read_bytes()
    server.add("/pravda.xml", pravda, headers={"Content-Type": "application/rss+xml"})
    server.add("/koi8.xml", koi8, headers={"Content-Type": "text/xml"})
    write_config(
        cfg_path,
        [
            {"name": "pravda", "url": server.url("/pravda.xml")},
            {"name": "koi8", "url": server.url("/koi8.xml")},
        ],
    )
    report = run(cfg_path)
    assert report.errors == 0 and report.new == 21
    titles = set(all_items(cfg_path))
    assert "Как пережить новогоднюю ночь" in titles
    assert any(t.startswith("День сердца") for t in titles)


def test_many_feeds_are_parsed_in_worker_processes(server: FeedServer, cfg_path: Path) -> None:
    feeds = []
    for n in range(6):
        items = [
            {
                "title": f"Новость {n}-{k}",
                "link": f"https://zakon.kz/{n}/{k}",
                "guid": f"{n}-{k}",
                "pubDate": "Tue, 24 Nov 2026 09:10:00 +0500",
            }
            for k in range(40)
        ]
        server.add(f"/f{n}.xml", rss(items))
        feeds.append({"name": f"f{n}", "url": server.url(f"/f{n}.xml")})
    write_config(cfg_path, feeds)
    report = run(cfg_path)
    assert report.new == 240 and report.errors == 0


def test_fetching_runs_only_a_little_ahead_of_parsing(
    server: FeedServer, cfg_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fast network every body used to be downloaded and wait, whole, for a parse
    worker (600 at once in the benchmark): now at most 2 x jobs + workers feeds are between
    the start of their fetch and the end of their parse."""
    import asyncio

    import kzfeed.update as update_mod

    feeds = []
    for n in range(30):
        items = [{"title": f"Новость {n}-{k}", "link": f"https://x.kz/{n}/{k}"} for k in range(5)]
        server.add(f"/w{n}.xml", rss(items))
        feeds.append({"name": f"w{n}", "url": server.url(f"/w{n}.xml")})
    write_config(cfg_path, feeds, jobs=2)
    waiting = [0, 0]  # now, most
    real = update_mod._Parsers.parse

    async def slow_parse(self: Any, *args: Any) -> Any:
        waiting[0] += 1
        waiting[1] = max(waiting)
        try:
            await asyncio.sleep(0.01)  # a parser slower than the network
            return await real(self, *args)
        finally:
            waiting[0] -= 1

    monkeypatch.setattr(update_mod._Parsers, "parse", slow_parse)
    report = run(cfg_path)
    assert report.new == 150 and report.errors == 0
    workers = min(os.cpu_count() or 1, 30)
    assert 2 <= waiting[1] <= 2 * 2 + workers


def test_retention_prunes_and_pruned_items_do_not_come_back(
    server: FeedServer, cfg_path: Path
) -> None:
    setup(server, cfg_path, retention_days=180)
    report = run(cfg_path)
    titles = set(all_items(cfg_path))
    # the 2023 item is older than retention: never stored
    assert not any(t.startswith("Алихан Смаилов") for t in titles)
    assert report.new == 4


def test_two_updates_at_once_lose_nothing(server: FeedServer, cfg_path: Path) -> None:
    setup(server, cfg_path, lock_timeout=30)
    server.routes["/rss/rus.xml"].delay = 2.0  # wide enough for a slow start of the other
    server.routes["/news.rss"].delay = 2.0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "update"]
    first = subprocess.Popen(
        [*cmd, "kazinform-ru"], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    second = subprocess.Popen(
        [*cmd, "tengrinews"], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    _out1, err1 = first.communicate(timeout=60)
    _out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert b"waiting for another kzfeed" in err1 + err2
    titles = set(all_items(cfg_path))
    assert "Снегопад ожидается на севере Казахстана" in titles
    assert "Нацбанк сохранил базовую ставку" in titles


def test_identity_does_not_depend_on_the_url_a_feed_was_fetched_from(
    server: FeedServer, cfg_path: Path
) -> None:
    """GUIDs like "4201567" are not resolved against the feed URL: a moved feed or a mirror
    carries the same items."""
    setup(server, cfg_path)
    run(cfg_path, "kazinform-ru")
    stored = all_items(cfg_path)
    assert stored["Нацбанк сохранил базовую ставку"]["guid"] == "4201544"
    before = {r["title"]: r["id"] for r in stored.values()}
    server.add("/mirror/rus.xml", rss(KAZINFORM, title="Kazinform mirror"))
    text = cfg_path.read_text(encoding="utf-8").replace("/rss/rus.xml", "/mirror/rus.xml")
    cfg_path.write_text(text, encoding="utf-8")
    report = run(cfg_path, "kazinform-ru")
    assert report.feeds[0].status == "ok" and (report.new, report.updated) == (0, 0)
    assert {r["title"]: r["id"] for r in all_items(cfg_path).values()} == before
