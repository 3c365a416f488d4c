"""Stories on the stored wire: grouped on update, shown once in `latest --stories`, every
version by `kzfeed story`, marked read together, and in JSON as "story"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kzfeed.cli import app

from .conftest import FeedServer, rss, write_config

# Tuesday 24 November 2026, Astana time (UTC+5)
KAZINFORM = [
    {
        "title": "Токаев провел переговоры с Мирзиёевым в Астане",
        "link": "https://www.inform.kz/ru/tokaev-mirziyoev_a4201567",
        "guid": "4201567",
        "pubDate": "Tue, 24 Nov 2026 09:10:00 +0500",
        "categories": "Политика",
        "description": "Президент Казахстана Касым-Жомарт Токаев и Президент Узбекистана "
        "Шавкат Мирзиёев обсудили торговлю, транзит и водные ресурсы.",
    },
    {
        "title": "Нацбанк сохранил базовую ставку на уровне 16,5%",
        "link": "https://www.inform.kz/ru/nacbank_a4201544",
        "guid": "4201544",
        "pubDate": "Tue, 24 Nov 2026 08:30:00 +0500",
        "categories": "Экономика",
        "description": "Национальный банк Казахстана сохранил базовую ставку 16,5% годовых.",
    },
    {
        "title": "Землетрясение магнитудой 4,5 произошло в Алматинской области",
        "link": "https://www.inform.kz/ru/quake-1_a4201500",
        "guid": "4201500",
        "pubDate": "Tue, 24 Nov 2026 06:00:00 +0500",
        "categories": "Происшествия",
        "description": "Землетрясение магнитудой 4,5 зарегистрировано в 120 км от Алматы.",
    },
]
TENGRI = [
    {
        "title": "Тоқаев и Мирзиёев обсудили торговлю и транзит",
        "link": "https://tengrinews.kz/kazakhstan_news/tokaev-mirziyoev-567/",
        "guid": "tengri-567",
        "pubDate": "Tue, 24 Nov 2026 10:40:00 +0500",
        "categories": "Казахстан",
        "description": "Касым-Жомарт Токаев и Шавкат Мирзиёев провели переговоры в Астане, "
        "обсудив торговлю и транзит.",
    },
    {
        "title": "Базовая ставка Нацбанка осталась на уровне 16,5%",
        "link": "https://tengrinews.kz/money/stavka-544/",
        "guid": "tengri-544",
        "pubDate": "Tue, 24 Nov 2026 08:45:00 +0500",
        "categories": "Экономика",
        "description": "Национальный банк сохранил базовую ставку на уровне 16,5%.",
    },
    {
        "title": "Землетрясение магнитудой 5,1 произошло в Жамбылской области",
        "link": "https://tengrinews.kz/events/quake-2/",
        "guid": "tengri-quake-2",
        "pubDate": "Wed, 25 Nov 2026 03:00:00 +0500",
        "categories": "Происшествия",
        "description": "Землетрясение магнитудой 5,1 зарегистрировано в 80 км от Тараза.",
    },
]
ASTANA_TIMES = [
    {
        "title": "Tokayev, Mirziyoyev hold talks in Astana on trade and transit",
        "link": "https://astanatimes.com/2026/11/tokayev-mirziyoyev-talks/",
        "guid": "at-1",
        "pubDate": "Tue, 24 Nov 2026 11:20:00 +0500",
        "categories": "Kazakhstan",
        "description": "President Kassym-Jomart Tokayev and President Shavkat Mirziyoyev "
        "discussed trade, transit and water in Astana.",
    },
]
ART = {
    "title": "В Алматы открылась выставка современного искусства",
    "link": "https://www.inform.kz/ru/art_a4201600",
    "guid": "4201600",
    "pubDate": "Tue, 24 Nov 2026 12:00:00 +0500",
    "categories": "Культура",
    "description": "В Государственном музее искусств открылась выставка молодых художников.",
}

runner = CliRunner()


def kz(*args: str, config: Path) -> Any:
    return runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)


@pytest.fixture
def wire(server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KZFEED_NOW", "2026-11-25T09:00:00+00:00")
    feeds = [
        {"name": "kazinform", "url": server.add("/kazinform.xml", rss(KAZINFORM)), "lang": "ru"},
        {
            "name": "tengrinews",
            "title": "Tengrinews",
            "url": server.add("/tengri.xml", rss(TENGRI, "Tengrinews")),
            "lang": "ru",
        },
        {
            "name": "astanatimes",
            "title": "The Astana Times",
            "url": server.add("/at.xml", rss(ASTANA_TIMES, "The Astana Times", "en")),
            "lang": "en",
        },
    ]
    config = write_config(
        tmp_path / "config.toml", feeds, allow_private=True, timezone="Asia/Almaty"
    )
    assert kz("update", config=config).exit_code == 0
    return config


def items(config: Path, *args: str) -> list[dict[str, Any]]:
    result = kz("latest", "--json", "-n", "50", *args, config=config)
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def story_of(found: list[dict[str, Any]], start: str) -> str:
    (match,) = [i for i in found if i["title"].startswith(start)]
    return str(match["story"])


def test_update_groups_each_event_once_and_keeps_look_alikes_apart(wire: Path) -> None:
    found = items(wire)
    assert len(found) == 7 and all(isinstance(i["story"], str) for i in found)
    talks = {story_of(found, t) for t in ("Токаев провел", "Тоқаев и", "Tokayev, Mirziyoyev")}
    rate = {story_of(found, t) for t in ("Нацбанк сохранил", "Базовая ставка")}
    assert len(talks) == 1 and len(rate) == 1 and talks != rate
    # the story's id is its first item's
    assert talks == {next(i["id"] for i in found if i["title"].startswith("Токаев провел"))}
    quakes = {
        story_of(found, t) for t in ("Землетрясение магнитудой 4,5", "Землетрясение магнитудой 5,1")
    }
    assert len(quakes) == 2  # two earthquakes, two stories


def test_stories_listing_shows_each_event_once_with_its_other_agencies(wire: Path) -> None:
    result = kz("latest", "--stories", config=wire)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("Мирзиёев") == 1  # the lead only: Kazinform's, the earliest
    assert "Токаев провел переговоры с Мирзиёевым" in out
    assert "09:10–11:20 · +2: Tengrinews, The Astana Times" in out
    assert "08:30–08:45 · +1: Tengrinews" in out
    assert out.count("Землетрясение") == 2
    shaped = items(wire, "--stories")
    assert len(shaped) == 4
    lead = next(i for i in shaped if "Мирзиёев" in i["title"])
    assert lead["sources"] == ["Tengrinews", "The Astana Times"]
    assert {v["feed"] for v in lead["versions"]} == {"tengrinews", "astanatimes"}
    plain = kz("latest", config=wire).stdout  # items, as before
    assert plain.count("Мирзиёев") == 2 and "+2:" not in plain


def test_preferred_feed_leads_the_story(wire: Path, server: FeedServer, tmp_path: Path) -> None:
    text = wire.read_text(encoding="utf-8").replace(
        "[settings]", '[settings]\nstories = true\npreferred_feeds = ["astanatimes"]'
    )
    wire.write_text(text, encoding="utf-8")
    out = kz("latest", config=wire).stdout
    assert "Tokayev, Mirziyoyev hold talks" in out and "Токаев провел" not in out
    assert "+2: Kazinform, Tengrinews" in out


def test_story_command_lists_every_version(wire: Path) -> None:
    found = items(wire)
    tengri = next(i for i in found if i["title"].startswith("Тоқаев и"))
    result = kz("story", tengri["id"][:10], "--json", config=wire)
    assert result.exit_code == 0, result.output
    versions = json.loads(result.stdout)
    assert [v["feed"] for v in versions] == ["kazinform", "tengrinews", "astanatimes"]
    shown = kz("story", tengri["id"][:10], config=wire).stdout
    assert "3 versions" in shown and "Tokayev, Mirziyoyev" in shown
    assert "Politics" not in shown  # no rubric column: the agencies get the room
    assert kz("story", "ffffffff", config=wire).exit_code == 1


def test_read_a_story_marks_every_version(wire: Path) -> None:
    found = items(wire)
    lead = next(i for i in found if i["title"].startswith("Токаев провел"))
    result = kz("read", "--story", lead["id"][:10], config=wire)
    assert result.exit_code == 0 and "3 items" in result.stdout
    after = items(wire)
    assert all(i["read"] for i in after if i["story"] == lead["story"])
    assert not any(i["read"] for i in after if i["story"] != lead["story"])
    assert kz("unread", lead["id"][:10], config=wire).stdout.count("1 item") == 1


def test_a_later_update_joins_the_story_and_changes_no_earlier_one(
    wire: Path, server: FeedServer
) -> None:
    before = {i["id"]: i["story"] for i in items(wire)}
    later = {
        "title": "Мирзиёев и Токаев подписали соглашение о транзите",
        "link": "https://www.inform.kz/ru/tokaev-mirziyoev-2_a4201599",
        "guid": "4201599",
        "pubDate": "Tue, 24 Nov 2026 13:00:00 +0500",
        "categories": "Политика",
        "description": "Президенты Казахстана и Узбекистана Токаев и Мирзиёев подписали "
        "соглашение о транзите после переговоров в Астане.",
    }
    server.add("/kazinform.xml", rss([later, ART, *KAZINFORM]))
    assert kz("update", config=wire).exit_code == 0
    after = {i["id"]: i for i in items(wire)}
    assert all(after[i]["story"] == s for i, s in before.items())
    new = next(i for i in after.values() if i["title"].startswith("Мирзиёев и Токаев"))
    talks = next(i for i in after.values() if i["title"].startswith("Токаев провел"))
    assert new["story"] == talks["story"]
    art = next(i for i in after.values() if "выставка" in i["title"])
    assert art["story"] == art["id"]


def test_updates_after_the_first_keep_joining_one_story_and_the_index_knows_it(
    wire: Path, server: FeedServer
) -> None:
    """A version an update puts in an older story is indexed under that story: the next
    update finds the story through it, and `latest --stories` lists every version (the
    term index kept such an item under its own id, so a third update's version began a
    story of its own — found in review)."""
    import sqlite3

    def version(n: int, hour: int, title: str) -> dict[str, str]:
        return {
            "title": title,
            "link": f"https://tengrinews.kz/kazakhstan_news/tokaev-mirziyoev-{n}/",
            "guid": f"tengri-talks-{n}",
            "pubDate": f"Tue, 24 Nov 2026 {hour}:00:00 +0500",
            "categories": "Казахстан",
            "description": "Касым-Жомарт Токаев и Шавкат Мирзиёев провели переговоры в "
            "Астане, обсудив торговлю, транзит и водные ресурсы.",
        }

    second = version(2, 12, "Токаев и Мирзиёев обсудили торговлю, транзит и воду")
    third = version(3, 14, "Токаев и Мирзиёев договорились о торговле и транзите")
    server.add("/tengri.xml", rss([second, *TENGRI], "Tengrinews"))
    assert kz("update", config=wire).exit_code == 0
    server.add("/tengri.xml", rss([third, second, *TENGRI], "Tengrinews"))
    assert kz("update", config=wire).exit_code == 0
    found = items(wire, "--items")
    talks = story_of(found, "Токаев провел")
    assert story_of(found, "Токаев и Мирзиёев обсудили торговлю, транзит") == talks
    assert story_of(found, "Токаев и Мирзиёев договорились") == talks
    index = sqlite3.connect(wire.parent / "data" / "terms.sqlite")
    try:
        grp = dict(index.execute("SELECT id, grp FROM items").fetchall())
    finally:
        index.close()
    assert grp == {i["id"]: i["story"] for i in found}
    listing = json.loads(kz("latest", "--stories", "--json", config=wire).stdout)
    (line,) = [i for i in listing if i["story"] == talks]
    members = {i["id"] for i in found if i["story"] == talks}
    assert {line["id"], *(v["id"] for v in line["versions"])} == members and len(members) >= 5


def test_the_digest_opens_with_the_stories_most_agencies_carried(wire: Path) -> None:
    result = kz("digest", "--date", "2026-11-24", "-F", "json", config=wire)
    assert result.exit_code == 0, result.output
    (day,) = json.loads(result.stdout)["groups"]
    # the talks (three agencies, 09:10) before the rate decision (two, 08:30)
    assert [t["title"][:12] for t in day["top"]] == ["Токаев прове", "Нацбанк сохр"]
    talks = day["top"][0]
    assert [a["source"] for a in talks["also_in"]] == ["Tengrinews", "The Astana Times"]
    listed = [i["title"] for s in day["rubrics"] for i in s["items"]]
    assert len(listed) == 3  # stories: the talks, the rate, the earthquake of that day


def test_matches_are_highlighted_on_a_terminal_only(wire: Path) -> None:
    import sys

    from .test_cli import _env, run_in_pty

    env = {**_env(), "TERM": "xterm-256color", "KZFEED_NOW": "2026-11-25T09:00:00+00:00"}
    env.pop("COLUMNS", None)
    env.pop("NO_COLOR", None)
    base = [sys.executable, "-m", "kzfeed", "--config", str(wire)]
    code, screen = run_in_pty([*base, "latest", "--search", "Tokayev"], env, size=(24, 100))
    assert code == 0, screen
    mark = "\x1b[1;30;43m"
    assert f"{mark}Токаев\x1b[0m" in screen and f"{mark}Тоқаев\x1b[0m" in screen
    assert f"{mark}Tokayev\x1b[0m" in screen
    found = items(wire)
    rate = next(i for i in found if i["title"].startswith("Нацбанк"))
    code, shown = run_in_pty(
        [*base, "show", rate["id"][:10], "--search", "ставка", "--no-pager"], env, size=(24, 100)
    )
    assert code == 0 and f"{mark}ставку\x1b[0m" in shown
    piped = kz("latest", "--search", "Tokayev", config=wire).stdout
    assert "\x1b[" not in piped and "Tokayev" in piped  # plain when piped


def test_hostile_figures_and_a_failing_grouping_never_cost_the_update(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = [
        {
            "title": f"Курс {'9' * 400} трлн и {'1' + '0' * 320},5 млн",
            "link": f"https://example.kz/h{n}",
            "guid": f"h{n}",
            "pubDate": "Tue, 24 Nov 2026 09:00:00 +0500",
            "description": f"Сумма {'9' * 400} тенге, 0,{'0' * 400}1 процента.",
        }
        for n in range(2)
    ]
    config = write_config(
        tmp_path / "config.toml",
        [{"name": "h", "url": server.add("/h.xml", rss(hostile))}],
        allow_private=True,
    )
    result = runner.invoke(app, ["--config", str(config), "update", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"] == []
    found = items(config)
    assert len(found) == 2 and len({i["story"] for i in found}) == 1  # near-copies: one

    import kzfeed.grouping

    def broken(*args: Any, **kwargs: Any) -> dict[str, str]:
        raise RuntimeError("a bug nothing foresaw")

    monkeypatch.setattr(kzfeed.grouping, "group", broken)
    server.add("/h.xml", rss([{**hostile[0], "guid": "h9", "link": "https://example.kz/h9"}]))
    result = runner.invoke(app, ["--config", str(config), "update"])
    assert result.exit_code == 0 and "grouping stories" in result.stderr
    assert "Traceback" not in result.output
    after = items(config)
    assert len(after) == 3 and all(i["story"] for i in after)  # stored, a story of its own
