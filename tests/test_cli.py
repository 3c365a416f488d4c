"""The CLI through typer's CliRunner and as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kzfeed.cli import app

from .conftest import REPO, FeedServer, rss, write_config
from .test_update import KAZINFORM, POLITICS, TENGRI

runner = CliRunner()


def kz(*args: str, config: Path | None = None) -> Any:
    argv = (["--config", str(config)] if config else []) + list(args)
    return runner.invoke(app, argv, catch_exceptions=False)


@pytest.fixture
def wired(server: FeedServer, cfg_path: Path) -> Path:
    """A config with three agency feeds on the loopback server, updated once."""
    server.add("/rss/rus.xml", rss(KAZINFORM), etag='"k-1"')
    server.add("/rss/politics.xml", rss(POLITICS))
    server.add("/news.rss", rss(TENGRI, title="Tengrinews.kz"))
    server.add(
        "/kk.xml",
        rss(
            [
                {
                    "title": "Тоқаев Өзбекстан Президентімен келіссөз жүргізді",
                    "link": "https://www.inform.kz/kz/tokaev_a4201570",
                    "guid": "kz-1",
                    "pubDate": "Tue, 24 Nov 2026 09:20:00 +0500",
                    "categories": "Саясат",
                }
            ],
            lang="kk",
        ),
    )
    write_config(
        cfg_path,
        [
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
            {"name": "tengrinews", "url": server.url("/news.rss")},
            {"name": "kazinform-kk", "url": server.url("/kk.xml"), "lang": "kk"},
        ],
        timezone="Asia/Almaty",
        language="ru",
    )
    result = kz("update", config=cfg_path)
    assert result.exit_code == 0, result.output
    return cfg_path


def latest_json(cfg: Path, *args: str) -> list[dict[str, Any]]:
    result = kz("latest", "--json", "-n", "100", *args, config=cfg)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [i["title"] for i in items]


# ------------------------------------------------------------------ config commands


def test_init_writes_the_example_and_refuses_to_overwrite(cfg_path: Path) -> None:
    result = kz("init", config=cfg_path)
    assert result.exit_code == 0
    text = cfg_path.read_text(encoding="utf-8")
    assert text == (REPO / "config.example.toml").read_text(encoding="utf-8")
    cfg_path.write_text(text + "# mine\n", encoding="utf-8")
    again = kz("init", config=cfg_path)
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert cfg_path.read_text(encoding="utf-8").endswith("# mine\n")


def test_example_config_is_valid_and_lists_the_agencies(cfg_path: Path) -> None:
    kz("init", config=cfg_path)
    result = kz("feeds", "--json", config=cfg_path)
    assert result.exit_code == 0
    names = {row["name"] for row in json.loads(result.stdout)}
    for expected in (
        "kazinform-ru",
        "kazinform-kk",
        "kazinform-en",
        "tengrinews",
        "zakon",
        "kursiv",
        "astanatimes",
        "azattyq-ru",
        "sputnik-kz",
        "tass",
        "ria",
        "interfax",
        "lenta",
        "rbc",
        "kommersant",
    ):
        assert expected in names


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    result = kz("latest", config=tmp_path / "nope.toml")
    assert result.exit_code == 1
    assert "kzfeed init" in result.stderr and "nope.toml" in result.stderr
    assert "Traceback" not in result.output


def test_config_resolution_env_then_platform_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_cfg = write_config(tmp_path / "env.toml", [{"name": "a", "url": "https://t.kz/rss"}])
    monkeypatch.setenv("KZFEED_CONFIG", str(env_cfg))
    assert json.loads(kz("feeds", "--json").stdout)[0]["name"] == "a"
    monkeypatch.delenv("KZFEED_CONFIG")
    result = kz("init")
    assert result.exit_code == 0
    assert str(tmp_path / "xdg-config" / "kzfeed" / "config.toml") in result.stdout


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[settings]\njobs = 0\n", "settings.jobs: must be between 1 and 64"),
        ('[settings]\ntimezone = "Mars/Olympus"\n', "settings.timezone: unknown timezone"),
        ('[[feeds]]\nname = "a"\n', "feeds[0] (a).url: missing"),
        ('[[feeds]]\nname = "a"\nurl = "javascript:alert(1)"\n', "feeds[0] (a).url"),
        ('[[feeds]]\nname = "a"\nurl = "https://t.kz"\nrubric = "горoскоп"\n', "rubric"),
        (
            '[[feeds]]\nname = "a"\nurl = "https://t.kz"\n[[feeds]]\nname = "a"\nurl = "https://u.kz"\n',
            "feeds[1].name: 'a' is used by another feed",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://t.kz"\ntype = "html"\npreset = "nope"\n',
            "unknown preset",
        ),
        ("[settings\n", "not valid TOML"),
    ],
)
def test_invalid_config_names_the_file_the_key_and_the_fault(
    cfg_path: Path, body: str, message: str
) -> None:
    cfg_path.write_text(body, encoding="utf-8")
    result = kz("feeds", config=cfg_path)
    assert result.exit_code == 1
    assert str(cfg_path) in result.stderr and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_add_and_remove_keep_comments_and_layout(server: FeedServer, cfg_path: Path) -> None:
    kz("init", config=cfg_path)
    original = cfg_path.read_text(encoding="utf-8")
    url = server.add("/zakon.xml", rss(TENGRI, title="Zakon.kz"))
    result = kz(
        "add", url, "--name", "zakon-test", "--rubric", "Қоғам", "--lang", "ru", config=cfg_path
    )
    assert result.exit_code == 0, result.output
    text = cfg_path.read_text(encoding="utf-8")
    assert text.startswith(original)
    assert (
        'name = "zakon-test"' in text
        and 'rubric = "society"' in text
        and 'title = "Zakon.kz"' in text
    )
    assert kz("remove", "zakon-test", config=cfg_path).exit_code == 0
    assert cfg_path.read_text(encoding="utf-8").strip() == original.strip()
    missing = kz("remove", "zakon-test", config=cfg_path)
    assert missing.exit_code == 1 and "нет ленты с именем" in missing.stderr


def test_add_finds_feed_links_on_an_html_page(server: FeedServer, cfg_path: Path) -> None:
    write_config(cfg_path, [])
    server.add("/rss/rus.xml", rss(KAZINFORM))
    server.add("/rss/kaz.xml", rss(KAZINFORM))
    one = server.add(
        "/ru",
        '<html><head><link rel="alternate" type="application/rss+xml" '
        'title="Kazinform RSS" href="/rss/rus.xml"></head><body></body></html>',
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    result = kz("add", one, config=cfg_path)
    assert result.exit_code == 0, result.output
    assert server.url("/rss/rus.xml") in cfg_path.read_text(encoding="utf-8")
    two = server.add(
        "/both",
        "<html><head>"
        '<link rel="alternate" type="application/rss+xml" title="RU" href="/rss/rus.xml">'
        '<link rel="alternate" type="application/atom+xml" title="KZ" href="/rss/kaz.xml">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        "</head></html>",
        headers={"Content-Type": "text/html"},
    )
    ask = kz("add", two, "--name", "kz", config=cfg_path)
    assert ask.exit_code == 2 and "--pick" in ask.stderr and "/rss/kaz.xml" in ask.stderr
    assert "javascript" not in ask.stderr
    picked = kz("add", two, "--name", "kz", "--pick", "2", config=cfg_path)
    assert picked.exit_code == 0
    assert f'url = "{server.url("/rss/kaz.xml")}"' in cfg_path.read_text(encoding="utf-8")
    nothing = server.add(
        "/plain", "<html><body>no feeds</body></html>", headers={"Content-Type": "text/html"}
    )
    none = kz("add", nothing, config=cfg_path)
    assert none.exit_code == 1 and "links to none" in none.stderr


@pytest.mark.parametrize("url", ["javascript:alert(1)", "exec:rm -rf /", "data:text/xml,<rss/>"])
def test_add_refuses_non_http_urls(cfg_path: Path, url: str) -> None:
    write_config(cfg_path, [])
    result = kz("add", url, config=cfg_path)
    assert result.exit_code == 2 and "only http" in result.stderr


# ------------------------------------------------------------------ update / feeds


def test_update_json_shape_and_exit_3_when_a_feed_fails(server: FeedServer, cfg_path: Path) -> None:
    server.add("/rss/rus.xml", rss(KAZINFORM))
    write_config(
        cfg_path,
        [
            {"name": "kazinform-ru", "url": server.url("/rss/rus.xml")},
            {"name": "broken", "url": server.url("/missing.xml")},
        ],
        language="ru",
    )
    result = kz("update", "--json", config=cfg_path)
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert (data["new"], data["updated"], data["errors"]) == (3, 0, 1)
    assert data["feeds"] == [
        {
            "name": "kazinform-ru",
            "status": "ok",
            "http_status": 200,
            "new": 3,
            "updated": 0,
            "error": None,
            "empty_entries": 0,
            "unchanged_entries": 0,
            "note": None,
        },
        {
            "name": "broken",
            "status": "error",
            "http_status": 404,
            "new": 0,
            "updated": 0,
            "error": "HTTP 404 Not Found",
            "empty_entries": 0,
            "unchanged_entries": 0,
            "note": None,
        },
    ]
    assert "с ошибкой: 1 лента; остальные сохранены" in result.stderr  # settings.language ru


def test_update_summary_is_a_line_per_feed_in_aligned_columns(
    server: FeedServer, cfg_path: Path
) -> None:
    server.add("/rss/rus.xml", rss(KAZINFORM))
    write_config(
        cfg_path,
        [
            {"name": "kazinform-ru", "url": server.url("/rss/rus.xml")},
            {"name": "gone-feed", "url": server.url("/missing.xml")},
        ],
        language="ru",
    )
    first = kz("update", config=cfg_path)
    again = kz("update", config=cfg_path)
    for result, status, http in ((first, "ок", "200"), (again, "не изменилась", "200")):
        lines = result.stdout.splitlines()
        # the interface speaks settings.language (ru by default)
        head = next(n for n, line in enumerate(lines) if line.split()[:2] == ["лента", "статус"])
        header, rule, ok_row, bad_row = lines[head : head + 4]
        assert set(rule.strip()) == {"─"}
        words = len(status.split())
        assert ok_row.split()[: 2 + words] == ["kazinform-ru", *status.split(), http]
        assert bad_row.split()[:6] == ["gone-feed", "ошибка", "404", "0", "0", "HTTP"]
        assert bad_row.rstrip().endswith("HTTP 404 Not Found")
        # columns line up by display width: "http" is right-aligned over the codes
        for row, code in ((ok_row, http), (bad_row, "404")):
            assert row.index(code) + len(code) == header.index("http") + len("http")
        assert row.index("ошибка") == header.index("статус")
        assert lines[head + 4].startswith("новых:") and "сбоев: 1" in lines[head + 4]
    assert "новых: 3, изменено: 0, сбоев: 1" in first.stdout
    assert "новых: 0, изменено: 0, сбоев: 1" in again.stdout


def test_update_unknown_feed_is_exit_1(wired: Path) -> None:
    result = kz("update", "nope", config=wired)
    assert result.exit_code == 1 and "нет ленты с именем 'nope'" in result.stderr


def test_feeds_json_health(wired: Path, server: FeedServer) -> None:
    rows = {r["name"]: r for r in json.loads(kz("feeds", "--json", config=wired).stdout)}
    row = rows["kazinform-ru"]
    assert set(row) >= {
        "name",
        "url",
        "title",
        "last_fetch",
        "last_status",
        "last_error",
        "failures",
        "items",
        "newest",
        "disabled",
    }
    assert row["last_status"] == 200 and row["failures"] == 0 and row["items"] == 3
    assert row["newest"] == "2026-11-24T04:10:00+00:00" and row["title"] == "Kazinform"
    assert rows["kazinform-politics"]["items"] == 2  # one merged story + its own
    human = kz("feeds", config=wired)
    assert human.exit_code == 0 and "kazinform-politics" in human.stdout


# ------------------------------------------------------------------ reading


def test_latest_default_view_groups_by_local_day(wired: Path) -> None:
    result = kz("latest", config=wired)
    assert result.exit_code == 0
    out = result.stdout
    assert "24 ноября 2026" in out and "3 февраля 2023" in out
    assert out.index("24 ноября 2026") < out.index("3 февраля 2023")
    assert "09:10" in out and "Kazinform" in out and "Политика" in out
    assert out.count("Токаев провел переговоры") == 1


def test_latest_json_filters(wired: Path) -> None:
    everything = latest_json(wired)
    assert len(everything) == 6
    published = [i["published"] for i in everything]
    assert published == sorted(published, reverse=True)
    assert set(everything[0]) == {
        "id",
        "feed",
        "source",
        "title",
        "url",
        "published",
        "date_estimated",
        "rubrics",
        "categories",
        "lang",
        "summary",
        "read",
        "also_in",
        "story",
    }
    assert titles(latest_json(wired, "--rubric", "Саясат", "--lang", "kk")) == [
        "Тоқаев Өзбекстан Президентімен келіссөз жүргізді"
    ]
    assert len(latest_json(wired, "--rubric", "economy")) == 1
    assert len(latest_json(wired, "--rubric", "ЭКОНОМИКА", "--rubric", "society")) == 2
    # --feed matches stories merged into also_in
    politics = titles(latest_json(wired, "--feed", "kazinform-politics"))
    assert sorted(politics) == [
        "Сенат ратифицировал соглашение",
        "Токаев провел переговоры с президентом Узбекистана",
    ]
    assert titles(latest_json(wired, "--since", "2023-02-03", "--until", "2023-02-03")) == [
        "Алихан Смаилов и Михаил Мишустин обсудили вопросы сотрудничества Казахстана и России"
    ]
    assert len(latest_json(wired, "--until", "2026-11-23")) == 2
    assert titles(latest_json(wired, "--search", "СНЕГОПАД")) == [
        "Снегопад ожидается на севере Казахстана"
    ]
    # Kazakh letters fold to their Russian look-alikes: both spellings find both stories
    both = sorted(
        [
            "Тоқаев Өзбекстан Президентімен келіссөз жүргізді",
            "Токаев провел переговоры с президентом Узбекистана",
        ]
    )
    assert sorted(titles(latest_json(wired, "--search", "тоқаев"))) == both
    assert sorted(titles(latest_json(wired, "--search", "токаев"))) == both
    assert titles(latest_json(wired, "--search", '"провел переговоры" -Тоқаев')) == []
    # any word form, and the Kazakh story through its word for talks (келіссөз)
    assert sorted(titles(latest_json(wired, "--search", "переговоров"))) == both
    assert len(latest_json(wired, "-n", "2")) == 2


def test_search_treats_yo_as_ye(server: FeedServer, cfg_path: Path) -> None:
    server.add(
        "/t.xml",
        rss([{"title": "Актёры театра получили награды", "link": "https://t.kz/1", "guid": "1"}]),
    )
    write_config(cfg_path, [{"name": "t", "url": server.url("/t.xml")}])
    kz("update", config=cfg_path)
    assert len(latest_json(cfg_path, "--search", "актеры")) == 1
    assert len(latest_json(cfg_path, "--search", "АКТЁРЫ")) == 1


def test_latest_jsonl_and_usage_errors(wired: Path) -> None:
    result = kz("latest", "--jsonl", "-n", "3", config=wired)
    lines = result.stdout.strip().split("\n")
    assert len(lines) == 3 and all(json.loads(line)["id"] for line in lines)
    assert kz("latest", "--group", "weekday", config=wired).exit_code == 2
    bad = kz("latest", "--rubric", "гороскоп", config=wired)
    assert bad.exit_code == 2 and "неизвестная рубрика" in bad.stderr
    assert kz("latest", "--since", "someday", config=wired).exit_code == 2
    assert kz("latest", "--feed", "nope", config=wired).exit_code == 2
    assert kz("latest", "--no-such-option", config=wired).exit_code == 2


def test_latest_group_rubric_and_feed(wired: Path) -> None:
    by_rubric = kz("latest", "--group", "rubric", config=wired).stdout
    assert by_rubric.index("Политика") < by_rubric.index("Общество") < by_rubric.index("Экономика")
    by_feed = kz("latest", "--group", "feed", config=wired).stdout
    assert "Kazinform" in by_feed and "Tengrinews.kz" in by_feed


def test_rubrics_json(wired: Path) -> None:
    data = json.loads(kz("rubrics", "--json", config=wired).stdout)
    assert data[0] == {"rubric": "politics", "label": "Политика", "count": 4}
    assert {"rubric": "economy", "label": "Экономика", "count": 1} in data
    assert sum(r["count"] for r in data) == 6


def test_show_by_prefix_ambiguous_and_unknown(wired: Path) -> None:
    items = latest_json(wired)
    talks = next(i for i in items if i["title"].startswith("Токаев"))
    data = json.loads(kz("show", talks["id"][:10], "--json", config=wired).stdout)
    assert data["id"] == talks["id"] and data["also_in"][0]["feed"] == "kazinform-politics"
    human = kz("show", talks["id"][:10], config=wired)
    assert human.exit_code == 0
    assert "Глава государства провел переговоры." in human.stdout
    assert "2026-11-24 09:10" in human.stdout and "Политика" in human.stdout
    # a one-character prefix shared by several ids is ambiguous and lists them
    ids = [i["id"] for i in items]
    shared = next(c for c in "0123456789abcdef" if sum(i.startswith(c) for i in ids) > 1)
    amb = kz("show", shared, config=wired)
    assert amb.exit_code == 1 and "неоднозначен" in amb.stderr
    assert all(i in amb.stderr for i in ids if i.startswith(shared))
    unknown = kz("show", "ffffffffffffffff", config=wired)
    assert unknown.exit_code == 1 and "нет новости с id" in unknown.stderr


def test_read_and_unread(wired: Path) -> None:
    first = latest_json(wired)[0]
    assert kz("read", first["id"][:12], config=wired).exit_code == 0
    assert first["id"] not in [i["id"] for i in latest_json(wired, "--unread")]
    assert kz("unread", first["id"], config=wired).exit_code == 0
    assert first["id"] in [i["id"] for i in latest_json(wired, "--unread")]


def test_remove_purge_drops_items(wired: Path) -> None:
    assert kz("remove", "tengrinews", "--purge", config=wired).exit_code == 0
    assert "Снегопад ожидается на севере Казахстана" not in titles(latest_json(wired))
    assert kz("remove", "kazinform-politics", "--purge", config=wired).exit_code == 0
    talks = next(i for i in latest_json(wired) if i["title"].startswith("Токаев"))
    assert talks["also_in"] == []


def test_hostile_feed_text_never_reaches_the_terminal_as_control(
    server: FeedServer, cfg_path: Path
) -> None:
    hostile = "[bold red]Жирный[/] :smile: \x1b]8;;http://evil\x07ссылка\x1b]8;;\x07 \x9b2J \u202eперевёрнуто"
    server.add(
        "/evil.xml",
        rss(
            [
                {
                    "title": hostile,
                    "link": "https://t.kz/1",
                    "guid": "1",
                    "description": "[link=http://evil]клик[/link] \x1b[31mкрасный",
                }
            ]
        ),
    )
    write_config(cfg_path, [{"name": "evil", "url": server.url("/evil.xml")}])
    kz("update", config=cfg_path)
    for args in (["latest"], ["show", latest_json(cfg_path)[0]["id"]]):
        out = kz(*args, config=cfg_path).stdout
        assert "[bold red]Жирный[/]" in out and ":smile:" in out
        assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\x07" not in out


# ------------------------------------------------------------------ as a subprocess


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_offline_example_runs_as_a_subprocess(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "examples", examples, ignore=shutil.ignore_patterns(".kzfeed-demo"))
    config = examples / "offline.toml"
    up = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--config", str(config), "update"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert up.returncode == 0, up.stderr
    assert "сбоев: 0" in up.stdout
    out = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--config", str(config), "latest", "--json", "-n", "500"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    items = json.loads(out.stdout)
    assert len(items) == 23
    langs = {i["lang"] for i in items}
    assert langs == {"ru", "kk", "en"}
    merged = [i for i in items if i["also_in"]]
    assert {i["feed"] for i in merged} == {"kazinform-ru"}
    assert any(i["source"] == "Интерфакс" for i in items)  # the cp1251 feed


@pytest.mark.parametrize("argv", [["--help"], ["latest", "-n", "5"], ["show", "abc"], ["feeds"]])
def test_reading_commands_do_not_import_httpx_or_feedparser(wired: Path, argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from kzfeed.cli import main\n"
        f"sys.argv = ['kzfeed', '--config', {str(wired)!r}, *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('httpx', 'feedparser', 'kzfeed.fetch', 'kzfeed.parse') if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert "HEAVY=\n" in result.stderr, result.stderr


def test_no_traceback_for_a_corrupt_database(wired: Path) -> None:
    data = max((wired.parent / "data" / "items").glob("*.json"))
    data.write_bytes(b"{not json")
    result = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--config", str(wired), "latest"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and str(data) in result.stderr
    assert data.read_bytes() == b"{not json"


def run_in_pty(
    argv: list[str],
    env: dict[str, str],
    timeout: float = 60,
    size: tuple[int, int] | None = None,
    keys: list[tuple[float, str]] | None = None,
    foreground: bool = False,
) -> tuple[int, str]:
    """Run a command on a pseudo-terminal (so Rich sees a terminal); return (code, screen).
    ``size``: the terminal's (rows, columns), set on the pty as a terminal emulator does;
    ``keys``: (seconds after the start, text) typed at the terminal; ``foreground``: the
    pty is the command's controlling terminal, so a typed Ctrl-C is a SIGINT, as a person's
    is."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    if size is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        preexec_fn=controlling_terminal if foreground else None,
    )
    os.close(slave)
    chunks: list[bytes] = []
    started = time.monotonic()
    deadline = started + timeout
    pending = sorted(keys or [])
    while time.monotonic() < deadline:
        while pending and time.monotonic() - started >= pending[0][0]:
            os.write(master, pending.pop(0)[1].encode())
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


