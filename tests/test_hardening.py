"""Hostile servers and broken feeds, one case each, against a fault-injection server on
127.0.0.1.  For every case: the broken feed is reported as an error with a clear reason, the
good feed beside it is stored, the database stays readable, and the run ends in bounded time."""

from __future__ import annotations

import codecs
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kzfeed.cli import app
from kzfeed.config import load_config
from kzfeed.dates import parse_human_date, parse_when
from kzfeed.errors import UsageError
from kzfeed.normalize import entry_time
from kzfeed.parse import parse_bytes
from kzfeed.store import Store, check
from kzfeed.update import UpdateReport, update

from .conftest import REPO, FeedServer, rss, write_config

GOOD = rss(
    [
        {
            "title": "Хорошая новость",
            "link": "https://www.inform.kz/ru/good_a1",
            "guid": "good-1",
            "pubDate": "Tue, 24 Nov 2026 09:00:00 +0500",
        }
    ]
)
runner = CliRunner()


def run_case(server: FeedServer, cfg_path: Path, **settings_: Any) -> UpdateReport:
    server.add("/good.xml", GOOD)
    write_config(
        cfg_path,
        [
            {"name": "bad", "url": server.url("/bad")},
            {"name": "good", "url": server.url("/good.xml")},
        ],
        timeout=settings_.pop("timeout", 3),
        **settings_,
    )
    started = time.monotonic()
    report = update(load_config(cfg_path))
    assert time.monotonic() - started < 15, "the run must end in bounded time"
    statuses = {f.name: f for f in report.feeds}
    assert statuses["good"].status == "ok" and statuses["good"].new == 1
    problems, items, _ = check(load_config(cfg_path).data_dir)
    assert problems == [] and items >= 1
    return report


def bad(report: UpdateReport) -> Any:
    return next(f for f in report.feeds if f.name == "bad")


def handler(fn: Callable[[BaseHTTPRequestHandler], None]) -> dict[str, Any]:
    return {"handler": fn}


def _reset(h: BaseHTTPRequestHandler) -> None:
    h.connection.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
    )
    h.close_connection = True
    h.rfile.close()
    h.wfile.close()
    h.connection.close()  # the last reference: a real close, and with linger 0 an RST


