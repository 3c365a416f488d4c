"""The full-screen reader, headless through Textual's pilot and on a real pty: what it
lists, what its keys do, that what it marks is the store's state, that a full text and an
update run in workers while the screen goes on, and that feed text stays plain text."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList, Static
from typer.testing import CliRunner

from kzfeed.browse import FIRST_ROWS, WireReader, key_descriptions
from kzfeed.cli import app
from kzfeed.config import load_config
from kzfeed.dates import from_iso
from kzfeed.model import story_of
from kzfeed.store import Store

from .conftest import FIXTURES, REPO, FeedServer, rss, wire_item, write_config
from .test_cli import _env, run_in_pty

NOW = from_iso("2026-11-24T12:00:00+00:00")  # 17:00 in Almaty
runner = CliRunner()
HTML = FIXTURES / "html"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """The bundled examples, updated, in Russian (a fresh copy per test: the reader
    writes read marks)."""
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns(".kzfeed-demo"))
    cfg = root / "offline.toml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace('data_dir = ".kzfeed-demo"', 'data_dir = "data"'),
        encoding="utf-8",
    )
    assert runner.invoke(app, ["--config", str(cfg), "update"]).exit_code == 0
    return cfg


def drive(
    config: Path,
    script: Callable[[Any, WireReader], Awaitable[None]],
    size: tuple[int, int] = (100, 30),
) -> WireReader:
    """Run the reader headless on ``config`` and play ``script`` on it."""
    reader = WireReader(load_config(config), now=NOW)

    async def main() -> None:
        async with reader.run_test(size=size) as pilot:
            await pilot.pause()
            await script(pilot, reader)

    asyncio.run(main())
    return reader


def headlines(reader: WireReader) -> list[str]:
    options = reader.query_one("#headlines", OptionList)
    return [str(options.get_option_at_index(n).prompt) for n in range(options.option_count)]


def story_text(reader: WireReader) -> str:
    """The story pane's content as text (laid out 90 cells wide)."""
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(width=90, record=True, file=sink)
        console.print(reader.query_one("#story-body", Static).content)
    return console.export_text()


def shown(reader: WireReader, selector: str) -> str:
    """What a widget puts on the screen, line by line (after Textual has rendered it)."""
    from textual.geometry import Region

    widget = reader.query_one(selector)
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(line.text for line in lines)


def status(reader: WireReader) -> str:
    return str(reader.query_one("#status", Static).content)


def stored(config: Path, item_id: str) -> dict[str, Any]:
    record = Store(load_config(config).data_dir).get(item_id)
    assert record is not None
    return record


def test_the_list_is_by_local_day_and_a_story_opens_marks_read_and_closes(examples: Path) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        rows = headlines(reader)
        seen["rows"] = rows
        assert rows[0] == "Сегодня, 24 ноября 2026"
        assert any(r.startswith("Вчера, 23 ноября 2026") for r in rows)
        first = reader.rows[1]
        assert first is not None and not first.get("read")
        seen["id"] = first["id"]
        await pilot.press("enter")
        assert reader.current is not None and reader.current["id"] == first["id"]
        assert reader.query_one("#story").display and not reader.query_one("#headlines").display
        seen["story"] = story_text(reader)
        await reader.workers.wait_for_complete()
        await pilot.press("q")  # back to the list, not out
        assert reader.current is None and reader.query_one("#headlines").display
        assert reader.is_running
        await pilot.press("q")  # on the list: quit

    reader = drive(examples, script)
    assert not reader.is_running and reader.return_code in (0, None)
    # 23 stories in the examples, under two day headings (and one 2023 day)
    assert sum(1 for r in reader.rows if r is not None) == 23
    assert "источник   Tengrinews" in seen["story"] and "ссылка" in seen["story"]
    assert "Синоптики РГП «Казгидромет»" in seen["story"]
    # what the reader read is read for the CLI too
    assert stored(examples, seen["id"])["read"] is True
    unread = runner.invoke(app, ["--config", str(examples), "latest", "--unread", "--json"])
    assert seen["id"] not in {r["id"] for r in json.loads(unread.stdout)}


def test_keys_next_unread_toggle_read_grouping_search_and_the_sidebar(examples: Path) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        await pilot.press("n")  # the first unread story opens
        first = reader.current
        assert first is not None
        await pilot.press("n")  # and the next one after it
        second = reader.current
        assert second is not None and second["id"] != first["id"]
        await pilot.press("r")  # read -> unread again
        await reader.workers.wait_for_complete()
        seen["toggled"] = second["id"]
        await pilot.press("escape")
        await pilot.press("g")  # by rubric: sections with totals
        seen["by_rubric"] = headlines(reader)
        await pilot.press("g")  # by feed
        seen["by_feed"] = headlines(reader)
        await pilot.press("g")  # back to days
        await pilot.press("slash")
        await pilot.press(*"Токаев")
        await pilot.press("enter")
        seen["found"] = [r["title"] for r in reader.rows if r is not None]
        await pilot.press("slash")
        await pilot.press("ctrl+u", "enter")  # an empty search shows everything again
        await pilot.press("tab")  # to the sidebar
        await reader.workers.wait_for_complete()  # its counts, counted in a thread
        await pilot.pause()
        sidebar = reader.query_one("#sidebar", OptionList)
        seen["focus"] = reader.focused is sidebar
        seen["sidebar"] = [
            str(sidebar.get_option_at_index(n).prompt) for n in range(sidebar.option_count)
        ]
        sport = next(n for n, key in enumerate(reader.sidebar_keys) if key == ("rubric", "sport"))
        sidebar.highlighted = sport
        await pilot.press("enter")
        seen["sport"] = {r["rubrics"][0] for r in reader.rows if r is not None}
        await pilot.press("question_mark")
        seen["help"] = str(reader.screen.query_one(Static).content)
        await pilot.press("escape")

    drive(examples, script)
    assert stored(examples, seen["toggled"])["read"] is False
    assert "Политика · 5" in seen["by_rubric"] and "Tengrinews · 6" in seen["by_feed"]
    assert sorted(seen["found"]) == [  # the same talks in ru, kk and en
        "Tokayev, Mirziyoyev Discuss Water and Energy Cooperation in Astana",
        "Токаев провел переговоры с президентом Узбекистана в Астане",
        "Тоқаев Өзбекстан Президентімен Астанада келіссөз жүргізді",
    ]
    assert seen["focus"] and seen["sidebar"][0] == "Все новости"
    assert "Спорт 2" in seen["sidebar"] and "Tengrinews 6" in seen["sidebar"]
    assert seen["sport"] == {"sport"}
    assert "следующая непрочитанная" in seen["help"] and "обновить в фоне" in seen["help"]


