"""Reading views: golden output (fixed clock, fixed width, no colour) in ru/kk/en, filters,
read state, the pager, and hostile feed text on a pseudo-terminal and through a pipe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kzfeed.cli import app

from .conftest import FIXTURES, REPO, FeedServer, rss, write_config
from .test_cli import _env, run_in_pty

VIEWS = FIXTURES / "views"
NOW = "2026-11-24T12:00:00+00:00"  # 17:00 in Almaty
runner = CliRunner()


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled examples, updated once, with configs in ru, kk and en."""
    root = tmp_path_factory.mktemp("views")
    shutil.copytree(
        REPO / "examples", root / "examples", ignore=shutil.ignore_patterns(".kzfeed-demo")
    )
    base = (root / "examples" / "offline.toml").read_text(encoding="utf-8")
    for lang in ("ru", "kk", "en"):
        text = base.replace('language = "ru"', f'language = "{lang}"')
        text = text.replace('data_dir = ".kzfeed-demo"', 'data_dir = "data"')
        (root / "examples" / f"{lang}.toml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["--config", str(root / "examples" / "ru.toml"), "update"])
    assert result.exit_code == 0, result.output
    return root / "examples"


def view(examples: Path, lang: str, *args: str, now: str = NOW, columns: int = 100) -> str:
    env = {"KZFEED_NOW": now, "COLUMNS": str(columns), "NO_COLOR": "1"}
    result = runner.invoke(app, ["--config", str(examples / f"{lang}.toml"), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def check_golden(name: str, text: str) -> None:
    path = VIEWS / f"{name}.txt"
    if os.environ.get("KZFEED_REGEN_GOLDEN"):
        VIEWS.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


ID_OF_TALKS = "80153889"  # Kazinform ru: «Токаев провел переговоры…», also in the rubric feed


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("latest", ["latest", "-n", "40"]),
        ("latest-rubric", ["latest", "--group", "rubric", "-n", "3"]),
        ("latest-feed", ["latest", "--group", "feed", "-n", "2", "--since", "yesterday"]),
        ("show", ["show", ID_OF_TALKS]),
        ("rubrics", ["rubrics"]),
        ("stats", ["stats", "--days", "4"]),
    ],
)
def test_golden_views(examples: Path, lang: str, name: str, args: list[str]) -> None:
    check_golden(f"{name}-{lang}", view(examples, lang, *args))


def test_day_headings_in_three_languages(examples: Path) -> None:
    ru = view(examples, "ru", "latest", "-n", "40")
    assert (
        "Сегодня, 24 ноября 2026" in ru and "Вчера, 23 ноября 2026" in ru and "3 февраля 2023" in ru
    )
    kk = view(examples, "kk", "latest", "-n", "40")
    assert "Бүгін, 2026 жылғы 24 қараша" in kk and "Кеше, 2026 жылғы 23 қараша" in kk
    en = view(examples, "en", "latest", "-n", "40")
    assert "Today, 24 November 2026" in en and "Yesterday, 23 November 2026" in en
    # the next local day: 24 November becomes "Вчера"
    later = view(examples, "ru", "latest", "-n", "40", now="2026-11-24T19:30:00+00:00")
    assert "Вчера, 24 ноября 2026" in later and "Сегодня" not in later


def test_titles_are_cut_by_display_width_and_columns_line_up(examples: Path) -> None:
    import re

    out = view(examples, "ru", "latest", "-n", "40", columns=80)
    rows = [line for line in out.splitlines() if re.match(r"[0-9a-f]{4} \d\d:\d\d ", line)]
    assert len(rows) == 23  # 23 stories, each with its shortest unique id (4 here)
    assert {len(line.rstrip()) <= 80 for line in rows} == {True}
    # at 80 columns the headline gets 50 cells: id 4, time, source 10, short rubric
    title_at = 4 + 1 + 6 + 1 + 10 + 1 + 6 + 1
    assert 80 - title_at >= 50
    # the title column starts at the same cell on every row, Cyrillic, Kazakh or Latin
    starts = {len(line) - len(line[title_at:]) for line in rows}
    assert len(starts) == 1
    assert any(line.rstrip().endswith("…") for line in rows)
    assert "Полит." in out  # the short rubric label
    # wide enough: the full layout (whole source names and rubric labels)
    wide = view(examples, "ru", "latest", "-n", "40", columns=120)
    assert "Политика" in wide and "The Astana Times" in wide


def test_a_wide_terminal_shows_whole_source_names_and_keeps_the_headline_room(
    examples: Path,
) -> None:
    import re

    from rich.cells import cell_len

    def rows(columns: int) -> list[str]:
        out = view(examples, "ru", "latest", "-n", "40", columns=columns)
        return [line for line in out.splitlines() if re.match(r"[0-9a-f]{4} \d\d:\d\d ", line)]

    narrow, wide = rows(100), rows(120)
    assert any("Kazinform · Пол…" in line for line in narrow)  # 16 cells at 100 columns
    assert any("Kazinform · Политика " in line for line in wide)  # whole at 120
    assert not any("Kazinform · Пол…" in line for line in wide)
    for line in wide:
        assert cell_len(line.rstrip()) <= 120
    # every section's columns line up: the rubric column starts after the longest source
    # name of the whole view, and the headline 13 cells later, with 60 cells or more left
    source_at = len("9a76 10:02  ")
    rubric_at = source_at + len("Kazinform · Политика") + 1
    labels = {"Общество", "Политика", "Экономика", "В мире", "Происшествия", "Спорт"}
    labels |= {"Культура", "Наука"}
    for line in wide:
        assert line[rubric_at - 1] == " " and line[rubric_at : rubric_at + 12].strip() in labels
    assert 120 - (rubric_at + 13) >= 60


def test_piped_output_is_never_cut_and_plain_is_one_line_an_item(
    examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = runner.invoke(
        app,
        ["--config", str(examples / "ru.toml"), "latest", "-n", "40"],
        env={"KZFEED_NOW": NOW, "NO_COLOR": "1"},
    )
    assert "…" not in result.stdout and "Тоқаев Өзбекстан Президентімен Астанада" in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())
    plain = view(examples, "ru", "latest", "-n", "40", "--plain")
    lines = plain.splitlines()
    assert len(lines) == 23 and all(line.count("\t") == 4 for line in lines)
    ident, when, source, rubric, title = lines[0].split("\t")
    assert len(ident) == 16 and when.startswith("2026-11-24") and rubric == "Общество"
    assert source == "Tengrinews" and not title.endswith("…")


def test_grouping_by_rubric_orders_sections_like_the_site(examples: Path) -> None:
    out = view(examples, "ru", "latest", "--group", "rubric", "-n", "1")
    order = [line.split(" · ")[0] for line in out.splitlines() if " · " in line]
    assert order == [
        "Политика",
        "Общество",
        "Экономика",
        "Культура",
        "Спорт",
        "В мире",
        "Происшествия",
        "Наука",
    ]
    data = json.loads(view(examples, "ru", "latest", "--group", "rubric", "-n", "1", "--json"))
    assert len(data) == 8  # one (the newest) per section


def test_show_renders_the_html_as_readable_text(examples: Path) -> None:
    out = view(examples, "ru", "show", ID_OF_TALKS)
    assert "Токаев провел переговоры с президентом Узбекистана в Астане" in out
    assert "2026-11-24 09:10" in out and "Политика" in out
    assert "Kazinform · Политика" in out  # also_in, by the feed's title
    assert "Стороны обсудили водно-энергетическое сотрудничество" in out
    assert "<p>" not in out


def latest_json(examples: Path, *args: str, now: str = NOW) -> list[dict[str, Any]]:
    return json.loads(view(examples, "ru", "latest", "--json", "-n", "500", *args, now=now))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--rubric", "politics"], 7),  # any rubric of the item, not only the primary
        (["--rubric", "ПОЛИТИКА"], 7),
        (["--rubric", "саясат", "--lang", "kk"], 1),
        (["--rubric", "Economy", "--feed", "tengrinews"], 1),
        (["--rubric", "economy", "--rubric", "culture"], 9),
        (["--feed", "kazinform-politics"], 3),
        (["--feed", "kazinform-politics", "--rubric", "politics", "--since", "today"], 1),
        (["--since", "today"], 11),
        (["--since", "yesterday", "--until", "yesterday"], 11),
        (["--until", "2023-02-03"], 1),
        (["--since", "2026-11-23T18:00", "--until", "2026-11-24T09:00"], 11),  # local times
        (["--lang", "en"], 3),
        (["--lang", "EN", "--search", "bank"], 1),
        (["--search", "алматы"], 7),  # titles and summaries, Almaty too
        (["--search", "алматы", "--lang", "kk"], 1),
        (["--search", "ҚОЛДАНБАЛЫ"], 1),
        (["--search", "колданбалы"], 1),  # Kazakh letters fold to their look-alikes
        (["--unread", "--rubric", "sport"], 2),
    ],
)
def test_filter_combinations(examples: Path, args: list[str], expected: int) -> None:
    items = latest_json(examples, *args)
    assert len(items) == expected
    published = [i["published"] for i in items]
    assert published == sorted(published, reverse=True)