def _truncated(h: BaseHTTPRequestHandler) -> None:
    body = GOOD.encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(len(body) * 2))
    h.end_headers()
    h.wfile.write(body[: len(body) // 2])
    h.wfile.flush()
    h.close_connection = True
    h.connection.shutdown(socket.SHUT_RDWR)


def _bomb(h: BaseHTTPRequestHandler) -> None:
    body = BOMB
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _huge_declared(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(10**12))
    h.end_headers()
    h.wfile.write(b"<rss>")


def _make_bomb(megabytes: int = 300) -> bytes:
    """A small gzip body that inflates to hundreds of MB, built without holding them."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1024 * 1024)
    parts = [packer.compress(b"<rss>")]
    parts += [packer.compress(chunk) for _ in range(megabytes)]
    parts.append(packer.compress(b"</rss>") + packer.flush())
    return b"".join(parts)


BOMB = _make_bomb()

ENTITY_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "ААААААААААААААААААААААА">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
    "<rss><channel><title>&e;</title><item><title>&e;&e;&e;</title></item></channel></rss>"
)
ONE_BIG_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "'
    + "Я" * 40_000
    + '">]><rss><channel>'
    + "".join(f"<item><title>&big;</title><guid>{n}</guid></item>" for n in range(200))
    + "</channel></rss>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<rss><channel><item><title>&x;</title></item></channel></rss>"
)
PARAMETER = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
    "<rss><channel><item><title>x</title></item></channel></rss>"
)

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("entity-laughs", {"body": ENTITY_LAUGHS}, "entities; refused"),
    ("one-big-entity", {"body": ONE_BIG_ENTITY}, "entities; refused"),
    ("external-entity", {"body": EXTERNAL}, "entities; refused"),
    ("parameter-entity", {"body": PARAMETER}, "entities; refused"),
    (
        "utf16-entities",
        {"body": codecs.BOM_UTF16_LE + ENTITY_LAUGHS.encode("utf-16-le")},
        "entities; refused",
    ),
    ("decompression-bomb", handler(_bomb), "limit (after decompression)"),
    ("huge-content-length", handler(_huge_declared), "over the"),
    ("over-the-cap", {"body": b"<rss>" + b" " * 3_000_000 + b"</rss>"}, "over the"),
    ("slow-drip", {"body": GOOD, "drip": 0.5}, "timed out"),
    ("redirect-loop", {"status": 302, "headers": {"Location": "/bad"}}, "more than 5 redirects"),
    (
        "redirect-file",
        {"status": 301, "headers": {"Location": "file:///etc/passwd"}},
        "non-http(s)",
    ),
    (
        "redirect-gopher",
        {"status": 302, "headers": {"Location": "gopher://127.0.0.1/x"}},
        "non-http(s)",
    ),
    # only loopback redirect targets here: a regression must not send traffic anywhere else
    (
        "redirect-localhost",
        {"status": 307, "headers": {"Location": "http://localhost:9/feed"}},
        "private",
    ),
    (
        "html-404",
        {
            "status": 404,
            "body": "<html><body><h1>404</h1></body></html>",
            "headers": {"Content-Type": "text/html"},
        },
        "HTTP 404",
    ),
    (
        "html-500",
        {
            "status": 500,
            "body": "<!DOCTYPE html><html><body>oops</body></html>",
            "headers": {"Content-Type": "text/html"},
        },
        "HTTP 500",
    ),
    (
        "html-200",
        {
            "body": "<!DOCTYPE html><html><head><title>Главная</title></head><body></body></html>",
            "headers": {"Content-Type": "text/html"},
        },
        "an HTML page, not a feed",
    ),
    (
        "json-200",
        {"body": '{"items": [{"title": "x"}]}', "headers": {"Content-Type": "application/json"}},
        "not a feed",
    ),
    ("empty-200", {"body": ""}, "empty response"),
    (
        "binary-200",
        {"body": bytes(range(256)) * 40, "headers": {"Content-Type": "application/octet-stream"}},
        "not a feed",
    ),
    ("truncated-body", handler(_truncated), "connection failed"),
    ("connection-reset", handler(_reset), "connection failed"),
    (
        "bad-gzip",
        {"body": b"\x1f\x8b\x08\x00garbage", "headers": {"Content-Encoding": "gzip"}},
        "corrupt gzip",
    ),
    (
        "too-many-items",
        {"body": rss([{"title": f"n{n}", "guid": str(n)} for n in range(60)])},
        "over the limit of 50",
    ),
]


@pytest.mark.parametrize(("name", "route", "reason"), CASES, ids=[c[0] for c in CASES])
def test_hostile_server_cases(
    server: FeedServer, cfg_path: Path, name: str, route: dict[str, Any], reason: str
) -> None:
    server.add("/bad", **route)
    report = run_case(server, cfg_path, max_feed_bytes=2_000_000, max_feed_items=50)
    result = bad(report)
    assert result.status == "error", result
    assert reason in (result.error or ""), result.error
    assert report.errors == 1
    if name.startswith("redirect-") and name not in ("redirect-loop",):
        # nothing was requested from the refused target
        assert all(r.path == "/bad" for r in server.requests if r.path != "/good.xml")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("169.254.169.254", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("not an ip", False),
        ("1.1.1.1", True),
        ("95.59.100.1", True),
        ("2a00:1450:4001::1", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    from kzfeed.fetch import is_public_ip

    assert is_public_ip(address) is public


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/feed",
        "https://[::1]:8443/x",
        "http://192.168.0.1:8080/rss",
        "http://[fe80::1]/",
    ],
)
def test_redirects_to_private_addresses_are_refused_before_any_request(target: str) -> None:
    """Decided on the address alone (literal IPs: no DNS, no traffic)."""
    import asyncio

    from kzfeed.fetch import Fetcher

    async def decide(allow: bool) -> str | None:
        async with Fetcher(allow_private=allow) as fetcher:
            return await fetcher._check_redirect("https://www.inform.kz/rss/rus.xml", target)

    assert "private, loopback or link-local" in (asyncio.run(decide(False)) or "")
    assert asyncio.run(decide(True)) is None


def test_refused_redirects_are_allowed_when_the_user_says_so(
    server: FeedServer, cfg_path: Path
) -> None:
    other = FeedServer()
    other.thread.start()
    try:
        target = f"http://localhost:{other.port}/feed.xml"
        other.add(
            "/feed.xml", rss([{"title": "Интранет", "link": "https://intra.kz/1", "guid": "i1"}])
        )
        server.add("/bad", status=302, headers={"Location": target})
        assert "private" in (bad(run_case(server, cfg_path)).error or "")
        allowed = run_case(
            server,
            cfg_path.parent / "allowed.toml",
            allow_private=True,
            data_dir=str(cfg_path.parent / "allowed-data"),
        )
        assert bad(allowed).status == "ok" and bad(allowed).new == 1
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()


def test_nothing_is_read_from_disk_because_of_a_feed(server: FeedServer, cfg_path: Path) -> None:
    secret = cfg_path.parent / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    server.add(
        "/xinclude",
        f'<rss xmlns:xi="http://www.w3.org/2001/XInclude"><channel><item><title>t</title>'
        f'<description><xi:include href="{secret.as_uri()}" parse="text"/></description>'
        f"</item></channel></rss>",
    )
    write_config(cfg_path, [{"name": "x", "url": server.url("/xinclude")}])
    update(load_config(cfg_path))
    stored = json.dumps(
        [r for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs]
    )
    assert "TOP-SECRET" not in stored


# ------------------------------------------------------------------------------ politeness


def test_expires_header_is_respected_across_runs(server: FeedServer, cfg_path: Path) -> None:
    expires = datetime.now(UTC).replace(microsecond=0).timestamp() + 3600
    from email.utils import formatdate

    server.add("/good.xml", GOOD, headers={"Expires": formatdate(expires, usegmt=True)})
    write_config(cfg_path, [{"name": "good", "url": server.url("/good.xml")}])
    update(load_config(cfg_path))
    again = update(load_config(cfg_path))
    assert again.feeds[0].status == "skipped" and len(server.hits("/good.xml")) == 1
    update(load_config(cfg_path), force=True)
    assert len(server.hits("/good.xml")) == 2


def test_garbage_retry_after_is_ignored(server: FeedServer, cfg_path: Path) -> None:
    server.add("/bad", status=503, headers={"Retry-After": "когда-нибудь"})
    run_case(server, cfg_path)
    again = update(load_config(cfg_path), ["bad"])
    assert again.feeds[0].status == "error"  # asked again: no back-off after one failure


def test_failure_streak_backs_off_exponentially(server: FeedServer, cfg_path: Path) -> None:
    server.add("/bad", status=500)
    run_case(server, cfg_path)
    second = update(load_config(cfg_path), ["bad"])
    assert second.feeds[0].status == "error"
    states = Store(load_config(cfg_path).data_dir).feed_states()
    first_wait = datetime.fromisoformat(states["bad"].next_fetch or "") - datetime.fromisoformat(
        states["bad"].last_fetch or ""
    )
    assert 14 * 60 <= first_wait.total_seconds() <= 16 * 60
    third = update(load_config(cfg_path), ["bad"])
    assert third.feeds[0].status == "skipped" and "backing off after 2 failures" in (
        third.feeds[0].error or ""
    )
    update(load_config(cfg_path), ["bad"], force=True)
    states = Store(load_config(cfg_path).data_dir).feed_states()
    wait = datetime.fromisoformat(states["bad"].next_fetch or "") - datetime.fromisoformat(
        states["bad"].last_fetch or ""
    )
    assert 29 * 60 <= wait.total_seconds() <= 31 * 60 and states["bad"].failures == 3
    server.add("/bad", GOOD.replace("good-1", "bad-1"))
    update(load_config(cfg_path), ["bad"], force=True)
    assert Store(load_config(cfg_path).data_dir).feed_states()["bad"].failures == 0


def test_feeds_shows_health(server: FeedServer, cfg_path: Path) -> None:
    server.add("/bad", status=410)
    server.add("/moved", status=301, headers={"Location": "/good.xml"})
    run_case(server, cfg_path)
    text = (
        cfg_path.read_text(encoding="utf-8")
        + f'\n[[feeds]]\nname = "moved"\nurl = "{server.url("/moved")}"\n'
    )
    cfg_path.write_text(text, encoding="utf-8")
    runner.invoke(app, ["--config", str(cfg_path), "update"])
    rows = {
        r["name"]: r
        for r in json.loads(
            runner.invoke(app, ["--config", str(cfg_path), "feeds", "--json"]).stdout
        )
    }
    assert rows["bad"]["disabled"] is True and "410" in rows["bad"]["last_error"]
    assert rows["moved"]["url"] == server.url("/good.xml") and rows["moved"][
        "config_url"
    ] == server.url("/moved")
    assert rows["good"]["newest_age_days"] is not None and rows["good"]["last_success"]
    human = runner.invoke(app, ["--config", str(cfg_path), "feeds"], env={"COLUMNS": "160"}).stdout
    assert "disabled" in human and "moved to" in human


# ------------------------------------------------------------------------------ encodings


def _serve_and_titles(
    server: FeedServer, cfg_path: Path, body: bytes, content_type: str
) -> list[str]:
    server.add("/enc.xml", body, headers={"Content-Type": content_type})
    write_config(cfg_path, [{"name": "enc", "url": server.url("/enc.xml")}])
    report = update(load_config(cfg_path))
    assert report.errors == 0, report.feeds
    return [
        r["title"] for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs
    ]


TITLE = "Токаев провел переговоры в Астане"
DOC = (
    '<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>Kazinform</title>'
    f"<item><title>{TITLE}</title><link>https://www.inform.kz/ru/a1</link><guid>a1</guid></item>"
    "</channel></rss>"
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (codecs.BOM_UTF16_LE + DOC.format(enc="utf-16").encode("utf-16-le"), "application/xml"),
        (codecs.BOM_UTF16_BE + DOC.format(enc="utf-16").encode("utf-16-be"), "application/rss+xml"),
        (DOC.format(enc="windows-1251").encode("cp1251"), "application/rss+xml; charset=utf-8"),
        (DOC.format(enc="windows-1251").encode("cp1251"), "text/xml; charset=windows-1251"),
        (
            DOC.format(enc="utf-8").replace('encoding="utf-8"', "").encode("cp1251"),
            "application/xml",
        ),
        (DOC.format(enc="utf-8").replace('encoding="utf-8"', "").encode("koi8_r"), "text/xml"),
        (DOC.format(enc="koi8-r").encode("koi8_r"), "application/xml"),
    ],
    ids=[
        "utf16le-bom",
        "utf16be-bom",
        "http-utf8-contradicts-decl-cp1251",
        "cp1251-declared",
        "cp1251-undeclared",
        "koi8r-undeclared",
        "koi8r-declared",
    ],
)
def test_encodings(server: FeedServer, cfg_path: Path, body: bytes, content_type: str) -> None:
    assert _serve_and_titles(server, cfg_path, body, content_type) == [TITLE]


def test_invalid_utf8_keeps_the_cyrillic(server: FeedServer, cfg_path: Path) -> None:
    body = (
        DOC.format(enc="utf-8").encode().replace("Астане".encode(), "Астане".encode() + b"\xff\xfe")
    )
    assert _serve_and_titles(server, cfg_path, body, "application/rss+xml; charset=utf-8") == [
        TITLE + "\ufffd\ufffd"
    ]


# ------------------------------------------------------------------------------ dates and entries


@pytest.mark.parametrize(
    ("pub_date", "estimated"),
    [
        ("", True),
        ("вчера вечером", True),
        ("Fri, 31 Dec 9999 23:59:59 +0000", True),  # the future: clamped to the fetch time
        ("Thu, 30 Feb 2023 10:00:00 +0000", True),
        ("Tue, 24 Nov 2026 09:00:00 +2400", None),  # an absurd offset: parsed or not, never a crash
        ("Tue, 24 Nov 2026 09:00:00 +0500", False),
    ],
)
def test_bad_dates(
    server: FeedServer, cfg_path: Path, pub_date: str, estimated: bool | None
) -> None:
    item = {"title": "Дата", "link": "https://t.kz/1", "guid": "1"}
    if pub_date:
        item["pubDate"] = pub_date
    server.add("/d.xml", rss([item]))
    write_config(cfg_path, [{"name": "d", "url": server.url("/d.xml")}])
    before = datetime.now(UTC)
    assert update(load_config(cfg_path)).errors == 0
    (record,) = [r for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs]
    when = datetime.fromisoformat(record["published"])
    assert when <= datetime.now(UTC)
    if estimated is not None:
        assert record["date_estimated"] is estimated
    if estimated:
        assert when >= before.replace(microsecond=0)


def test_entries_without_title_link_or_guid_and_changing_guids(
    server: FeedServer, cfg_path: Path
) -> None:
    items = [
        {"description": "Только описание, без заголовка", "link": "https://t.kz/a", "guid": "a"},
        {"title": "Без ссылки", "guid": "b"},
        {"title": "Без guid", "link": "https://t.kz/c"},
        {"title": "Дубль 1", "link": "https://t.kz/d1", "guid": "dup"},
        {"title": "Дубль 2", "link": "https://t.kz/d2", "guid": "dup"},
        {"title": "Меняет guid", "link": "https://t.kz/e", "guid": "e-1"},
    ]
    server.add("/e.xml", rss(items))
    write_config(cfg_path, [{"name": "e", "url": server.url("/e.xml")}])
    assert update(load_config(cfg_path)).new == 6
    items[-1]["guid"] = "e-2"  # a feed that changes GUIDs on every fetch
    items[2]["title"] = "Без guid (обновлено)"
    server.add("/e.xml", rss(items))
    report = update(load_config(cfg_path))
    assert report.new == 0 and report.updated == 1
    titles = sorted(
        r["title"] for _d, rs in Store(load_config(cfg_path).data_dir).iter_newest() for r in rs
    )
    assert titles == [
        "Без guid (обновлено)",
        "Без ссылки",
        "Дубль 1",
        "Дубль 2",
        "Меняет guid",
        "Только описание, без заголовка",
    ]


# ------------------------------------------------------------------------------ size and memory


MEASURE = (
    "import resource, sys\n"
    "from kzfeed.cli import main\n"
    "sys.argv = ['kzfeed', *sys.argv[1:]]\n"
    "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
    "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
    "           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stderr.write(f'PEAK_RSS_KB={peak}\\n')\n"
    "sys.exit(code)\n"
)


def measured(cfg_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run kzfeed in a subprocess; return the result and its peak RSS in MB (with workers)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, "--config", str(cfg_path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return result, int(result.stderr.split("PEAK_RSS_KB=")[1].split()[0]) / 1024


def test_a_20mb_feed_and_a_50k_item_feed_are_refused_quickly_with_bounded_memory(
    server: FeedServer, cfg_path: Path
) -> None:
    entry = "<item><title>Новость {n}</title><link>https://t.kz/{n}</link><guid>{n}</guid></item>"
    fifty_k = (
        '<rss version="2.0"><channel><title>big</title>'
        + "".join(entry.format(n=n) for n in range(50_000))
        + "</channel></rss>"
    ).encode()
    twenty_mb = (
        b'<rss version="2.0"><channel><title>big</title>'
        + b"<!-- pad -->" * 1_750_000
        + b"</channel></rss>"
    )
    server.add("/50k.xml", fifty_k)
    server.add("/20mb.xml", twenty_mb, gzip=True)
    server.add("/good.xml", GOOD)
    write_config(
        cfg_path,
        [
            {"name": "fifty", "url": server.url("/50k.xml")},
            {"name": "twenty", "url": server.url("/20mb.xml")},
            {"name": "good", "url": server.url("/good.xml")},
        ],
    )
    started = time.monotonic()
    result, peak_mb = measured(cfg_path, "update", "--json")
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    feeds = {f["name"]: f for f in json.loads(result.stdout)["feeds"]}
    assert "entries, over the limit of 10000" in feeds["fifty"]["error"]
    assert "over the 16777216-byte limit" in feeds["twenty"]["error"]
    assert feeds["good"]["status"] == "ok"
    assert elapsed < 30
    assert peak_mb < 300, peak_mb


# ------------------------------------------------------------------------------ crash safety


def test_kill_9_during_update_leaves_a_database_that_opens(
    server: FeedServer, cfg_path: Path
) -> None:
    feeds = []
    for n in range(12):
        items = [
            {
                "title": f"Новость {n}-{k}",
                "link": f"https://zakon.kz/{n}/{k}",
                "guid": f"{n}-{k}",
                "pubDate": f"Tue, {10 + k % 14} Nov 2026 09:10:00 +0500",
            }
            for k in range(300)
        ]
        server.add(f"/f{n}.xml", rss(items), delay=0.05 * (n % 4))
        feeds.append({"name": f"f{n}", "url": server.url(f"/f{n}.xml")})
    write_config(cfg_path, feeds)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "update"]
    data = load_config(cfg_path).data_dir
    rng = random.Random(5)
    for attempt in range(4):
        proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.4, 1.6))
        os.killpg(proc.pid, signal.SIGKILL)  # the update and its parse workers
        proc.wait()
        if data.exists():
            problems, _items, _ = check(data)
            assert [p for p in problems if "missing from the index" not in p] == [], (
                attempt,
                problems,
            )
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    problems, items, _ = check(data)
    assert problems == [] and items == 12 * 300
    assert not list(data.rglob("*.tmp"))


def test_corrupt_store_then_db_check_and_restore(server: FeedServer, cfg_path: Path) -> None:
    server.add("/good.xml", GOOD)
    write_config(cfg_path, [{"name": "good", "url": server.url("/good.xml")}])
    kz = lambda *a: runner.invoke(app, ["--config", str(cfg_path), *a])  # noqa: E731
    assert kz("update").exit_code == 0
    data = load_config(cfg_path).data_dir
    for damage in (b"", b'{"items": {"1": {"id": "tru', b"\x00" * 100):
        (day,) = (data / "items").glob("*.json")
        day.write_bytes(damage)
        result = kz("latest")
        assert result.exit_code == 1 and str(day) in result.stderr and "db restore" in result.stderr
        assert day.read_bytes() == damage  # never overwritten
        # an update that stores nothing in that day goes on (and leaves it as it is)
        assert kz("update").exit_code == 0 and day.read_bytes() == damage
        assert kz("update", "--force").exit_code == 0 and day.read_bytes() == damage
        checked = kz("db", "check")
        assert checked.exit_code == 1 and str(day) in checked.output
        restored = kz("db", "restore")
        assert restored.exit_code == 0, restored.output
        assert kz("db", "check").stdout.startswith("ok: 1 item in 1 partitions")
        assert json.loads(kz("latest", "--json").stdout)[0]["title"] == "Хорошая новость"
    kept = sorted(p.name for p in data.iterdir() if p.name.startswith("replaced-"))
    assert kept  # the damaged files were moved aside, not deleted
    # the identity index is derived: damaged, it is built again from the stored files
    item_id = json.loads(kz("latest", "--json").stdout)[0]["id"]
    for damage in (b"", b"\x00" * 100, b"SQLite format 3\x00" + b"\xff" * 4000):
        for path in data.glob("identity.sqlite*"):
            path.unlink()
        (data / "identity.sqlite").write_bytes(damage)
        shown = kz("show", item_id[:6])
        assert shown.exit_code == 0 and "Хорошая новость" in shown.stdout
        assert kz("db", "check").exit_code == 0
        assert json.loads(kz("update", "--force", "--json").stdout)["new"] == 0


# ------------------------------------------------------------------------------ properties


@given(st.text(max_size=60))
@settings(max_examples=300)
def test_human_dates_never_crash(text: str) -> None:
    from zoneinfo import ZoneInfo

    result = parse_human_date(text, ZoneInfo("Asia/Almaty"), datetime(2026, 11, 24, tzinfo=UTC))
    assert result is None or result.tzinfo is not None


@given(st.text(max_size=30))
def test_time_grammar_raises_only_usage_errors(text: str) -> None:
    from zoneinfo import ZoneInfo

    try:
        result = parse_when(text, ZoneInfo("Asia/Almaty"), datetime(2026, 11, 24, tzinfo=UTC))
    except UsageError:
        return
    assert result.tzinfo is not None


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=9, max_size=9))
def test_entry_time_never_crashes_and_never_returns_the_future(values: list[int]) -> None:
    fetched = datetime(2026, 11, 24, 12, tzinfo=UTC)
    when, estimated = entry_time({"published_parsed": time.struct_time(values)}, fetched)
    assert when <= fetched or not estimated
    assert when <= fetched.replace(minute=10) or when == fetched


def test_a_decompression_bomb_never_inflates_in_memory(server: FeedServer, cfg_path: Path) -> None:
    """300 MB of spaces in 300 KB of gzip: stopped at the cap without ever holding more than
    the cap (httpx alone would inflate each 64 KB network chunk to ~64 MB)."""
    server.add("/bad", handler=_bomb)
    server.add("/good.xml", GOOD)
    write_config(
        cfg_path,
        [
            {"name": "bad", "url": server.url("/bad")},
            {"name": "good", "url": server.url("/good.xml")},
        ],
        max_feed_bytes=1_000_000,
    )
    result, update_mb = measured(cfg_path, "update", "--json")
    feeds = {f["name"]: f for f in json.loads(result.stdout)["feeds"]}
    assert "after decompression" in feeds["bad"]["error"] and feeds["good"]["status"] == "ok"
    _baseline, baseline_mb = measured(cfg_path, "feeds")
    assert update_mb - baseline_mb < 60, (update_mb, baseline_mb)


@settings(max_examples=150)
@given(
    st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
    st.sampled_from(["rfc822", "rfc822-no-day", "rfc822-gmt", "iso", "iso-z", "iso-frac"]),
)
def test_rfc822_and_iso_dates_give_the_instant_they_name(
    when: datetime, offset_minutes: int, form: str
) -> None:
    """Those dates skip kzfeed's Russian/Kazakh handler (feedparser's own read them): the
    entry's time must be the instant written, whichever handler read it."""
    from datetime import timedelta, timezone

    if form in ("rfc822-gmt", "iso-z"):
        offset_minutes = 0
    tz = timezone(timedelta(minutes=offset_minutes))
    local = when.replace(microsecond=0, tzinfo=tz)
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    written = {
        "rfc822": local.strftime(f"%a, %d %b %Y %H:%M:%S {sign}{hh:02d}{mm:02d}"),
        "rfc822-no-day": local.strftime(f"%d %b %Y %H:%M {sign}{hh:02d}{mm:02d}"),
        "rfc822-gmt": local.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "iso": local.strftime(f"%Y-%m-%dT%H:%M:%S{sign}{hh:02d}:{mm:02d}"),
        "iso-z": local.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso-frac": local.strftime(f"%Y-%m-%dT%H:%M:%S.250{sign}{hh:02d}:{mm:02d}"),
    }[form]
    if form == "rfc822-no-day":
        local = local.replace(second=0)
    doc = rss([{"title": "Т", "link": "https://www.inform.kz/ru/a", "pubDate": written}])
    raw = parse_bytes(doc.encode(), {"content-type": "application/rss+xml; charset=utf-8"})
    parsed = raw.entries[0]["published_parsed"]
    assert datetime(*parsed[:6], tzinfo=UTC) == local.astimezone(UTC), written


def _rebinding_resolver(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """`rebind.test` resolves to the given addresses in turn (a DNS server that changes its
    answer between two lookups); every other name resolves as usual."""
    import asyncio.base_events
    import socket

    real = asyncio.base_events.BaseEventLoop.getaddrinfo
    asked: list[str] = []

    async def getaddrinfo(self: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return await real(self, host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return asked


def _fetch_via_redirect(server: FeedServer, target: str) -> Any:
    import asyncio

    from kzfeed.fetch import Fetcher

    server.add("/moved", status=302, headers={"Location": target})

    async def go() -> Any:
        async with Fetcher() as fetcher:
            return await fetcher.fetch("feed", server.url("/moved"))

    return asyncio.run(go())


def test_a_rebinding_dns_answer_cannot_turn_a_checked_redirect_private(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The redirect target's name is public when checked, loopback when connected to: kzfeed
    connects only to the addresses it checked, so the internal server is never reached."""
    internal = FeedServer()
    internal.thread.start()
    try:
        internal.add("/secret.xml", rss([{"title": "Внутреннее", "link": "https://in.kz/1"}]))
        asked = _rebinding_resolver(monkeypatch, ["95.59.100.1", "127.0.0.1"])
        result = _fetch_via_redirect(server, f"http://rebind.test:{internal.port}/secret.xml")
        assert result.error == (
            "refused: rebind.test resolves to a private, loopback or link-local address "
            "(127.0.0.1); settings.allow_private = true allows it"
        )
        assert internal.requests == []
        assert asked == ["95.59.100.1", "127.0.0.1"]  # the check's lookup, then the connect's
    finally:
        internal.httpd.shutdown()
        internal.httpd.server_close()


def test_a_checked_redirect_connects_to_the_checked_address_without_asking_again(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinned path end to end (loopback counts as public for this test only): one lookup
    for the check, one by the transport, the connection made to the address it found, the
    request still naming the host."""
    import kzfeed.fetch
    import kzfeed.transport

    def loopback_is_public(value: str) -> bool:
        return value == "127.0.0.1"

    monkeypatch.setattr(kzfeed.fetch, "is_public_ip", loopback_is_public)
    monkeypatch.setattr(kzfeed.transport, "is_public_ip", loopback_is_public)
    other = FeedServer()
    other.thread.start()
    try:
        other.add("/feed.xml", rss([{"title": "Снаружи", "link": "https://out.kz/1"}]))
        asked = _rebinding_resolver(monkeypatch, ["127.0.0.1", "127.0.0.1", "10.255.255.1"])
        result = _fetch_via_redirect(server, f"http://rebind.test:{other.port}/feed.xml")
        assert result.error is None and "Снаружи" in result.body.decode()
        assert asked == ["127.0.0.1", "127.0.0.1"]
        assert [seen.headers["host"] for seen in other.requests] == [f"rebind.test:{other.port}"]
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()


def test_feeds_are_parsed_by_expat_with_no_other_xml_parser_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """feedparser asks xml.sax for libxml2's driver before expat on every parse: an import
    that fails each time, and a parser kzfeed has not vetted were it ever installed."""
    import builtins

    from kzfeed.parse import parse_bytes

    asked: list[str] = []
    real = builtins.__import__

    def recording(name: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", recording)
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>a</title></item></channel></rss>'
    )
    raw = parse_bytes(body, {})
    assert [e["title"] for e in raw.entries] == ["a"]
    assert "xml.sax.expatreader" in asked and "drv_libxml2" not in asked