def test_feed_text_is_shown_as_plain_text(tmp_path: Path) -> None:
    """Textual markup, escape sequences and bidi overrides in a feed reach the screen as
    the characters they are, or not at all."""
    feed = tmp_path / "hostile.xml"
    feed.write_text(
        rss(
            [
                {
                    "title": "[bold red]Срочно[/] [@click=app.quit]нажми[/] \u202eтекст",
                    "link": "https://example.kz/a",
                    "guid": "h-1",
                    "pubDate": "Tue, 24 Nov 2026 09:20:00 +0500",
                    "description": "[link=https://evil.example]здесь[/link] \x1b[31mкрасный",
                }
            ],
            title="[blink]Агентство[/]",
        ),
        encoding="utf-8",
    )
    cfg = write_config(tmp_path / "config.toml", [{"name": "hostile", "url": str(feed)}])
    assert runner.invoke(app, ["--config", str(cfg), "update"]).exit_code == 0
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["row"] = shown(reader, "#headlines")
        await pilot.press("enter")
        await pilot.pause()
        seen["story"] = shown(reader, "#story-body")
        assert reader.is_running  # [@click=app.quit] did nothing

    drive(cfg, script, size=(160, 30))
    assert "[bold red]Срочно[/] [@click=app.quit]нажми[/]" in seen["row"]  # as it is
    assert "\u202e" not in seen["row"] and "\x1b" not in seen["row"]
    assert "[link=https://evil.example]здесь[/link]" in seen["story"]
    assert "\x1b" not in seen["story"] and "\u202e" not in seen["story"]


def test_full_text_is_fetched_by_a_worker_and_kept(server: FeedServer, cfg_path: Path) -> None:
    article = server.add(
        "/ru/smailov-mishustin_a4031927",
        (HTML / "kazinform-article-seed.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
        delay=0.3,
    )
    server.add(
        "/rss.xml",
        rss(
            [
                {
                    "title": "Алихан Смаилов и Михаил Мишустин обсудили вопросы сотрудничества",
                    "link": article,
                    "guid": "4031927",
                    "pubDate": "Tue, 24 Nov 2026 09:20:00 +0500",
                    "description": "Алматы (Алма-Ата) - 3 февраля /KZinform/.",
                }
            ]
        ),
    )
    write_config(cfg_path, [{"name": "kazinform-ru", "url": server.url("/rss.xml")}])
    assert runner.invoke(app, ["--config", str(cfg_path), "update"]).exit_code == 0
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        await pilot.press("enter")
        await pilot.press("f")
        # the fetch takes 0.3 s: the screen answers meanwhile
        seen["waiting"] = status(reader)
        await pilot.press("j", "k")
        await reader.workers.wait_for_complete()
        await pilot.pause()
        seen["story"] = story_text(reader)
        seen["id"] = reader.current["id"] if reader.current else None

    drive(cfg_path, script)
    assert seen["waiting"] == "fetching the full text…"
    assert "Стороны обсудили широкий круг вопросов" in seen["story"]
    assert "Версия для печати" not in seen["story"]
    assert "Стороны обсудили широкий круг вопросов" in stored(cfg_path, seen["id"])["full_text"]
    assert len(server.hits("/ru/smailov-mishustin_a4031927")) == 1


def test_u_updates_in_the_background_and_new_stories_are_marked(
    server: FeedServer, cfg_path: Path
) -> None:
    old = {
        "title": "Нацбанк сохранил базовую ставку на уровне 16,5%",
        "link": "https://www.inform.kz/ru/a1",
        "guid": "a1",
        "pubDate": "Tue, 24 Nov 2026 08:30:00 +0500",
    }
    new = {
        "title": "Токаев провел переговоры с президентом Узбекистана",
        "link": "https://www.inform.kz/ru/a2",
        "guid": "a2",
        "pubDate": "Tue, 24 Nov 2026 09:10:00 +0500",
    }
    server.add("/rss.xml", rss([old]))
    write_config(cfg_path, [{"name": "kazinform-ru", "url": server.url("/rss.xml")}])
    assert runner.invoke(app, ["--config", str(cfg_path), "update"]).exit_code == 0
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        assert [r["title"] for r in reader.rows if r is not None] == [old["title"]]
        server.add("/rss.xml", rss([new, old]), delay=0.3)
        await pilot.press("u")
        await pilot.press("enter")  # reading goes on while the update runs
        seen["reading"] = reader.current is not None
        await pilot.press("escape")
        await reader.workers.wait_for_complete()
        await pilot.pause()
        seen["rows"] = headlines(reader)
        seen["status"] = status(reader)

    drive(cfg_path, script)
    assert seen["reading"]
    rows = [r for r in seen["rows"] if "Токаев" in r or "Нацбанк" in r]
    assert rows[0].startswith("● ") and "Токаев" in rows[0]  # brought by the update
    assert rows[1].startswith("  ") and "Нацбанк" in rows[1]
    assert seen["status"] == "1 new, 0 updated, 0 failed"


def test_the_keys_are_described_in_each_language() -> None:
    for lang in ("ru", "kk", "en"):
        rows = key_descriptions(lang)
        assert len(rows) == 14 and len({key for key, _ in rows}) == 14
    assert ("n", "следующая непрочитанная") in key_descriptions("ru")
    assert ("s", "по строке на сюжет или каждая новость") in key_descriptions("ru")
    assert ("u", "фонда жаңарту") in key_descriptions("kk")


def test_plain_kzfeed_on_a_terminal_opens_the_reader_and_q_restores_the_terminal(
    examples: Path,
) -> None:
    env = {**_env(), "TERM": "xterm-256color", "KZFEED_NOW": NOW.isoformat()}
    env.pop("COLUMNS", None)
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(examples)]
    code, screen = run_in_pty(cmd, env, size=(24, 80), keys=[(1.5, "q")], timeout=30)
    assert code == 0, screen
    # the alternate screen was entered and left again: the terminal is as it was
    assert screen.rfind("\x1b[?1049l") > screen.rfind("\x1b[?1049h") >= 0
    assert "Сегодня, 24 ноября 2026" in screen and "Tengrinews" in screen
    # piped, plain kzfeed prints the command list instead
    piped = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert piped.returncode == 0 and "browse" in piped.stdout and "latest" in piped.stdout