def test_time_filters_follow_the_2024_change_to_utc_plus_5(
    server: FeedServer, cfg_path: Path
) -> None:
    """Almaty was UTC+6 until 2024-02-29 18:00 UTC, when clocks went from 00:00 on 1 March
    back to 23:00 on 29 February (UTC+5): local days, and so --since/--until, moved."""
    items = [
        {
            "title": "2023, UTC+6",
            "link": "https://t.kz/1",
            "guid": "1",
            "pubDate": "Thu, 02 Feb 2023 18:30:00 +0000",
        },
        {
            "title": "Последний час +6",
            "link": "https://t.kz/2",
            "guid": "2",
            "pubDate": "Thu, 29 Feb 2024 17:30:00 +0000",
        },
        {
            "title": "Повторный час +5",
            "link": "https://t.kz/3",
            "guid": "3",
            "pubDate": "Thu, 29 Feb 2024 18:30:00 +0000",
        },
        {
            "title": "1 марта, UTC+5",
            "link": "https://t.kz/4",
            "guid": "4",
            "pubDate": "Fri, 01 Mar 2024 18:30:00 +0000",
        },
    ]
    server.add("/t.xml", rss(items))
    write_config(cfg_path, [{"name": "t", "url": server.url("/t.xml")}], language="ru")
    runner.invoke(app, ["--config", str(cfg_path), "update"])

    def titles(*args: str) -> list[str]:
        out = runner.invoke(app, ["--config", str(cfg_path), "latest", "--json", *args]).stdout
        return [i["title"] for i in json.loads(out)]

    # 18:30 UTC on 2 Feb 2023 is 00:30 on 3 Feb at UTC+6 (it would be 23:30 on 2 Feb at +5)
    assert titles("--since", "2023-02-03", "--until", "2023-02-03") == ["2023, UTC+6"]
    # 29 Feb 2024 had 25 hours: 23:30 twice, once at +6 and once at +5
    assert titles("--since", "2024-02-29", "--until", "2024-02-29") == [
        "Повторный час +5",
        "Последний час +6",
    ]
    # 18:30 UTC on 1 March 2024 is 23:30 on 1 March at UTC+5 (it would be 00:30 on 2 March at +6)
    assert titles("--since", "2024-03-01", "--until", "2024-03-01") == ["1 марта, UTC+5"]
    out = runner.invoke(app, ["--config", str(cfg_path), "latest"], env={"KZFEED_NOW": NOW}).stdout
    assert out.count("23:30") == 3 and "00:30" in out
    assert "1 марта 2024" in out and "29 февраля 2024" in out and "3 февраля 2023" in out


