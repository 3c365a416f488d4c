"""`kzfeed watch` on a real pty against a loopback server whose feeds change: each new
story once as one line, alerts marked and rung, failing feeds said once, the lock free
between polls, Ctrl-C ends it with exit 0."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from kzfeed.errors import UsageError
from kzfeed.store import Store
from kzfeed.ticker import parse_every, ticks

from .conftest import FeedServer, rss, write_config
from .test_cli import _env, run_in_pty
from .test_storylines import ART, ASTANA_TIMES, KAZINFORM


def test_every_reads_seconds_minutes_hours() -> None:
    assert parse_every("5m") == 300 and parse_every("90s") == 90 and parse_every("1h") == 3600
    assert parse_every("2") == 2
    for bad in ("0s", "soon", "-5m", ""):
        with pytest.raises(UsageError):
            parse_every(bad)


def test_a_story_is_one_line_once_per_session() -> None:
    first = {"id": "a1", "feed": "k", "title": "T", "published": "2026-11-24T04:00:00+00:00"}
    copy = {
        **first,
        "id": "b2",
        "feed": "t",
        "story": "a1",
        "published": "2026-11-24T05:00:00+00:00",
    }
    other = {**first, "id": "c3", "title": "U"}
    shown: set[str] = set()
    lines = ticks([first, copy], shown, alerted_ids=["b2"])  # type: ignore[list-item]
    assert len(lines) == 1 and lines[0].alerted and len(lines[0].line.versions) == 2
    assert ticks([copy], shown) == []  # # type: ignore[list-item]
    assert [t.line.lead["id"] for t in ticks([other], shown)] == ["c3"]  # type: ignore[list-item]


def test_watch_on_a_terminal(server: FeedServer, tmp_path: Path) -> None:
    server.add("/k.xml", rss(KAZINFORM[:2]))
    server.add("/t.xml", b"<rss><channel><title>broken", status=500)  # and stays so
    config = write_config(
        tmp_path / "config.toml",
        [
            {"name": "kazinform", "url": server.url("/k.xml"), "lang": "ru"},
            {"name": "tengrinews", "title": "Tengrinews", "url": server.url("/t.xml")},
            {"name": "at", "title": "The Astana Times", "url": server.add("/a.xml", rss([]))},
        ],
        allow_private=True,
        language="ru",
    )
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[[rules]]\nname = "art"\nquery = "выставка"\naction = "alert"\n',
        encoding="utf-8",
    )

    def the_wire_moves() -> None:  # the next polls bring other agencies and a new story
        server.add("/a.xml", rss(ASTANA_TIMES, "The Astana Times", "en"))
        server.add("/k.xml", rss([ART, *KAZINFORM[:2]]))

    lock_free: list[bool] = []

    def take_the_lock() -> None:  # between polls another kzfeed gets the lock at once
        store = Store(tmp_path / "data", lock_timeout=3)
        with store.locked():
            lock_free.append(True)

    timers = [threading.Timer(4.0, the_wire_moves), threading.Timer(6.0, take_the_lock)]
    for timer in timers:
        timer.start()
    env = {**_env(), "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(config), "watch", "--every", "1s"]
    started = time.monotonic()
    code, screen = run_in_pty(cmd, env, size=(24, 80), keys=[(9.0, "\x03")], foreground=True)
    for timer in timers:
        timer.join()
    assert code == 0, screen
    assert time.monotonic() - started < 20
    assert "Traceback" not in screen and "прервано" not in screen
    assert screen.count("Токаев провел переговоры с Мирзиёевым") == 1  # once, first poll
    assert screen.count("Нацбанк сохранил") == 1
    assert "Tokayev, Mirziyoyev hold talks" not in screen  # a known story: no second line
    assert screen.count("tengrinews: HTTP 500") == 1  # said once, not every poll
    art = screen.split("В Алматы открылась выставка")[0].rsplit("\n", 1)[-1]
    assert "●" in art and "\a" in screen  # the alerted story: marked and rung
    assert lock_free == [True]
    for line in screen.replace("\r", "").split("\n"):
        plain = "".join(ch for ch in line if ch >= " " or ch == "\t")
        assert len(plain) <= 80 + 30  # escape codes aside, a line fits the terminal