def test_the_list_is_read_a_partition_at_a_time_and_scrolling_reads_more(tmp_path: Path) -> None:
    """40 days of 30 stories: the first screen reads only the newest days; moving to the
    end of the list reads the next ones, until the store ends."""
    from kzfeed import dedup

    cfg = write_config(tmp_path / "config.toml", [{"name": "f", "url": "feeds/f.xml"}])
    items = []
    for day in range(40):
        for n in range(30):
            number = day * 100 + n + 1
            items.append(
                wire_item(
                    number,
                    (NOW - timedelta(days=day, minutes=n)).isoformat(),
                    title=f"Новость {day}-{n}",
                    url=f"https://www.inform.kz/ru/a{number:016x}",
                )
            )
    store = Store(load_config(cfg).data_dir)
    with store.writer() as writer:
        writer.apply(dedup.plan(items, writer.view()))
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["first"] = sum(1 for r in reader.rows if r is not None)
        for _ in range(60):
            await pilot.press("end")
            await pilot.pause()
            if reader.pages is None:
                break
        seen["last"] = sum(1 for r in reader.rows if r is not None)
        seen["days"] = sum(1 for r in reader.rows if r is None)

    drive(cfg, script)
    assert 120 <= seen["first"] < 200  # a few days, not 1,200 stories
    assert seen["last"] == 1200 and seen["days"] == 40


def test_a_narrow_terminal_gives_the_headlines_the_room(examples: Path) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen[80] = shown(reader, "#headlines").splitlines()[1]
        seen["sidebar"] = reader.query_one("#sidebar").size.width
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        seen[120] = shown(reader, "#headlines").splitlines()[1]
        seen["wide sidebar"] = reader.query_one("#sidebar").size.width

    drive(examples, script, size=(80, 24))
    assert seen["sidebar"] < seen["wide sidebar"]
    assert "Снегопад и гололед ожидаются" in seen[80]  # ~40 cells of title at 80 columns
    assert "Снегопад и гололед ожидаются на севере Казахстана" in seen[120]


def test_a_damaged_database_is_one_line_and_exit_1_with_the_terminal_restored(
    examples: Path,
) -> None:
    data = load_config(examples).data_dir
    (data / "state.json").write_bytes(b'{"feeds": {"1": ')  # cut mid-write by something else
    env = {**_env(), "TERM": "xterm-256color", "KZFEED_NOW": NOW.isoformat(), "LC_ALL": "C"}
    env.pop("COLUMNS", None)
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(examples), "browse"]
    code, screen = run_in_pty(cmd, env, size=(24, 80), timeout=30)
    assert code == 1, screen
    tail = screen[screen.rfind("\x1b[?1049l") :]  # after the reader left the screen
    assert "kzfeed: ошибка: " in tail and "state.json" in tail and "Traceback" not in screen


def test_what_the_reader_marked_stays_marked_when_the_list_is_read_again(examples: Path) -> None:
    """Marks are written by a worker with its own store: the list read again (grouping,
    search, a resize) must not show the store copy the reader opened with."""
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["before"] = reader.wire.unread_counts()[1]["tengrinews"]
        first = reader.rows[1]
        assert first is not None
        seen["id"] = first["id"]
        await pilot.press("enter")  # opened: read
        await reader.workers.wait_for_complete()
        await pilot.press("escape", "g", "g", "g")  # the list read three times over
        await pilot.pause()
        row = next(r for r in reader.rows if r is not None and r["id"] == seen["id"])
        seen["row read"] = row.get("read")
        seen["after"] = reader.wire.unread_counts()[1]["tengrinews"]
        reader.query_one("#headlines", OptionList).highlighted = 0
        await pilot.press("n")
        seen["next"] = reader.current["id"] if reader.current else None

    drive(examples, script)
    assert seen["row read"] is True and seen["after"] == seen["before"] - 1
    assert seen["next"] != seen["id"]