def test_read_state_and_read_all_with_filters(examples: Path, tmp_path: Path) -> None:
    local = tmp_path / "ex"
    shutil.copytree(examples, local)
    cfg = local / "ru.toml"

    def kz(*args: str) -> Any:
        return runner.invoke(app, ["--config", str(cfg), *args], env={"KZFEED_NOW": NOW})

    # (other tests' `show` may have read an item of the shared examples: counted from here)
    at_first = len(json.loads(kz("latest", "--json", "-n", "100", "--unread").stdout))
    marked = kz("read", "--all", "--rubric", "sport").stdout.strip()
    assert marked == "отмечено прочитанными: 2 новости"
    unread = json.loads(kz("latest", "--json", "-n", "100", "--unread").stdout)
    assert len(unread) == at_first - 2 and all(i["rubrics"][0] != "sport" for i in unread)
    marked = kz("unread", "--all", "--feed", "tengrinews").stdout.strip()
    assert marked == "отмечено непрочитанными: 1 новость"
    assert (
        kz("read", "--all", "--since", "today", "--lang", "kk").stdout.strip()
        == "отмечено прочитанными: 2 новости"
    )
    both = kz("read", "80153889", "--all")
    assert both.exit_code == 2
    # listing marks nothing by itself...
    before = len(json.loads(kz("latest", "--json", "--unread", "-n", "100").stdout))
    kz("latest", "-n", "5")
    assert len(json.loads(kz("latest", "--json", "--unread", "-n", "100").stdout)) == before
    # ...unless configured to
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            "[settings]", "[settings]\nmark_read_on_list = true"
        ),
        encoding="utf-8",
    )
    shown = [i["id"] for i in json.loads(kz("latest", "--json", "-n", "5").stdout)]
    kz("latest", "-n", "5")
    still_unread = {
        i["id"] for i in json.loads(kz("latest", "--json", "--unread", "-n", "100").stdout)
    }
    assert not still_unread.intersection(shown)
    assert len(still_unread) < before


def test_stats_json(examples: Path) -> None:
    data = json.loads(view(examples, "en", "stats", "--days", "3", "--json"))
    assert data["days"] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert data["total"] == [0, 11, 11]
    rubrics = {r["rubric"]: r for r in data["rubrics"]}
    assert rubrics["politics"]["counts"] == [0, 2, 3] and rubrics["politics"]["label"] == "Politics"
    feeds = {f["feed"]: f["counts"] for f in data["feeds"]}
    assert feeds["kazinform-politics"] == [0, 2, 1]  # its merged stories count for it too