def test_update_on_a_terminal_shows_progress_then_the_summary(
    server: FeedServer, cfg_path: Path
) -> None:
    server.add("/rss/rus.xml", rss(KAZINFORM), delay=0.3)
    server.add("/news.rss", rss(TENGRI))
    write_config(
        cfg_path,
        [
            {"name": "kazinform-ru", "url": server.url("/rss/rus.xml")},
            {"name": "tengrinews", "url": server.url("/news.rss")},
        ],
        language="ru",
    )
    env = {**_env(), "COLUMNS": "100", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    code, screen = run_in_pty(
        [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "update"], env
    )
    assert code == 0, screen
    assert "updating" in screen or "kazinform-ru:" in screen  # the live progress line
    assert "новых: 4, изменено: 0, сбоев: 0" in screen
    assert "\x1b[" in screen  # a terminal gets styling


def test_open_hands_only_http_links_to_the_browser(
    server: FeedServer, cfg_path: Path, tmp_path: Path
) -> None:
    server.add(
        "/o.xml",
        rss(
            [
                {
                    "title": "С сылкой",
                    "link": "https://www.inform.kz/ru/a1?utm_source=rss",
                    "guid": "1",
                },
                {"title": "Без ссылки", "link": "javascript:alert(1)", "guid": "2"},
            ]
        ),
    )
    write_config(cfg_path, [{"name": "o", "url": server.url("/o.xml")}])
    kz("update", config=cfg_path)
    by_title = {i["title"]: i["id"] for i in latest_json(cfg_path)}
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n', encoding="utf-8")
    browser.chmod(0o755)
    env = {**_env(), "BROWSER": str(browser)}
    ok = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "open", by_title["С сылкой"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert opened.read_text(encoding="utf-8").strip() == "https://www.inform.kz/ru/a1"
    bad = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "open", by_title["Без ссылки"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 1 and "no http(s) link" in bad.stderr
    assert opened.read_text(encoding="utf-8").count("\n") == 1


def test_prune_then_update_does_not_bring_items_back(wired: Path, server: FeedServer) -> None:
    result = kz("prune", "--older-than", "2024-01-01", config=wired)
    assert result.exit_code == 0 and "опубликованные до 2023-12-31: 1 новость" in result.stdout
    assert not any(t.startswith("Алихан") for t in titles(latest_json(wired)))
    server.routes["/rss/rus.xml"].etag = '"k-2"'  # the server sends the feed again
    server.routes["/rss/rus.xml"].body += b"\n"
    assert kz("update", config=wired).exit_code == 0
    assert not any(t.startswith("Алихан") for t in titles(latest_json(wired)))
    assert len(latest_json(wired)) == 5


def test_version() -> None:
    from kzfeed import __version__

    result = kz("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"kzfeed {__version__}"


def test_purging_a_feed_keeps_stories_other_feeds_carried(wired: Path) -> None:
    before = {i["title"]: i for i in latest_json(wired)}
    talks = before["Токаев провел переговоры с президентом Узбекистана"]
    assert talks["feed"] == "kazinform-ru" and talks["also_in"][0]["feed"] == "kazinform-politics"
    result = kz("remove", "kazinform-ru", "--purge", config=wired)
    assert result.exit_code == 0 and "удалено: 2 новости" in result.stdout
    after = {i["title"]: i for i in latest_json(wired)}
    kept = after["Токаев провел переговоры с президентом Узбекистана"]
    assert (
        kept["id"] == talks["id"] and kept["feed"] == "kazinform-politics" and kept["also_in"] == []
    )
    assert kept["url"] == "http://inform.kz/ru/tokaev-provel-peregovory_a4201567/"
    assert kept["source"] == "Kazinform"  # no title in the config: the feed's own <title>
    assert "Нацбанк сохранил базовую ставку" not in after  # only kazinform-ru carried it
    assert len(after) == len(before) - 2


# ---------------------------------------------------------------- small traps (issue 12)


def test_small_traps(server: FeedServer, cfg_path: Path) -> None:
    server.add("/news.rss", rss(KAZINFORM))
    url = server.url("/news.rss")
    write_config(cfg_path, [{"name": "t", "url": url, "title": "Tengrinews"}])
    empty = kz("latest", config=cfg_path)
    assert empty.exit_code == 0 and "`kzfeed update`" in empty.stderr
    again = kz("add", url + "/", "--no-check", config=cfg_path)
    assert again.exit_code == 1 and "already subscribed as 't'" in again.stderr
    assert kz("update", config=cfg_path).exit_code == 0
    by_title = kz("latest", "--feed", "tengrinews", "--json", config=cfg_path)
    assert by_title.exit_code == 0 and len(json.loads(by_title.stdout)) == len(KAZINFORM)
    nothing = kz("read", config=cfg_path)
    assert nothing.exit_code == 2 and "which items?" in nothing.stderr


def test_a_closed_pipe_ends_quietly(cfg_path: Path, tmp_path: Path) -> None:
    """`kzfeed latest --jsonl | head -1`: the reader goes away, kzfeed exits 0, says nothing."""
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "examples", examples, ignore=shutil.ignore_patterns(".kzfeed-demo"))
    config = examples / "offline.toml"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "kzfeed", "--config", str(config)]
    assert subprocess.run([*base, "update"], env=env, capture_output=True).returncode == 0
    proc = subprocess.Popen(
        [*base, "latest", "--jsonl"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # gone before kzfeed writes a byte
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert err == b""


def test_update_and_feeds_never_wrap_into_column_zero_at_80(
    server: FeedServer, cfg_path: Path
) -> None:
    server.add("/rss/rus.xml", rss(KAZINFORM))
    long_name = "broken-agency-with-a-rather-long-name-indeed"
    write_config(
        cfg_path,
        [
            {"name": "kazinform-ru", "url": server.url("/rss/rus.xml")},
            {"name": long_name, "url": server.url("/gone/with/a/long/path/rss.xml")},
        ],
        language="ru",
    )
    env = {"COLUMNS": "80", "NO_COLOR": "1", "KZFEED_NOW": "2026-11-27T06:00:00+00:00"}
    argv = ["--config", str(cfg_path)]
    for command in (["update"], ["feeds"]):
        out = runner.invoke(app, [*argv, *command], env=env).stdout
        lines = out.splitlines()
        assert all(len(line) <= 80 for line in lines), out
        # every line is a header, a rule, a row (indented) or the summary: none is a
        # wrapped piece of a note or error starting at column 0
        assert all(line.startswith(("  ", " ─", "новых:")) for line in lines if line), out
        assert "      HTTP 404 Not Found" in out, out
    feeds = runner.invoke(app, [*argv, "feeds"], env=env).stdout
    assert " д " in feeds and " d " not in feeds  # ages in the interface's language


def test_help_shows_readable_placeholders_and_whole_summaries() -> None:
    """Every command's --help: placeholders such as N, W, URL, never Python types."""
    import re as re_

    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    top = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--help"], env=env, capture_output=True, text=True
    )
    commands = re_.findall(r"^  ([a-z][a-z-]+)\s{2,}", top.stdout, re_.M)
    assert {"latest", "digest", "show", "next", "add"} <= set(commands)
    assert "..." not in top.stdout.split("Commands:")[1]  # no summary cut short
    for name in commands:
        out = subprocess.run(
            [sys.executable, "-m", "kzfeed", name, "--help"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        assert out.startswith(f"Usage: kzfeed {name}"), name
        for python_type in ("<list[", "<int", "<str>", "<float", "<path>", "{url}", "[[ID]"):
            assert python_type not in out, (name, python_type, out)


def test_global_options_work_after_the_command(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(REPO / "examples", examples, ignore=shutil.ignore_patterns(".kzfeed-demo"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    config = str(examples / "offline.toml")
    ran = subprocess.run(
        [sys.executable, "-m", "kzfeed", "update", "--config", config],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "kzfeed", "latest", "-n", "3", "--plain", "-c", config],
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 3


def test_names_from_hosts_and_where_the_database_is(cfg_path: Path, monkeypatch: Any) -> None:
    from kzfeed.subscribe import derive_name as _derive_name

    assert _derive_name("https://tengrinews.kz/news.rss", set()) == "tengrinews"
    assert _derive_name("https://www.inform.kz/lenta/", set(), True, "kazinform") == (
        "kazinform-lenta"
    )
    assert _derive_name("https://informburo.kz/novosti", {"informburo-lenta"}, True) == (
        "informburo-lenta-2"
    )
    write_config(cfg_path, [])
    monkeypatch.setenv("KZFEED_DATA", "/somewhere/else")
    shown = kz("feeds", config=cfg_path)
    assert "(settings.data_dir, over $KZFEED_DATA)" in shown.stderr
    assert kz("add", "https://x.kz/rss", "-n", "x", "--no-check", config=cfg_path).exit_code == 2


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["latest", "-n", "3"], "latest"),
        (["--config", "k.toml", "latest"], "latest"),
        (["-c", "k.toml", "db", "check"], "db"),
        (["--config=k.toml", "show", "1a2"], "show"),
        (["-ck.toml", "feeds"], "feeds"),
        (["--", "latest"], None),
        (["--help"], None),
        (["--version"], None),
        (["-c", "k.toml"], None),
        ([], None),
    ],
)
def test_the_command_an_argument_list_names(argv: list[str], name: str | None) -> None:
    from kzfeed.cli import invoked

    assert invoked(argv) == name


def test_a_run_builds_only_the_command_it_runs() -> None:
    from kzfeed.cli import app, command

    whole = command()
    assert {"latest", "update", "db", "rules", "show"} <= set(whole.commands)
    assert set(command("latest").commands) == {"latest"}
    assert set(command("db").commands) == {"db"}
    assert set(command("db").commands["db"].commands) >= {"check", "restore", "reindex"}
    assert set(command("read").commands) == {"read"}  # registered under a name of its own
    # a name that is no command: all of them, so click can say which were meant
    assert set(command("lates").commands) == set(whole.commands)
    assert len(app.registered_commands) == len(whole.commands) - len(app.registered_groups)
    # and the placeholders are those of the whole app
    latest = command("latest").commands["latest"]
    assert {p.name: p.metavar for p in latest.params}["n"] == "N"


def test_a_mistyped_command_is_named_with_its_near_misses(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ran = subprocess.run(
        [sys.executable, "-m", "kzfeed", "-c", str(tmp_path / "k.toml"), "lates"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 2 and "'latest'" in ran.stderr, ran.stderr


def _run_kzfeed_with(prelude: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`kzfeed.cli.run` (the `kzfeed` command) in a fresh process, after ``prelude``."""
    code = f"import sys\n{prelude}\nfrom kzfeed.cli import run\nsys.argv = {['kzfeed', *argv]!r}\nrun()\n"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_command_ends_without_teardown_but_after_the_exit_handlers(tmp_path: Path) -> None:
    marker = tmp_path / "atexit"
    prelude = (
        "import atexit, pathlib\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('ran'))\n"
        "import gc\n"
        # a teardown that ran would print this; the command ends before it
        "class Loud:\n    def __del__(self): print('torn down', flush=True)\n"
        "keep = Loud()\n"
    )
    done = _run_kzfeed_with(prelude, ["--version"])
    assert done.returncode == 0 and done.stdout == "kzfeed 0.1.0\n", done
    assert marker.read_text() == "ran"
    mistyped = _run_kzfeed_with(prelude, ["-c", str(tmp_path / "k.toml"), "lates"])
    assert mistyped.returncode == 2 and "'latest'" in mistyped.stderr
    assert "torn down" not in mistyped.stdout


def test_the_command_collects_cyclic_garbage_less_often_not_never(tmp_path: Path) -> None:
    """`run` sets the collector's thresholds (records decoded from JSON hold no cycles:
    scanning them was a fifth of a big grouped view); the collector stays on, and `watch`
    and the reader keep Python's thresholds."""
    from kzfeed.cli import GC_THRESHOLDS

    seen = tmp_path / "gc"
    prelude = (
        "import atexit, gc, pathlib\n"
        f"atexit.register(lambda: pathlib.Path({str(seen)!r}).write_text("
        "repr((gc.isenabled(), gc.get_threshold()))))\n"
    )
    config = tmp_path / "k.toml"
    config.write_text(f'[settings]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    done = _run_kzfeed_with(prelude, ["-c", str(config), "feeds"])
    assert done.returncode == 0, done
    assert seen.read_text() == repr((True, GC_THRESHOLDS))
    assert GC_THRESHOLDS[0] > 700  # fewer collections than Python's default
    # the commands that run for hours keep Python's own
    import gc

    for argv in (["watch", "--help"], ["--version"]):
        assert _run_kzfeed_with(prelude, argv).returncode == 0
        assert seen.read_text() == repr((True, gc.get_threshold()))


def test_a_thread_still_at_work_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "thread"
    prelude = (
        "import pathlib, threading, time\n"
        "def work():\n    time.sleep(0.3)\n"
        f"    pathlib.Path({str(marker)!r}).write_text('done')\n"
        "threading.Thread(target=work).start()\n"
    )
    done = _run_kzfeed_with(prelude, ["--version"])
    assert done.returncode == 0 and marker.read_text() == "done"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["latest"], ["--version"]])
def test_output_lost_to_a_full_disk_is_an_error_not_a_success(wired: Path, argv: list[str]) -> None:
    """The last flush is where a full disk shows (stdout buffered: PYTHONUNBUFFERED off);
    for `--version`, click's own flush: one line either way, exit 1, no traceback."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(REPO)
    with open("/dev/full", "w") as full:
        ran = subprocess.run(
            [sys.executable, "-m", "kzfeed", "--config", str(wired), *argv],
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert ran.returncode == 1, ran
    assert ran.stderr.startswith("kzfeed: ") and "No space left" in ran.stderr
    assert ran.stderr.count("\n") == 1 + ran.stderr.count("kzfeed: database:"), ran.stderr


def test_a_closed_stdout_is_no_failure(tmp_path: Path) -> None:
    """Started with descriptor 1 closed (`kzfeed … >&-`): sys.stdout is None."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(REPO)
    ran = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--version"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
    )
    assert ran.returncode == 0 and ran.stderr == "", ran


def test_a_reader_gone_is_no_failure(wired: Path) -> None:
    """`kzfeed latest | true`: the pipe closed before the last flush; exit 0, silent."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(REPO)
    read, write = os.pipe()
    os.close(read)
    try:
        ran = subprocess.run(
            [sys.executable, "-m", "kzfeed", "--config", str(wired), "latest"],
            env=env,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert ran.returncode == 0 and ran.stderr == "", ran