def test_marks_made_while_the_lock_is_held_are_written_in_order(examples: Path) -> None:
    """Five r presses while another kzfeed holds the lock: the last one wins in the store."""
    data = load_config(examples).data_dir
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; from filelock import FileLock; "
                f"lock = FileLock({str(data / 'kzfeed.lock')!r}); lock.acquire(); "
                "print('held', flush=True); time.sleep(1.0)",
            ],
            stdout=subprocess.PIPE,
            env=_env(),
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        record = reader.rows[1]
        assert record is not None
        for _ in range(5):
            await pilot.press("r")
            await pilot.pause(0.02)
        holder.wait()
        await reader.workers.wait_for_complete()
        seen["id"], seen["ui"] = record["id"], record.get("read")

    drive(examples, script)
    assert seen["ui"] is True  # unread -> read -> unread -> read -> unread -> read
    assert stored(examples, seen["id"])["read"] is True


def test_damaged_and_doubled_partitions_met_while_scrolling(examples: Path) -> None:
    """An item left in two partitions (a commit cut between two writes) is listed once; a
    damaged older partition, met while scrolling, ends the reader with the error kept."""
    data = load_config(examples).data_dir
    import orjson

    newest = orjson.loads((data / "items" / "2026-11-24.json").read_bytes())
    older = orjson.loads((data / "items" / "2026-11-23.json").read_bytes())
    key, value = next(iter(newest["items"].items()))
    older["items"][key] = value
    (data / "items" / "2026-11-23.json").write_bytes(orjson.dumps(older))
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        ids = [r["id"] for r in reader.rows if r is not None]
        seen["doubled"] = len(ids) - len(set(ids))
        seen["count"] = len(ids)

    drive(examples, script)
    assert seen["doubled"] == 0 and seen["count"] == 23
    oldest = sorted((data / "items").glob("*.json"))[0]
    oldest.write_bytes(oldest.read_bytes()[:20])

    async def scroll(pilot: Any, reader: WireReader) -> None:
        reader.pages = reader.wire.pages(reader.selection)  # as if more were left to read
        reader.load_more(1000)

    reader = drive(examples, scroll)
    assert reader.failure is not None and oldest.name in str(reader.failure)
    assert not reader.is_running


def test_s_lists_one_row_per_story_and_opening_it_reads_every_version(examples: Path) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["items"] = sum(1 for r in reader.rows if r is not None)
        await pilot.press("s")
        rows = headlines(reader)
        seen["stories"] = sum(1 for r in reader.rows if r is not None)
        talks = next(n for n, r in enumerate(rows) if "Токаев провел переговоры" in r)
        seen["row"] = rows[talks]
        assert not any("Тоқаев Өзбекстан" in r for r in rows)  # the Kazakh version: in it
        reader.query_one("#headlines", OptionList).highlighted = talks
        await pilot.press("enter")
        seen["story"] = story_text(reader)
        seen["story_id"] = reader.current["story"] if reader.current else None
        await reader.workers.wait_for_complete()
        await pilot.press("escape", "s")  # every item again
        seen["again"] = sum(1 for r in reader.rows if r is not None)
        seen["status"] = status(reader)

    drive(examples, script)
    assert seen["items"] == 23 and seen["again"] == 23 and seen["stories"] == 18
    assert seen["row"].endswith("+3")  # The Astana Times, Kazinform (қаз), Kazinform · Политика
    assert "Также сообщили" in seen["story"] and "The Astana Times" in seen["story"]
    assert "Тоқаев Өзбекстан Президентімен" in seen["story"]
    versions = [
        r
        for r in json.loads(
            runner.invoke(app, ["--config", str(examples), "latest", "--json", "-n", "99"]).stdout
        )
        if r["story"] == seen["story_id"]
    ]
    assert len(versions) == 3 and all(r["read"] for r in versions)
    assert "23" in seen["status"]