def test_pager_on_a_terminal_and_no_pager(examples: Path, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(f"#!/bin/sh\ncat > {paged}\n", encoding="utf-8")
    pager.chmod(0o755)
    env = {**_env(), "PAGER": str(pager), "KZFEED_NOW": NOW, "COLUMNS": "90", "LINES": "10"}
    cmd = [
        sys.executable,
        "-m",
        "kzfeed",
        "--config",
        str(examples / "ru.toml"),
        "latest",
        "-n",
        "40",
    ]
    code, screen = run_in_pty(cmd, env)
    assert code == 0
    assert "Токаев провел переговоры" in paged.read_text(encoding="utf-8")
    assert "Токаев провел переговоры" not in screen
    paged.unlink()
    code, screen = run_in_pty([*cmd, "--no-pager"], env)
    assert code == 0 and not paged.exists() and "Токаев провел переговоры" in screen
    code, screen = run_in_pty([*cmd[:-1], "2"], env)  # fits on the screen: no pager
    assert code == 0 and not paged.exists()
    # `story` pages a story taller than the screen too, and takes --no-pager like the others
    story = [*cmd[:-3], "story", ID_OF_TALKS]
    code, screen = run_in_pty(story, {**env, "LINES": "4"})
    assert code == 0 and "Токаев провел переговоры" in paged.read_text(encoding="utf-8")
    paged.unlink()
    code, screen = run_in_pty([*story, "--no-pager"], {**env, "LINES": "4"})
    assert code == 0 and not paged.exists() and "Токаев провел переговоры" in screen


HOSTILE_TITLE = (
    "[bold red]Жирный[/] [link=http://evil.example]клик[/link] :smile: :warning: "
    "\x1b[2J\x1b[31mкрасный\x1b[0m \x1b]8;;http://evil.example\x07ссылка\x1b]8;;\x07 "
    "\x1b]52;c;cm0gLXJmIH4=\x07 \x9b2J\x9d0;title\x9c \u202eперевёрнуто\u202c \u2066изоляция\u2069 конец"
)
HOSTILE_SUMMARY = (
    "<p>[italic]курсив[/italic] \x1b[5mмигает</p><p>\u202dLTR override\u202c :thumbs_up:</p>"
)
CONTROLS = (
    "\x1b",
    "\x9b",
    "\x9d",
    "\x9c",
    "\x07",
    "\u202e",
    "\u202d",
    "\u202c",
    "\u2066",
    "\u2069",
)


@pytest.fixture
def hostile(server: FeedServer, cfg_path: Path) -> Path:
    server.add(
        "/evil.xml",
        rss(
            [
                {
                    "title": HOSTILE_TITLE,
                    "link": "https://t.kz/evil",
                    "guid": "e1",
                    "description": HOSTILE_SUMMARY,
                    "categories": "[bold]Политика[/bold]",
                    "pubDate": "Tue, 24 Nov 2026 09:00:00 +0500",
                }
            ],
            title="\x1b[31mEvil\x1b[0m [blink]News[/blink]",
        ),
    )
    write_config(cfg_path, [{"name": "evil", "url": server.url("/evil.xml")}])
    assert runner.invoke(app, ["--config", str(cfg_path), "update"]).exit_code == 0
    return cfg_path


def _visible_checks(out: str, full: bool) -> None:
    assert "[bold red]Жирный[/]" in out and "[link=http://evil.example]клик[/link]" in out
    if full:  # listings cut the long title at the terminal width; `show` has all of it
        assert "красный" in out and "конец" in out and "изоляция" in out
        assert "[italic]курсив[/italic]" in out


@pytest.mark.parametrize(
    "args",
    [
        ["latest"],
        ["latest", "--group", "rubric"],
        ["latest", "--group", "feed"],
        ["show", "PLACEHOLDER"],
        ["feeds"],
        ["rubrics"],
        ["stats"],
    ],
)
def test_hostile_text_through_a_pipe(hostile: Path, args: list[str]) -> None:
    if args[-1] == "PLACEHOLDER":
        items = json.loads(
            runner.invoke(app, ["--config", str(hostile), "latest", "--json"]).stdout
        )
        args = ["show", items[0]["id"]]
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(hostile), *args]
    result = subprocess.run(
        cmd, capture_output=True, text=True, env={**_env(), "KZFEED_NOW": NOW}, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for char in CONTROLS:
        assert char not in result.stdout
    if args[0] in ("latest", "show"):
        _visible_checks(result.stdout, full=args[0] == "show")
        assert ":smile:" in result.stdout


@pytest.mark.parametrize("args", [["latest"], ["latest", "--group", "feed"], ["show"]])
def test_hostile_text_on_a_terminal(hostile: Path, args: list[str]) -> None:
    if args == ["show"]:
        items = json.loads(
            runner.invoke(app, ["--config", str(hostile), "latest", "--json"]).stdout
        )
        args = ["show", items[0]["id"], "--no-pager"]
    env = {**_env(), "KZFEED_NOW": NOW, "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    code, screen = run_in_pty(
        [sys.executable, "-m", "kzfeed", "--config", str(hostile), *args], env
    )
    assert code == 0, screen
    _visible_checks(screen, full=args[0] == "show")
    assert ":smile:" in screen and "😄" not in screen
    # the only escape sequences are Rich's own SGR styling and, in `show`, OSC 8 hyperlinks
    # to the item's own http(s) links: no other OSC (clipboard, title), no screen clearing,
    # no C1 controls, no bidi overrides
    import re

    osc = re.findall(r"\x1b\]([^\x1b\x07]*)(?:\x1b\\|\x07)", screen)
    assert all(re.fullmatch(r"8;(?:id=\d+)?;(?:https?://[!-~]+)?", seq) for seq in osc), osc
    assert len(re.findall(r"\x1b\]", screen)) == len(osc)
    if args[0] == "show":
        assert any(seq.endswith(";https://t.kz/evil") for seq in osc)
    assert "\x1b[2J" not in screen and "\x9b" not in screen and "\x9d" not in screen
    assert "\u202e" not in screen and "\u2066" not in screen
    assert set(re.findall(r"\x1b\[[0-9;?]*([A-Za-z])", screen)) <= {"m", "h", "l", "K", "A", "G"}


def test_no_color_on_a_terminal_gives_no_colour(examples: Path) -> None:
    import re

    env = {**_env(), "KZFEED_NOW": NOW, "COLUMNS": "100", "TERM": "xterm-256color", "NO_COLOR": "1"}
    cmd = [
        sys.executable,
        "-m",
        "kzfeed",
        "--config",
        str(examples / "ru.toml"),
        "latest",
        "--no-pager",
    ]
    code, screen = run_in_pty(cmd, env)
    assert code == 0 and "Токаев провел переговоры" in screen
    colours = re.findall(r"\x1b\[([0-9;]*)m", screen)
    assert not [c for c in colours if re.search(r"(^|;)(3[0-9]|9[0-7]|4[0-9])(;|$)", c)]
    env.pop("NO_COLOR")
    _code, coloured = run_in_pty(cmd, env)
    assert re.search(r"\x1b\[[0-9;]*3[0-9][;m]", coloured)  # without NO_COLOR there is colour


def test_a_hostile_http_reason_phrase_reaches_neither_markup_nor_the_terminal(
    server: FeedServer, cfg_path: Path
) -> None:
    """Server text in errors (the reason phrase) goes through the progress line, the summary
    and stderr: never as Rich markup, never with its control characters."""

    def evil(h: Any) -> None:
        # HTTP allows obs-text (0x80-0xff) in a reason phrase: 0x9b is a C1 CSI once decoded
        h.send_response(500, "[/] [bold]boom [link=http://evil.example]x \x9b2J")
        h.send_header("Content-Length", "0")
        h.end_headers()

    server.add("/evil", handler=evil)
    server.add(
        "/good.xml", rss([{"title": "Хорошо", "link": "https://t.kz/1", "guid": "1"}]), delay=1.0
    )
    write_config(
        cfg_path,
        [
            {"name": "evil", "url": server.url("/evil")},
            {"name": "good", "url": server.url("/good.xml")},
        ],
    )
    env = {**_env(), "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    code, screen = run_in_pty(
        [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "update"], env
    )
    assert code == 3, screen
    assert "[/] [bold]boom [link=http://evil.example]x" in screen
    assert "evil: HTTP 500 [/] [bold]boom" in screen  # the live progress line, literally
    assert "\x9b" not in screen and "\x1b]8;" not in screen


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("latest-80", ["latest", "-n", "40"]),
        ("latest-rubric-80", ["latest", "--group", "rubric", "-n", "3"]),
    ],
)
def test_golden_views_at_80_columns(examples: Path, lang: str, name: str, args: list[str]) -> None:
    text = view(examples, lang, *args, columns=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    check_golden(f"{name}-{lang}", text)


def test_show_marks_read_takes_several_ids_and_next_walks_the_unread(
    examples: Path, tmp_path: Path
) -> None:
    local = tmp_path / "ex"
    shutil.copytree(examples, local)
    cfg = local / "ru.toml"

    def kz(*args: str) -> Any:
        env = {"KZFEED_NOW": NOW, "COLUMNS": "60", "NO_COLOR": "1"}
        return runner.invoke(app, ["--config", str(cfg), *args], env=env)

    kz("unread", "--all")
    listed = json.loads(kz("latest", "--json", "-n", "3").stdout)
    first, second = listed[0]["id"], listed[1]["id"]
    both = kz("show", first[:8], second[:8], "--no-pager")
    assert both.exit_code == 0
    assert listed[0]["title"] in both.stdout and listed[1]["title"] in both.stdout
    # a URL longer than the 60 columns is printed whole, on one line
    link = next(line for line in both.stdout.splitlines() if line.startswith("ссылка"))
    assert link.split()[-1] == listed[0]["url"]
    assert all(line == line.rstrip() for line in both.stdout.splitlines())
    read = {i["id"]: i["read"] for i in json.loads(kz("latest", "--json", "-n", "3").stdout)}
    assert read[first] and read[second] and not read[listed[2]["id"]]
    # next: the newest unread, then it is read, so the one after comes next
    third = kz("next", "--json")
    assert json.loads(third.stdout)["id"] == listed[2]["id"]
    assert json.loads(kz("next", "--json").stdout)["id"] != listed[2]["id"]
    none = kz("next", "--rubric", "sport", "--since", "2026-11-24")
    assert none.exit_code == 0
    kz("read", "--all")
    assert "непрочитанных нет" in kz("next").stderr


def _russian_form(n: int) -> str:  # the rule as a grammar book states it, written out here
    if n % 10 == 1 and n % 100 != 11:
        return "новость"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "новости"
    return "новостей"


@pytest.mark.parametrize("n", [*range(26), *range(101, 126)])
def test_counts_take_the_right_plural_form(n: int) -> None:
    from kzfeed.words import count

    assert count(n, "item", "ru") == f"{n} {_russian_form(n)}"
    assert count(n, "item", "kk") == f"{n} жаңалық"  # Kazakh does not inflect after a number
    assert count(n, "item", "en") == f"{n} {'item' if n == 1 else 'items'}"


def test_digest_headers_count_in_the_right_form(examples: Path) -> None:
    from kzfeed.words import count

    for lang in ("ru", "kk", "en"):
        out = view(
            examples, lang, "digest", "--date", "2026-11-23", "--format", "txt"
        )  # 11 items, 10 stories
        assert count(10, "item", lang) + ":" in out, out


def test_grouped_views_say_what_they_hide_and_an_undated_item_does_not_move_the_window(
    examples: Path, tmp_path: Path
) -> None:
    local = tmp_path / "ex"
    shutil.copytree(examples, local)
    undated = local / "feeds" / "undated.xml"
    undated.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>U</title>'
        "<item><title>Новость без даты из архива агентства</title>"
        "<link>https://example.kz/undated</link></item></channel></rss>",
        encoding="utf-8",
    )
    cfg = local / "ru.toml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        + '\n[[feeds]]\nname = "undated"\nurl = "feeds/undated.xml"\n',
        encoding="utf-8",
    )
    assert runner.invoke(app, ["--config", str(cfg), "update"]).exit_code == 0  # today's clock
    out = view(local, "ru", "latest", "--group", "rubric", "-n", "1")
    assert out.startswith("С 18.11 по 24.11")  # the newest *dated* story is of 24.11
    assert "Политика · 5 (ещё 4)" in out


@pytest.fixture(scope="module")
def pty_examples(examples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the updated examples (``show`` marks items read there, not here)."""
    root = tmp_path_factory.mktemp("pty") / "examples"
    shutil.copytree(examples, root)
    # once more on the fixed clock: the feeds' "last ok" is then NOW, not today
    env = {"KZFEED_NOW": NOW}
    result = runner.invoke(app, ["--config", str(root / "ru.toml"), "update", "--force"], env=env)
    assert result.exit_code == 0, result.output
    for lang in ("ru", "kk", "en"):
        # the same relative data dir as the original: the data moved with the copy
        assert 'data_dir = "data"' in (root / f"{lang}.toml").read_text(encoding="utf-8")
    return root


PTY_VIEWS = [
    ("latest", ["latest", "-n", "40"]),
    ("latest-rubric", ["latest", "--group", "rubric", "-n", "3"]),
    ("feeds", ["feeds"]),
    ("rubrics", ["rubrics"]),
    ("stats", ["stats", "--days", "4"]),
    ("show", ["show", ID_OF_TALKS]),
]


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
@pytest.mark.parametrize("columns", [80, 120])
def test_golden_views_on_a_real_terminal(pty_examples: Path, lang: str, columns: int) -> None:
    """Each plain command on a pty the size of a terminal window (80x24 and 120x40, no
    COLUMNS: Rich asks the terminal), in each language: the screen as a person sees it is
    golden; no line is wider than the window or ends in spaces; a headline gets 50 cells."""
    import re

    from rich.cells import cell_len

    env = {**_env(), "KZFEED_NOW": NOW, "TERM": "xterm-256color", "NO_COLOR": "1"}
    env["PAGER"] = "cat"  # a view taller than the window goes through the pager: cat here
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    rows = 24 if columns == 80 else 40
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(pty_examples / f"{lang}.toml")]
    for name, args in PTY_VIEWS:
        code, screen = run_in_pty([*cmd, *args], env, size=(rows, columns))
        assert code == 0, screen
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\", "", screen)
        text = text.replace("\r\n", "\n").replace(str(pty_examples), "<examples>")
        if name == "feeds":  # "last ok" is when the fixture ran
            text = re.sub(r"\d\d\.\d\d \d\d:\d\d", "DD.MM hh:mm", text)
        lines = text.splitlines()
        # no line wider than the window, but a link: printed whole, folded by the terminal
        wide = [line for line in lines if cell_len(line) > columns]
        assert all(re.search(r"\s(https?://\S+)$", line) for line in wide), (name, text)
        assert all(cell_len(line.rsplit(" ", 1)[0]) <= columns for line in wide), (name, text)
        assert not [line for line in lines if line != line.rstrip()], (name, text)
        check_golden(f"pty-{name}-{columns}-{lang}", text)
        if name == "latest":
            rows_ = [line for line in lines if re.match(r"^[0-9a-f]{4,16} \d\d:\d\d", line)]
            assert len(rows_) == 23
            # each headline starts after id, time, source and rubric and gets 50 cells
            titles = [r["title"] for r in json.loads(view(pty_examples, lang, "latest", "--json"))]
            for row in rows_:
                head = next(t[:12] for t in titles if t[:12] in row)
                assert columns - cell_len(row[: row.index(head)]) >= 50, text


# ItemRows (kzfeed's own layout of a listing) against the rich Table it replaced


def _cells_of(renderable: Any, width: int | None) -> list[list[tuple[str, Any]]]:
    """Each printed line as (character, style) pairs, spaces too (a background or an
    underline on one shows), the trailing spaces dropped (the CLI strips them)."""
    from rich.console import Console
    from rich.style import Style

    console = Console(width=width or 10_000, color_system="truecolor", force_terminal=True)
    lines = []
    for segments in console.render_lines(renderable, console.options, pad=False):
        chars = [(ch, segment.style or Style.null()) for segment in segments for ch in segment.text]
        while chars and chars[-1][0] == " ":
            chars.pop()
        lines.append(chars)
    while lines and not lines[-1]:
        lines.pop()
    return lines


_LONG = "Очень длинный заголовок " * 500
_NAMES = st.text(
    alphabet=st.sampled_from("Kazinform -ПолитикаӘәҒғҚқҢңӨөҰұҮүҺһІі日本語 ()The·,"),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.text(alphabet="0123456789abcdef", min_size=4, max_size=16),
            st.integers(min_value=0, max_value=5 * 86_400),
            _NAMES,
            st.sampled_from(["politics", "economy", "incidents", "technology", "other", "x"]),
            # one in ten a headline of 12,000 cells: piped, the Table folds it whole
            st.integers(0, 9).flatmap(lambda k: st.just(_LONG) if k == 0 else _NAMES),
            st.booleans(),
            st.booleans(),
        ),
        max_size=12,
        unique_by=lambda t: t[0],
    ),
    width=st.one_of(st.none(), st.integers(min_value=20, max_value=220)),
    lang=st.sampled_from(["ru", "kk", "en"]),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)
def test_item_rows_print_what_the_rich_table_printed(
    items: list[tuple[str, int, str, str, str, bool, bool]],
    width: int | None,
    lang: str,
    flags: tuple[bool, bool, bool, bool],
) -> None:
    """At every width (and piped, uncut), in every language, with wide and combining-free
    Kazakh text, story notes and search marks: the same characters in the same styles."""
    from datetime import UTC, datetime, timedelta

    from kzfeed import render
    from kzfeed.query import StoryLine

    show_source, show_rubric, with_date, mark = flags
    start = datetime(2026, 11, 20, tzinfo=UTC)
    records = [
        {
            "id": ident,
            "published": (start + timedelta(seconds=secs)).isoformat(),
            "source": source,
            "rubrics": [rubric],
            "title": title,
            "read": read,
            "date_estimated": estimated,
        }
        for ident, secs, source, rubric, title, read, estimated in items
    ]
    stories = {r["id"]: StoryLine(r, [r, r], [r["source"]]) for r in records[:2]}

    def highlight(text: str, _lang: str | None) -> list[tuple[int, int]]:
        return [(0, min(3, len(text)))] if text else []

    options: dict[str, Any] = {
        "show_rubric": show_rubric,
        "show_source": show_source,
        "with_date": with_date,
        "width": width,
        "short_ids": None,
        "stories": stories,
        "highlight": highlight if mark else None,
        "widest": None,
    }
    columns, rows = render._item_cells(records, UTC, lang, **options)
    laid_out = render._item_table(records, UTC, lang, **options)
    table = render._as_table(columns, rows, width)
    assert _cells_of(laid_out, width) == _cells_of(table, width)


def test_item_rows_at_every_width_down_to_a_sliver() -> None:
    """Width by width from 10 to 130 columns, through the point where the headline has no
    room left and the listing falls back to the Table: the same lines as the Table's."""
    from datetime import UTC

    from kzfeed import render

    records = [
        {
            "id": f"{n:x}" * 6,
            "published": f"2026-11-2{n}T0{n}:15:00+00:00",
            "source": ["Kazinform - Политика", "Tengrinews.kz", "The Astana Times (en)"][n % 3],
            "rubrics": [["politics", "incidents", "technology"][n % 3]],
            "title": "Тоқаев Қазақстан Республикасының жаңа заңына қол қойды " * (n % 2 + 1),
            "read": n == 2,
            "date_estimated": n == 1,
        }
        for n in range(1, 6)
    ]
    fallbacks = 0
    for width in range(10, 131):
        for with_date in (False, True):
            columns, rows = render._item_cells(
                records,
                UTC,
                "kk",
                show_rubric=True,
                show_source=True,
                with_date=with_date,
                width=width,
                short_ids=None,
                stories=None,
                highlight=None,
                widest=None,
            )
            laid_out = render._item_table(records, UTC, "kk", with_date=with_date, width=width)
            if not isinstance(laid_out, render.ItemRows):
                fallbacks += 1
                assert width < 45, width  # only a sliver of a terminal takes the Table
            table = render._as_table(columns, rows, width)
            assert _cells_of(laid_out, width) == _cells_of(table, width), (width, with_date)
    assert fallbacks


def test_a_piped_headline_of_any_length_comes_out_whole(tmp_path: Path) -> None:
    """Piped with no $COLUMNS nothing is cut: a headline of 12,000 cells (a hostile feed's:
    titles have no length limit) is folded onto the lines below, every word of it shown
    (found by review: laid out as one line, it was cut at 10,000 cells)."""
    long = "Очень длинный заголовок " * 500
    (tmp_path / "long.xml").write_text(
        rss(
            [
                {
                    "title": long,
                    "link": "https://example.kz/long",
                    "pubDate": "Mon, 23 Nov 2026 09:00:00 +0000",
                },
                {
                    "title": "Короткий",
                    "link": "https://example.kz/short",
                    "pubDate": "Mon, 23 Nov 2026 08:00:00 +0000",
                },
            ]
        ),
        encoding="utf-8",
    )
    cfg = write_config(tmp_path / "c.toml", [{"name": "long", "url": str(tmp_path / "long.xml")}])
    assert runner.invoke(app, ["--config", str(cfg), "update"]).exit_code == 0
    env = {"COLUMNS": None, "NO_COLOR": "1", "KZFEED_NOW": NOW}
    result = runner.invoke(app, ["--config", str(cfg), "latest"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("заголовок") == 500
    assert "Короткий" in result.stdout


@pytest.mark.parametrize(
    "args", [["latest", "-n", "40"], ["latest", "--group", "rubric", "-n", "3"]]
)
def test_piped_sections_line_up(examples: Path, args: list[str]) -> None:
    """Piped with no $COLUMNS nothing is cut, and every section's columns are as wide as the
    view's widest cell: the headlines of all sections start at one column (they started
    where each section's own widest source ended)."""
    import re

    env = {"COLUMNS": None, "NO_COLOR": "1", "KZFEED_NOW": NOW}
    cfg = str(examples / "ru.toml")
    result = runner.invoke(app, ["--config", cfg, *args], env=env)
    assert result.exit_code == 0, result.output
    titles = [r["title"] for r in json.loads(view(examples, "ru", *args, "--json"))]
    rows = [line for line in result.stdout.splitlines() if re.match(r"^[0-9a-f]{4,} ", line)]
    starts = {row.index(next(t[:12] for t in titles if t[:12] in row)) for row in rows}
    assert len(rows) > 10 and len(starts) == 1, result.stdout
    assert result.stdout.count("\n\n") >= 2  # more than one section


@pytest.mark.parametrize("width", [None, 100])
def test_sections_line_up_when_short_ids_differ_in_length(width: int | None) -> None:
    """A short id is an item's shortest unique prefix, so one section may hold a 5-character
    id and the next none: the id column is the view's, and every headline starts at one
    column, piped and on a terminal (found by review)."""
    from datetime import UTC, datetime

    from kzfeed import render

    records = [
        {
            "id": f"{n:x}0{n:x}" * 4,
            "published": f"2026-11-2{n}T09:00:00+00:00",
            "source": ["Kazinform", "Интерфакс", "The Astana Times"][n % 3],
            "rubrics": [["politics", "incidents", "world"][n % 3]],
            "title": f"Заголовок номер {n}",
        }
        for n in (4, 3, 2)
    ]
    short = {records[0]["id"]: records[0]["id"][:5]}  # only the newest needs 5 characters
    view = render.latest_view(
        records,
        tz=UTC,
        lang="ru",
        now=datetime(2026, 11, 24, 12, tzinfo=UTC),
        width=width,
        short_ids=short,
    )
    from rich.console import Console

    console = Console(width=width or 10_000, no_color=True)
    with console.capture() as capture:
        console.print(view)
    lines = capture.get().splitlines()
    starts = {line.index("Заголовок") for line in lines if "Заголовок" in line}
    assert len(starts) == 1 and len(lines) > 6, lines