def test_a_story_begun_on_an_older_day_opens_whole(
    tmp_path: Path, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first version on a page the list has not read yet (pages of one item here): the
    list leads the story as `latest --stories` does (its first version: a page of items
    collapsed alone led it by the later one, and placed it there), and the story pane
    shows the whole story, read through the term index."""
    import kzfeed.reading

    from .conftest import rss, write_config

    monkeypatch.setattr(kzfeed.reading, "PAGE_ROWS", 1)

    early = {
        "title": "Токаев провел переговоры с Мирзиёевым в Астане",
        "link": "https://www.inform.kz/ru/a1",
        "guid": "a1",
        "pubDate": "Mon, 23 Nov 2026 23:30:00 +0500",  # 18:30 UTC on the 23rd
        "description": "Президенты Казахстана и Узбекистана Токаев и Мирзиёев провели переговоры.",
    }
    late = {
        "title": "Тоқаев и Мирзиёев обсудили транзит и торговлю",
        "link": "https://tengrinews.kz/a2/",
        "guid": "a2",
        "pubDate": "Tue, 24 Nov 2026 10:00:00 +0500",  # the 24th (UTC)
        "description": "Токаев и Мирзиёев провели переговоры в Астане.",
    }
    config = write_config(
        tmp_path / "config.toml",
        [
            {"name": "kazinform", "url": server.add("/k.xml", rss([early]))},
            {"name": "tengrinews", "title": "Tengrinews", "url": server.add("/t.xml", rss([late]))},
        ],
        allow_private=True,
        language="ru",
        stories=True,
    )
    assert runner.invoke(app, ["--config", str(config), "update"]).exit_code == 0
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        rows = [r for r in reader.rows if r is not None]
        seen["rows"] = [r["title"] for r in rows]
        first = next(n for n, r in enumerate(reader.rows) if r is not None)
        reader.query_one("#headlines", OptionList).highlighted = first
        await pilot.press("enter")
        seen["story"] = story_text(reader)
        await reader.workers.wait_for_complete()

    stories = json.loads(
        runner.invoke(app, ["--config", str(config), "latest", "--stories", "--json"]).stdout
    )
    drive(config, script)
    assert [s["title"] for s in stories] == [early["title"]]
    assert seen["rows"] == [early["title"]]  # once, led as `latest --stories` leads it
    assert "Также сообщили" in seen["story"] and "Tengrinews" in seen["story"]
    listed = json.loads(
        runner.invoke(app, ["--config", str(config), "latest", "--items", "--json"]).stdout
    )
    assert len(listed) == 2 and all(r["read"] for r in listed)


def news(n: int, source: str = "Tengrinews", title: str | None = None) -> Any:
    """Item ``n`` of feed "f": the newest first, ten minutes apart."""
    return wire_item(
        n + 1,
        (NOW - timedelta(minutes=10 * n + 30)).isoformat(),
        source=source,
        title=title or f"Новость {n}",
        url=f"https://tengrinews.kz/{n}/",
        summary="Лид.",
    )


def stories_config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "config.toml", [{"name": "f", "url": "feeds/f.xml"}], stories=True
    )


def paged_wire(tmp_path: Path, split: tuple[int, int]) -> tuple[Path, list[Any]]:
    """600 items ten minutes apart (newest first), stories on; the items at ``split`` (150
    to a page) are one story: the first joins the second's."""
    from kzfeed import dedup

    cfg = stories_config(tmp_path)
    items = [news(n) for n in range(600)]
    with Store(load_config(cfg).data_dir).writer() as writer:
        writer.apply(dedup.plan(items, writer.view()))
        writer.set_fields(items[split[0]].id, story=items[split[1]].id)
    return cfg, items


def stories_listed(cfg: Path, n: int) -> list[tuple[str, list[str]]]:
    """(lead id, the other versions' ids) of `latest --stories -n N --json`, in order."""
    out = runner.invoke(app, ["--config", str(cfg), "latest", "--stories", "-n", str(n), "--json"])
    assert out.exit_code == 0, out.output
    return [(s["id"], [v["id"] for v in s["versions"]]) for s in json.loads(out.stdout)]


def test_the_stories_are_listed_as_latest_lists_them_whatever_the_pages(tmp_path: Path) -> None:
    """Listing stories, the reader shows every story once, led and ordered as `latest
    --stories` shows them, a story whose versions lie 150 items apart included: led by its
    first version and placed there, not by its version on the first page of items (a page
    collapsed alone did that, counting only that page's versions)."""
    cfg, items = paged_wire(tmp_path, (151, 149))
    expected = stories_listed(cfg, 600)
    assert (items[151].id, [items[149].id]) in expected
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["first"] = [r["id"] for r in reader.rows if r is not None]
        seen["status"] = status(reader)
        while reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        seen["all"] = [r["id"] for r in reader.rows if r is not None]
        seen["versions"] = [
            [v["id"] for v in reader.story_lines[i].versions if v["id"] != i] for i in seen["all"]
        ]

    drive(cfg, script)
    assert seen["status"].endswith(" …")  # more to come: the list holds the first pages
    assert seen["first"] == [lead for lead, _v in expected[: len(seen["first"])]]
    assert items[149].id not in seen["first"]  # a version, not a story of its own
    assert list(zip(seen["all"], seen["versions"], strict=True)) == expected


def test_a_story_whose_versions_lie_pages_apart_opens_and_is_read_whole(tmp_path: Path) -> None:
    """Opened, such a story shows both versions and both are marked read (found in review:
    a version on a page the list had not read was never shown, nor read)."""
    cfg, items = paged_wire(tmp_path, (151, 149))
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        while items[151].id not in reader.listed and reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        row = next(n for n, r in enumerate(reader.rows) if r and r["id"] == items[151].id)
        reader.query_one("#headlines", OptionList).highlighted = row
        await pilot.press("enter")
        seen["story"] = story_text(reader)
        await reader.workers.wait_for_complete()

    drive(cfg, script)
    assert "Новость 149" in seen["story"]
    store = Store(load_config(cfg).data_dir)
    assert [store.get(items[n].id)["read"] for n in (149, 151)] == [True, True]  # type: ignore[index]


def test_the_story_on_screen_is_found_again_when_another_version_leads_it(
    tmp_path: Path,
) -> None:
    """An update brings the story a version from a preferred feed, which now leads it at
    the top: the list finds the story on screen by its other version.  A story that left
    the list (read, listing unread ones) is looked for only until the list is past it,
    not through the whole store (found in review: it read all 600)."""
    from dataclasses import replace as dc_replace

    from kzfeed import dedup
    from kzfeed.reading import Wire

    cfg, items = paged_wire(tmp_path, (149, 151))
    text = cfg.read_text(encoding="utf-8").replace(
        "[settings]\n", '[settings]\npreferred_feeds = ["k"]\n', 1
    )
    cfg.write_text(text + '\n[[feeds]]\nname = "k"\nurl = "feeds/k.xml"\n', encoding="utf-8")
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        story = items[151].id  # 149 joined it: 151 leads, as the earlier
        while story not in reader.listed and reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        newest = dc_replace(
            items[0],
            id="00000000000f0000",
            feed="k",
            source="Kazinform",
            feed_key="00000000000f0000",
            link_key="l-newest",
            title="Новость свежая",
            published=NOW.isoformat(),
        )
        with Store(load_config(cfg).data_dir).writer() as writer:
            writer.apply(dedup.plan([newest], writer.view()))
            writer.set_fields(newest.id, story=story)
        reader.wire = Wire(load_config(cfg), now=NOW)
        reader.reload(keep=story)
        highlighted = reader.query_one("#headlines", OptionList).highlighted
        seen["at"] = reader.rows[highlighted]["id"] if highlighted is not None else None  # type: ignore[index]
        seen["rows"] = sum(r is not None for r in reader.rows)
        # listing unread stories, one that is read now leaves the list
        reader.selection = dc_replace(reader.selection, unread=True)
        reader.reload()
        while items[300].id not in reader.listed and reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        with Store(load_config(cfg).data_dir).writer() as writer:
            writer.set_fields(items[300].id, read=True)
        reader.wire = Wire(load_config(cfg), now=NOW)
        reader.reload(keep=items[300].id)
        seen["gone"] = items[300].id in reader.listed
        seen["read"] = sum(r is not None for r in reader.rows)

    drive(cfg, script)
    assert seen["at"] == "00000000000f0000"  # the story's row, led by the preferred feed now
    assert seen["rows"] < 600
    assert not seen["gone"] and 300 <= seen["read"] < 450


def test_the_story_on_screen_is_found_again_when_an_older_version_leads_it(
    tmp_path: Path,
) -> None:
    """An update files a version published long before under the story on screen: the
    story now stands at that version, pages further down, and the list reads on to it —
    not stopping where the old lead was, since it met the story on the way."""
    from dataclasses import replace as dc_replace

    from kzfeed import dedup
    from kzfeed.reading import Wire

    cfg, items = paged_wire(tmp_path, (149, 151))
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        story = items[151].id
        while story not in reader.listed and reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        older = dc_replace(
            items[400],
            id="00000000000e0000",
            feed_key="00000000000e0000",
            link_key="l-older",
            title="Новость давняя",
            published=(NOW - timedelta(minutes=4001)).isoformat(),
        )
        with Store(load_config(cfg).data_dir).writer() as writer:
            writer.apply(dedup.plan([older], writer.view()))
            writer.set_fields(older.id, story=story)
        reader.wire = Wire(load_config(cfg), now=NOW)
        reader.reload(keep=story)
        highlighted = reader.query_one("#headlines", OptionList).highlighted
        seen["at"] = reader.rows[highlighted]["id"] if highlighted is not None else None  # type: ignore[index]

    drive(cfg, script)
    assert seen["at"] == "00000000000e0000"


def test_a_damaged_day_met_only_through_the_index_falls_back_to_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A story's version on an old day that is damaged: the index leads there from the
    first page, and the reader lists the stories of each page of items instead of leaving
    (the sidebar's counts, which read that day whole, are left out here)."""
    from kzfeed.reading import Wire

    monkeypatch.setattr(Wire, "unread_counts", lambda self, days=7: ({}, {}))
    cfg, items = paged_wire(tmp_path, (10, 590))  # 10 joins 590's story, four days older
    data = load_config(cfg).data_dir
    oldest = sorted((data / "items").glob("*.json"))[0]
    oldest.write_bytes(oldest.read_bytes()[:-40] + b"garbage")
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["rows"] = [r["id"] for r in reader.rows if r is not None]
        seen["paged"] = reader.story_pages is None and reader.pages is not None

    reader = drive(cfg, script)
    assert reader.failure is None and seen["paged"]
    assert seen["rows"][:3] == [items[0].id, items[1].id, items[2].id]


def damaged_oldest_day(cfg: Path) -> None:
    data = load_config(cfg).data_dir
    oldest = sorted((data / "items").glob("*.json"))[0]
    oldest.write_bytes(oldest.read_bytes()[:-40] + b"garbage")


def in_order(reader: WireReader) -> tuple[list[str], list[str]]:
    """The day headings shown, and the rows' publication times (leads: newest first)."""
    shown = headlines(reader)
    days = [s for s in shown if not s.startswith("  ")]
    return days, [r["published"] for r in reader.rows if r is not None]


def test_the_index_failing_in_the_middle_of_a_load_leaves_the_list_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index leads to a damaged day on the second page of stories the first screen
    reads: the first page's rows are on the screen, each option its row's (found in
    review: they were counted as rows but never shown, so the options after them were
    one page off their rows and Enter opened another story), then the stories of the
    pages of items from where the stories had got to, in order."""
    from kzfeed.reading import Wire

    monkeypatch.setattr(Wire, "unread_counts", lambda self, days=7: ({}, {}))
    cfg, items = paged_wire(tmp_path, (100, 590))
    damaged_oldest_day(cfg)
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        options = reader.query_one("#headlines", OptionList)
        seen["paged"] = reader.story_pages is None
        seen["rows"] = [r["id"] if r else None for r in reader.rows]
        seen["options"] = [options.get_option_at_index(n).id for n in range(options.option_count)]
        seen["order"] = in_order(reader)

    reader = drive(cfg, script)
    assert reader.failure is None and seen["paged"]
    assert seen["options"] == seen["rows"]
    assert seen["rows"][1:4] == [items[0].id, items[1].id, items[2].id]
    days, published = seen["order"]
    assert len(days) == len(set(days)) and published == sorted(published, reverse=True)


def test_the_index_failing_while_scrolling_goes_on_from_where_the_list_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrolled to an item the index files under no story of the store's: the list goes on
    with the stories of the pages of items from where it had got to — every story listed
    once, none lost in the change (the lines made since the last page are listed first),
    in order, not from the newest again under a second "Today" (found in review)."""
    import sqlite3

    from kzfeed.reading import Wire

    monkeypatch.setattr(Wire, "unread_counts", lambda self, days=7: ({}, {}))
    cfg, items = paged_wire(tmp_path, (30, 200))
    db = sqlite3.connect(load_config(cfg).data_dir / "terms.sqlite")
    with db:
        db.execute("UPDATE items SET grp = 'elsewhere' WHERE id = ?", (items[150].id,))
    db.close()
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["stories"] = reader.story_pages is not None
        reader.load_more(FIRST_ROWS)
        seen["paged"] = reader.story_pages is None
        while reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        seen["order"] = in_order(reader)
        seen["rows"] = [story_of(r) for r in reader.rows if r is not None]

    reader = drive(cfg, script)
    assert reader.failure is None and seen["stories"] and seen["paged"]
    days, published = seen["order"]
    assert len(days) == len(set(days)) and published == sorted(published, reverse=True)
    assert sorted(seen["rows"]) == sorted({story_of(i.to_record()) for i in items} - {items[30].id})


def test_a_version_stored_beside_the_reader_joins_its_story_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update beside the reader (cron, watch) stores two late versions of a story the
    list has met but not listed yet (on days it has not read): scrolling on, the list
    meets one, looks the story up again, and lists the story once, with every version
    and led by its first now — through the index, in order (found in review: the list
    fell back to pages of items from the newest, out of order)."""
    from dataclasses import replace as dc_replace

    from kzfeed import dedup
    from kzfeed.reading import Wire

    monkeypatch.setattr(Wire, "unread_counts", lambda self, days=7: ({}, {}))
    cfg, items = paged_wire(tmp_path, (30, 400))  # 30 joins 400: met early, led by 400
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        late = [
            dc_replace(
                items[0],
                id=f"00000000000{key}0000",
                feed_key=f"00000000000{key}0000",
                link_key=f"l-late{key}",
                title=f"Новость запоздалая {key}",
                published=(NOW - timedelta(minutes=10 * before + 35)).isoformat(),
            )
            for key, before in (("d", 350), ("e", 450))
        ]
        with Store(load_config(cfg).data_dir).writer() as writer:
            writer.apply(dedup.plan(late, writer.view()))
            for version in late:
                writer.set_fields(version.id, story=items[400].id)
        while reader.pages is not None:
            reader.load_more(FIRST_ROWS)
        seen["order"] = in_order(reader)
        seen["listed"] = set(reader.listed)
        line = reader.story_lines.get("00000000000e0000")
        seen["versions"] = {v["id"] for v in line.versions} if line else set()

    drive(cfg, script)
    days, published = seen["order"]
    assert len(days) == len(set(days)) and published == sorted(published, reverse=True)
    assert seen["versions"] == {
        items[30].id,
        items[400].id,
        "00000000000d0000",
        "00000000000e0000",
    }
    assert seen["listed"].isdisjoint({items[30].id, items[400].id, "00000000000d0000"})


def test_s_looks_for_the_story_on_screen_only_so_far(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item highlighted in the list of items whose story began long before: `s` lists
    stories, each placed by its first version, and the list looks for that story only as
    far as KEEP_ROWS rows (it would read on, in the screen's thread, to where the story
    began: seconds on a busy wire — found in review), then shows the top."""
    import kzfeed.browse

    monkeypatch.setattr(kzfeed.browse, "KEEP_ROWS", 240)
    cfg, items = paged_wire(tmp_path, (5, 500))  # 5 joins 500's story, 80 hours before
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        await pilot.press("s")  # every item
        row = next(n for n, r in enumerate(reader.rows) if r and r["id"] == items[5].id)
        reader.query_one("#headlines", OptionList).highlighted = row
        await pilot.press("s")  # stories again, looking for item 5's
        seen["rows"] = sum(r is not None for r in reader.rows)
        highlighted = reader.query_one("#headlines", OptionList).highlighted
        seen["at"] = reader.rows[highlighted]["id"] if highlighted is not None else None  # type: ignore[index]

    drive(cfg, script)
    assert seen["rows"] < 500 and seen["at"] == items[0].id


def test_the_sidebar_is_counted_in_a_thread_while_the_list_is_live(
    examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unread counts read 7 days whole: a thread counts them (on opening, and after
    marks), and the list is on the screen and answers keys meanwhile."""
    import threading

    from kzfeed.reading import Wire

    counting = threading.Event()
    go_on = threading.Event()
    threads: list[bool] = []
    counts = Wire.unread_counts

    def slow(self: Wire, days: int = 7) -> Any:
        threads.append(threading.current_thread() is not threading.main_thread())
        counting.set()
        go_on.wait(10)
        return counts(self, days)

    monkeypatch.setattr(Wire, "unread_counts", slow)
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        for _ in range(1000):  # the loop goes on while the thread starts counting
            if counting.is_set():
                break
            await asyncio.sleep(0.01)
        assert counting.is_set()
        seen["listed"] = sum(1 for r in reader.rows if r is not None)
        await pilot.press("n")  # the list answers while the counting goes on
        seen["opened"] = reader.current is not None
        sidebar = reader.query_one("#sidebar", OptionList)
        seen["uncounted"] = str(sidebar.get_option_at_index(2).prompt)
        go_on.set()
        await reader.workers.wait_for_complete()
        await pilot.pause()
        seen["counted"] = [
            str(sidebar.get_option_at_index(n).prompt) for n in range(sidebar.option_count)
        ]

    drive(examples, script)
    assert seen["listed"] == 23 and seen["opened"]
    assert seen["uncounted"] == "Ленты"  # no rubric counted yet: the feeds' heading follows
    assert "Спорт 2" in seen["counted"] and threads and all(threads)


def test_a_story_opens_without_its_muted_versions(tmp_path: Path) -> None:
    """Opened whole through the term index, a story shows (and marks read) only the
    versions the list would: a version muted by a rule stays out unless --all (found in
    review)."""
    from kzfeed import dedup

    cfg = stories_config(tmp_path)
    shown, muted = news(0, title="Видимая версия"), news(1, "Spamwire", "Заглушённая")
    with Store(load_config(cfg).data_dir).writer() as writer:
        writer.apply(dedup.plan([shown, muted], writer.view()))
        writer.set_fields(shown.id, story=muted.id)
        writer.set_fields(muted.id, hidden=True)
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        seen["listed"] = [r["title"] for r in reader.rows if r is not None]
        await pilot.press("enter")
        seen["story"] = story_text(reader)
        await reader.workers.wait_for_complete()

    drive(cfg, script)
    assert seen["listed"] == ["Видимая версия"]
    assert "Видимая версия" in seen["story"]
    assert "Заглушённая" not in seen["story"] and "Spamwire" not in seen["story"]
    assert Store(load_config(cfg).data_dir).get(muted.id)["read"] is False  # type: ignore[index]


def test_the_sidebar_keeps_its_highlight_when_the_counts_come(examples: Path) -> None:
    """Counts come at any time (on opening, after marks): the row the user is on stays
    highlighted, wherever the new rubric rows moved it (found in review: it was lost)."""
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        await reader.workers.wait_for_complete()
        await pilot.pause()
        sidebar = reader.query_one("#sidebar", OptionList)
        feed = ("feed", "tengrinews")
        sidebar.highlighted = reader.sidebar_keys.index(feed)
        reader.counts = ({}, {})  # as on opening: no rubric counted yet
        reader.show_counts()
        seen["before"] = reader.sidebar_keys[sidebar.highlighted or 0]
        reader.count_unread()
        await reader.workers.wait_for_complete()
        await pilot.pause()
        seen["after"] = reader.sidebar_keys[sidebar.highlighted or 0]
        seen["moved"] = reader.sidebar_keys.index(feed)

    drive(examples, script)
    assert seen["before"] == seen["after"] == ("feed", "tengrinews")
    assert seen["moved"] > 3  # the rubrics' rows came in above it


def test_the_status_line_follows_the_pages_read_but_keeps_a_message(tmp_path: Path) -> None:
    """More pages read (scrolling, `n`): the status says how many are listed now, and
    that more are left or not; a message on it (an update's, an error) is not overwritten."""
    from kzfeed.browse import FIRST_ROWS

    cfg, _items = paged_wire(tmp_path, (151, 149))
    seen: list[str] = []

    async def script(pilot: Any, reader: WireReader) -> None:
        seen.append(status(reader))
        reader.load_more(FIRST_ROWS)
        seen.append(status(reader))
        reader.say("обновление: 3 новых")
        reader.load_more(FIRST_ROWS)
        seen.append(status(reader))
        reader.reload()
        while reader.pages is not None:
            reader.load_more(1000)
        seen.append(status(reader))

    drive(cfg, script)
    first, more, message, everything = seen
    assert first.endswith(" …") and more.endswith(" …") and first != more
    assert message == "обновление: 3 новых"
    assert not everything.endswith(" …") and everything.split()[0] == "599"


def test_a_section_chosen_stands_even_if_the_counts_move_its_row(examples: Path) -> None:
    """Enter on a feed in the sidebar, then counts arrive and move its row before the
    choice is handled: the feed chosen is listed, not the row now at its old place."""
    seen: dict[str, Any] = {}

    async def script(pilot: Any, reader: WireReader) -> None:
        await reader.workers.wait_for_complete()
        await pilot.pause()
        sidebar = reader.query_one("#sidebar", OptionList)
        reader.counts = ({}, {})  # no rubric counted: the feed's row is near the top
        reader.show_counts()
        row = reader.sidebar_keys.index(("feed", "tengrinews"))
        chosen = OptionList.OptionSelected(sidebar, sidebar.get_option_at_index(row), row)
        reader.count_unread()  # the rubrics' rows come in above it
        await reader.workers.wait_for_complete()
        await pilot.pause()
        seen["moved"] = reader.sidebar_keys.index(("feed", "tengrinews")) != row
        reader.choose_section(chosen)
        seen["feeds"] = reader.selection.feeds

    drive(examples, script)
    assert seen["moved"] and seen["feeds"] == ("tengrinews",)


def test_a_sidebar_with_a_scrollbar_keeps_each_feeds_count(examples: Path) -> None:
    """More rows than the sidebar's height bring a scrollbar: the names give it their two
    cells, and the unread counts stay on the screen (seen in tmux at 80 columns: the
    count was cut to "…"); without one, the names keep them."""
    seen: dict[str, Any] = {}

    def rows(reader: WireReader) -> tuple[bool, int, list[str]]:
        sidebar = reader.query_one("#sidebar", OptionList)
        prompts = [
            str(sidebar.get_option_at_index(n).prompt)
            for n, key in enumerate(reader.sidebar_keys)
            if key is not None
        ]
        room = sidebar.scrollable_content_region.width
        return sidebar.show_vertical_scrollbar, room, prompts

    async def script(pilot: Any, reader: WireReader) -> None:
        await reader.workers.wait_for_complete()
        await pilot.pause()
        seen["tall"] = rows(reader)
        await pilot.resize_terminal(80, 12)
        await pilot.pause()
        await pilot.pause()
        seen["short"] = rows(reader)

    drive(examples, script, size=(80, 40))
    for height, bar in (("tall", False), ("short", True)):
        scrolls, room, prompts = seen[height]
        assert scrolls is bar
        bad = [p for p in prompts if len(p) > room or not p[-1].isdigit()]
        assert not bad, (height, room, bad)
    assert seen["tall"][1] == seen["short"][1] + 2  # the scrollbar's two cells
