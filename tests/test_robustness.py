"""No server and no feed can stop, hang or corrupt an update (issue 16).

Each case is served from the loopback server beside a good feed: the bad feed costs itself
at most, with a reason; the good one is stored; the database checks clean.  Deadlines here
are generous bounds on a hang (minutes of CPU before the fixes), not speed measurements.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import html.parser
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from kzfeed import encoding
from kzfeed.cli import app
from kzfeed.config import load_config
from kzfeed.fetch import parse_cache_control, parse_retry_after, safe_location
from kzfeed.htmltext import defuse, html_to_text
from kzfeed.parse import looks_like_html, parse_bytes
from kzfeed.sanitize import clean_line
from kzfeed.store import Store, check
from kzfeed.update import update

from .conftest import REPO, FeedServer, rss, write_config
from .test_hardening import bad, run_case

runner = CliRunner()
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KAZAKH = "Тоқаев Өзбекстан Президентімен әңгімелесті: ұлттық үміт, һәм іс"
UNSAFE_OUTPUT = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]] + [
    chr(c) for c in [*range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
]


def feed(title: str, n: int = 1, link: str = "https://www.inform.kz/ru/x_a{k}") -> str:
    return rss(
        [
            {
                "title": f"{title} {k}",
                "link": link.format(k=k),
                "guid": f"{title}-{k}",
                "pubDate": "Tue, 24 Nov 2026 09:00:00 +0500",
                "description": f"<p>{title} {k}</p>",
            }
            for k in range(n)
        ]
    )


def stored(cfg_path: Path) -> list[dict[str, Any]]:
    store = Store(load_config(cfg_path).data_dir)
    return [store.get(i) or {} for i in store.ids()]


def kz(cfg_path: Path, *args: str) -> Any:
    return runner.invoke(app, ["--config", str(cfg_path), *args])


# ---------------------------------------------------------------- 1. one header, one feed


def test_an_enormous_max_age_costs_nothing(server: FeedServer, cfg_path: Path) -> None:
    """max-age=1e20 overflowed timedelta: every run died with a traceback, also on 304s."""
    server.add(
        "/bad", feed("Долгий кэш"), etag='"v1"', headers={"Cache-Control": "max-age=" + "9" * 20}
    )
    report = run_case(server, cfg_path)
    assert bad(report).status == "ok" and bad(report).new == 1
    state = Store(load_config(cfg_path).data_dir).feed_states()["bad"]
    assert state.next_fetch is not None  # capped at a day
    result = kz(cfg_path, "update", "--force")  # a 304 carries the header too
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_padded_numbers_in_cache_headers_keep_their_value() -> None:
    headers = httpx.Headers([(b"cache-control", b"max-age=0000000000003600")])
    assert parse_cache_control(headers, NOW) == NOW + timedelta(hours=1)
    assert parse_retry_after("000000000000120", NOW) == NOW + timedelta(minutes=2)


@pytest.mark.parametrize(
    "value",
    ["garbage", "²", "١٢٣", "9" * 40, "-5", "Mon, 01 Jan 99999999999 00:00:00 GMT", "\x00"],
)
def test_unreadable_cache_headers_are_ignored_or_capped(value: str) -> None:
    retry = parse_retry_after(value, NOW)
    assert retry is None or NOW < retry <= NOW + timedelta(days=7)
    headers = httpx.Headers(
        [(b"cache-control", b"max-age=" + value.encode()), (b"expires", value.encode())]
    )
    when = parse_cache_control(headers, NOW)
    assert when is None or NOW < when <= NOW + timedelta(days=1)


def test_a_garbage_retry_after_on_429_says_only_what_happened(
    server: FeedServer, cfg_path: Path
) -> None:
    server.add("/bad", status=429, headers={"Retry-After": "²"})
    report = run_case(server, cfg_path)
    assert bad(report).error == "HTTP 429 Too Many Requests"  # no made-up retry time


STAGES = {
    "fetch": ("kzfeed.fetch.Fetcher._finish", "fetching"),
    "parse": ("kzfeed.parse.parse_bytes", "parser failed"),
    "normalize": ("kzfeed.normalize.normalize_entries", "parser failed"),
    "dedup": ("kzfeed.dedup.plan", "storing"),
    "store": ("kzfeed.model.Item.to_record", "storing"),
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_an_exception_in_any_stage_costs_one_feed(
    server: FeedServer, cfg_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    target, reason = STAGES[stage]
    module_name, _, attr = target.rpartition(".")
    owner: Any
    if module_name.endswith(("Fetcher", "Item")):
        mod, _, cls = module_name.rpartition(".")
        owner = getattr(__import__(mod, fromlist=[cls]), cls)
    else:
        owner = __import__(module_name, fromlist=[attr])
    original = getattr(owner, attr)
    calls = {"n": 0}

    def boom(*args: Any, **kwargs: Any) -> Any:
        text = repr(args)[:100_000]
        if "poison" in text or "/poison" in text:
            calls["n"] += 1
            if stage != "store" or calls["n"] == 2:  # store: the 2nd item of 3 fails
                raise RuntimeError(f"injected into {stage}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attr, boom)
    server.add("/poison", feed("poison", 3, "https://www.inform.kz/ru/poison_a{k}"))
    for n in range(3):
        server.add(f"/ok{n}", feed(f"ok{n}", 2, f"https://tengrinews.kz/ok{n}/{{k}}"))
    write_config(
        cfg_path,
        [{"name": "poison", "url": server.url("/poison")}]
        + [{"name": f"ok{n}", "url": server.url(f"/ok{n}")} for n in range(3)],
    )
    result = kz(cfg_path, "update", "--json")
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    by_name = {f["name"]: f for f in data["feeds"]}
    assert by_name["poison"]["status"] == "error"
    assert reason in by_name["poison"]["error"] and "injected" in by_name["poison"]["error"]
    assert all(
        by_name[f"ok{n}"]["status"] == "ok" and by_name[f"ok{n}"]["new"] == 2 for n in range(3)
    )
    titles = [r["title"] for r in stored(cfg_path)]
    assert len(titles) == 6 and not any("poison" in t for t in titles)  # nothing half-stored
    assert check(load_config(cfg_path).data_dir)[0] == []
    monkeypatch.setattr(owner, attr, original)
    again = kz(cfg_path, "update", "--json")  # the body was not remembered as handled
    assert again.exit_code == 0, again.output
    assert sum("poison" in r["title"] for r in stored(cfg_path)) == 3


# ---------------------------------------------------------------- 2-3. linear-time text work


def test_forty_comments_before_the_feed_parse_at_once(server: FeedServer, cfg_path: Path) -> None:
    body = "<!-- c -->\n" * 40 + feed("Комментарии")
    assert not looks_like_html(body.encode())
    assert looks_like_html(b"<!-- a -->" * 40 + b"<!DOCTYPE html><html>")
    assert not looks_like_html(b"<!-- never closed" + b"<!-- x" * 5000)
    server.add("/bad", body)
    report = run_case(server, cfg_path, parse_timeout=10)
    assert bad(report).status == "ok" and bad(report).new == 1
    # the pattern ran when feedparser found no feed: comments before a page that is none
    server.add(
        "/bad", "<!-- c -->\n" * 40 + "<div>no feed</div>", headers={"Content-Type": "text/html"}
    )
    again = update(load_config(cfg_path), ["bad"])
    assert again.feeds[0].status == "error" and "not a feed" in (again.feeds[0].error or "")


@pytest.mark.parametrize(
    "shape",
    [
        *("<a ", '<a href="', "<!--", "<![CDATA[", "<b", "<p ", "<"),
        *("<!--x>", "<![if x>", "<![CDATA[x>", '<img alt="x<y" ', '<a x="', '<"<a"'),
    ],
    ids=repr,
)
def test_unclosed_markup_is_read_once(shape: str) -> None:
    markup = "Начало " + shape * (200_000 // len(shape)) + " конец"  # under MARKUP_LIMIT
    defused = defuse(markup)
    # what html.parser gets: no "<" left without a ">" after it (each is read once)
    assert all(">" in part for part in defused.split("<")[1:])
    text = html_to_text(markup, links=True)
    assert text.startswith("Начало") and text.endswith("конец")
    assert shape.strip()[:4] in text  # shown as the text it is


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ('<p><img alt="x<y" src="a.jpg">Текст после картинки</p>', "Текст после картинки"),
        ('<p onclick="if(a<b)c()">Нажми</p>', "Нажми"),
        ("<p>a</p><![CDATA[ x<y ]]><p>b</p>", "a\n\nb"),
        ("<!--[if gte mso 9]><xml>x</xml><![endif]--><p>Текст</p>", "Текст"),
        ('<p title="a > b">x</p>', "x"),
        ("<p>1 < 2 and 3 > 2</p>", "1 < 2 and 3 > 2"),
    ],
)
def test_defusing_leaves_well_formed_markup_as_it_was(markup: str, text: str) -> None:
    assert html_to_text(markup, links=True) == text


def test_a_description_of_unclosed_tags_is_stored_as_text(
    server: FeedServer, cfg_path: Path
) -> None:
    body = feed("Теги").replace("<p>Теги 0</p>", "<a " * 20_000)  # in CDATA, as "&lt;a " outside
    server.add("/bad", body)
    report = run_case(server, cfg_path, parse_timeout=20)
    assert bad(report).status == "ok"
    (item,) = [r for r in stored(cfg_path) if r["feed"] == "bad"]
    assert item["summary"].startswith("<a <a")


# ---------------------------------------------------------------- 4. a deadline, no orphans


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _cpu_ticks(pid: int) -> int:
    """User and system CPU time of a process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_a_parse_past_its_budget_is_stopped_and_the_run_goes_on(
    server: FeedServer, cfg_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kzfeed.parse

    original = kzfeed.parse.parse_bytes

    def stuck(body: bytes, *args: Any, **kwargs: Any) -> Any:
        if b"stuck" in body:
            while True:  # CPU-bound and deaf to everything but a kill
                pass
        return original(body, *args, **kwargs)

    monkeypatch.setattr(kzfeed.parse, "parse_bytes", stuck)
    server.add("/stuck", feed("stuck"))
    server.add("/good2", feed("Вторая", link="https://tengrinews.kz/two/{k}"))
    server.add("/good.xml", feed("Первая", link="https://tengrinews.kz/one/{k}"))
    write_config(
        cfg_path,
        [
            {"name": "stuck", "url": server.url("/stuck")},
            {"name": "good", "url": server.url("/good.xml")},
            {"name": "good2", "url": server.url("/good2")},
        ],
        parse_timeout=1,
    )
    report = update(load_config(cfg_path))
    by_name = {f.name: f for f in report.feeds}
    assert by_name["stuck"].status == "error"
    assert by_name["stuck"].error == "parsing took longer than 1 s; stopped"
    assert by_name["good"].new == 1 and by_name["good2"].new == 1
    assert _children(os.getpid()) == []  # the stuck worker was killed, the others ended


def _slow_feed(n: int) -> str:
    """A legitimate feed that takes feedparser 5-10 s of CPU: 10,000 entries of 40 categories."""
    return rss(
        [
            {
                "title": f"Новость номер {k}",
                "link": f"https://www.inform.kz/ru/n{n}_a{k}",
                "guid": f"n{n}-{k}",
                "pubDate": "Tue, 24 Nov 2026 09:00:00 +0500",
                "categories": "|".join(f"c{j}" for j in range(40)),
            }
            for k in range(10_000)
        ]
    )


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_a_killed_update_leaves_no_process_behind(
    server: FeedServer, cfg_path: Path, sig: signal.Signals
) -> None:
    """`timeout 60 kzfeed update` from cron: the signal reaches kzfeed only (not its process
    group), and a worker in the middle of a long parse must not run on."""
    feeds = []
    for n in range(2):
        server.add(f"/slow{n}", _slow_feed(n))
        feeds.append({"name": f"slow{n}", "url": server.url(f"/slow{n}")})
    write_config(cfg_path, feeds)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "kzfeed", "--config", str(cfg_path), "update"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert workers, "the update should have forked its parse workers"
        deadline = time.monotonic() + 30  # until a worker is parsing (its CPU time grows)
        while max(_cpu_ticks(w) for w in workers) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert max(_cpu_ticks(w) for w in workers) >= 20, "no worker started parsing"
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 2  # far less than what is left of the parse
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "parse workers outlived kzfeed"
    finally:
        if proc.poll() is None:
            proc.kill()


# ---------------------------------------------------------------- 5-8. text decoded right


def _doc(title: str, declaration: str | None = None) -> str:
    decl = f'<?xml version="1.0" encoding="{declaration}"?>' if declaration else ""
    return (
        f'{decl}<rss version="2.0"><channel><title>Feed</title><item><title>{title}</title>'
        "<link>https://kaz.inform.kz/news/a1</link></item></channel></rss>"
    )


XML = {"content-type": "application/xml"}
HEBREW = (  # a sentence or two: fewer words are as likely Greek or Russian to any detector
    "בחירות לנשיאות צרפת: תוצאות ראשונות מהקלפיות מראות כי המועמד המוביל זכה ברוב הקולות, "
    "כך הודיע משרד הפנים בפריז הערב"
)
FRENCH = (
    "Élection présidentielle : à Paris, les électeurs se sont déplacés en masse ; "
    "le résultat du scrutin sera connu à vingt heures, a précisé le ministère de l'Intérieur"
)

ENCODED = {
    "utf-32-be with BOM": (
        codecs.BOM_UTF32_BE + _doc(KAZAKH, "utf-32").encode("utf-32-be"),
        KAZAKH,
    ),
    "utf-32-le with BOM": (
        codecs.BOM_UTF32_LE + _doc(KAZAKH, "utf-32").encode("utf-32-le"),
        KAZAKH,
    ),
    "utf-16-le, no BOM": (_doc(KAZAKH, "utf-16").encode("utf-16-le"), KAZAKH),
    "utf-16-be, no BOM": (_doc(KAZAKH, "utf-16").encode("utf-16-be"), KAZAKH),
    "utf-16-le, no BOM, no declaration": (_doc(KAZAKH).encode("utf-16-le"), KAZAKH),
    "latin-1, undeclared": (_doc(FRENCH).encode("latin-1"), FRENCH),
    "hebrew cp1255, undeclared": (_doc(HEBREW).encode("cp1255"), HEBREW),
    "shift_jis, undeclared": (
        _doc("日本の選挙結果が発表されました。東京では投票率が上がりました").encode("shift_jis"),
        "日本の選挙結果が発表されました。東京では投票率が上がりました",
    ),
    "koi8-r, undeclared, short": (
        _doc("Выборы в Казахстане").encode("koi8_r"),
        "Выборы в Казахстане",
    ),
    "cp1251, undeclared, short": (
        _doc("Выборы в Казахстане").encode("cp1251"),
        "Выборы в Казахстане",
    ),
    "kz1048, undeclared": (_doc(KAZAKH).encode("kz1048"), KAZAKH),
    "cp1251 declared, one undefined byte": (
        _doc("Привет, мир XX тест", "windows-1251").encode("cp1251").replace(b"XX", b"\x98"),
        "Привет, мир \ufffd тест",
    ),
    "a flipped byte in the declared encoding's name": (
        _doc("Привет, мир", "ut\udcba-8").encode("utf-8", "surrogateescape"),
        "Привет, мир",
    ),
    "an encoding name nobody knows": (_doc("Привет, мир", "bogus-8").encode(), "Привет, мир"),
    "utf-8 body, windows-1251 declared (И is 0xD0 0x98 in UTF-8)": (
        _doc("Информация из Астаны", "windows-1251").encode(),
        "Информация из Астаны",
    ),
    "utf-8 body, us-ascii declared": (_doc("Информация", "us-ascii").encode(), "Информация"),
    "utf-8 declared, two bad bytes": (
        _doc("Привет, мир XX тест", "utf-8").encode().replace(b"XX", b"\xff\xfe"),
        "Привет, мир \ufffd\ufffd тест",
    ),
}


@pytest.mark.parametrize("case", sorted(ENCODED))
def test_text_is_decoded_as_the_bytes_say(case: str) -> None:
    body, title = ENCODED[case]
    raw = parse_bytes(body, XML)
    assert [e["title"] for e in raw.entries] == [title]


def test_a_utf32_feed_is_stored_in_kazakh(server: FeedServer, cfg_path: Path) -> None:
    body, title = ENCODED["utf-32-be with BOM"]
    server.add("/bad", body, headers={"Content-Type": "application/rss+xml"})
    report = run_case(server, cfg_path)
    assert bad(report).status == "ok"
    assert [r["title"] for r in stored(cfg_path) if r["feed"] == "bad"] == [title]


def test_cyrillic_is_guessed_only_for_cyrillic_text() -> None:
    assert encoding.looks_cyrillic("Как пережить новогоднюю ночь в Астане и Алматы")
    assert not encoding.looks_cyrillic("Йlection prйsidentielle а Paris : les rйsultats")
    assert not encoding.looks_cyrillic("бзйшеъ мрщйаеъ цшфъ ъецаеъ шащереъ")  # Hebrew as cp1251


@pytest.mark.parametrize(
    ("refs", "title"),
    [
        ("&#55357;&#56832;", "смайл 😀"),  # an emoji as a surrogate pair of references
        ("&#xD83D;&#xDE00;", "смайл 😀"),
        ("&#1114112;", "смайл \ufffd"),
        ("&#x110000;", "смайл \ufffd"),
        ("&#99999999999999999999;", "смайл \ufffd"),
        ("&#55357;", "смайл \ufffd"),  # a lone surrogate
        ("&#xFFFE;", "смайл \ufffd"),
        ("&#27;", "смайл"),  # a control character: dropped, as from any text
    ],
)
def test_bad_character_references_cost_only_themselves(refs: str, title: str) -> None:
    raw = parse_bytes(_doc(f"смайл {refs}", "utf-8").encode(), XML)
    assert [clean_line(e["title"]) for e in raw.entries] == [title]


@given(st.lists(st.integers(min_value=0, max_value=0x11FFFF), max_size=8))
def test_repaired_references_always_parse_as_xml(values: list[int]) -> None:
    refs = "".join(f"&#{v};" if v % 2 else f"&#x{v:X};" for v in values)
    repaired = encoding.repair_char_refs(f"<t>a{refs}b</t>".encode())
    text = ET.fromstring(repaired).text or ""
    assert text.startswith("a") and text.endswith("b")


# ---------------------------------------------------------------- 9. cut bodies


def test_half_a_gzip_body_stores_nothing(server: FeedServer, cfg_path: Path) -> None:
    whole = feed("Сжатая", 4).encode()
    packed = gzip.compress(whole)
    route = {"headers": {"Content-Encoding": "gzip"}}
    server.add("/bad", packed[: len(packed) // 2], **route)
    report = run_case(server, cfg_path)
    assert bad(report).status == "error"
    assert bad(report).error == "truncated gzip body: the compressed stream ends early"
    assert [r for r in stored(cfg_path) if r["feed"] == "bad"] == []
    server.add("/bad", packed, **route)
    again = update(load_config(cfg_path), ["bad"])
    assert again.feeds[0].new == 4
    assert len([r for r in stored(cfg_path) if r["feed"] == "bad"]) == 4  # each once


# ---------------------------------------------------------------- 10-11. output that holds


HOSTILE_TITLE = (
    "Титул \ufffe\x1b[31mкрасный\x9b2J \u202eевыч [bold]x[/bold] <script>alert(1)</script>"
)


def _hostile_feed() -> str:
    return rss(
        [
            {
                "title": HOSTILE_TITLE + f" {k}",
                "link": f"https://www.inform.kz/ru/x\ufffe{k}?a=\x1b",
                "guid": f"hostile-{k}",
                "pubDate": "Tue, 24 Nov 2026 09:00:00 +0500",
                "description": f"<p>Текст &#55357;&#56832; \ufffe{k} <a href='javascript:alert(1)'>ссылка</a></p>",
            }
            for k in range(3)
        ]
    )


class _StrictHTML(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for _name, value in attrs:
            assert value is None or not value.lower().startswith("javascript:")


def test_every_export_is_valid_whatever_the_feed_held(
    server: FeedServer, cfg_path: Path, tmp_path: Path
) -> None:
    server.add("/bad", _hostile_feed().encode("utf-8"))
    run_case(server, cfg_path)
    outputs = {}
    for fmt in ("atom", "json", "html", "md", "txt"):
        out = tmp_path / f"digest.{fmt}"
        result = kz(cfg_path, "digest", "--format", fmt, "--since", "3650d", "-o", str(out))
        assert result.exit_code == 0, result.output
        outputs[fmt] = out.read_bytes().decode("utf-8")  # strict: no surrogates
    atom = ET.fromstring(outputs["atom"].encode())
    titles = [e.text or "" for e in atom.iter("{http://www.w3.org/2005/Atom}title")]
    assert any("красный" in t for t in titles)
    hrefs = [e.get("href") or "" for e in atom.iter("{http://www.w3.org/2005/Atom}link")]
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    data = json.loads(outputs["json"])
    assert data["count"] == 2  # the three near-copies of the hostile text are one story
    parser = _StrictHTML()
    parser.feed(outputs["html"])
    parser.close()
    assert "script" not in parser.tags
    for fmt, text in outputs.items():
        leaked = sorted({hex(ord(c)) for c in text if c in UNSAFE_OUTPUT or c in "\ufffe\uffff"})
        assert leaked == [], (fmt, leaked)


def _evil_redirect(h: Any) -> None:
    h.wfile.write(
        b"HTTP/1.1 301 Moved\r\nContent-Length: 0\r\n"
        + "Location: ftp://x/moved\x9b31m\x1b[2J\u202eevil\r\n\r\n".encode()
    )


def test_a_redirect_location_cannot_write_to_the_terminal(
    server: FeedServer, cfg_path: Path
) -> None:
    server.add("/good.xml", feed("Хорошая"))
    server.add("/bad", handler=_evil_redirect)
    write_config(
        cfg_path,
        [
            {"name": "bad", "url": server.url("/bad")},
            {"name": "good", "url": server.url("/good.xml")},
        ],
    )
    outputs = [
        kz(cfg_path, "update", "--json"),
        kz(cfg_path, "feeds", "--json"),
        kz(cfg_path, "feeds"),
    ]
    for result in outputs:
        leaked = sorted({hex(ord(c)) for c in result.stdout if c in UNSAFE_OUTPUT})
        assert leaked == [], (result.stdout, leaked)
    error = json.loads(outputs[0].stdout)["feeds"][0]["error"]
    assert (
        error == "refused: redirect to a non-http(s) URL ftp://x/moved%C2%9B31m%1B[2J%E2%80%AEevil"
    )


def test_locations_are_made_safe_to_follow_and_print() -> None:
    assert safe_location(" /a\tb\nc ") == "/abc"
    assert safe_location("/x\x9by\u202e z") == "/x%C2%9By%E2%80%AE%20z"
    assert safe_location("https://www.inform.kz/ru/a1") == "https://www.inform.kz/ru/a1"


def test_entries_with_nothing_to_show_are_counted_not_silently_dropped(
    server: FeedServer, cfg_path: Path
) -> None:
    """feedparser's sanitize tests: an entry whose only text is an <img onclick=…>, no link."""
    body = feed("Видно").replace(
        "</channel>",
        "<item><description>&lt;img src=&quot;x&quot; onclick=&quot;alert(1)&quot;&gt;"
        "</description></item>"
        "</channel>",
    )
    server.add("/bad", body)
    write_config(cfg_path, [{"name": "bad", "url": server.url("/bad")}])
    result = kz(cfg_path, "update", "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["feeds"]
    assert (row["new"], row["empty_entries"]) == (1, 1)
    server.add("/bad", body.replace("Видно", "Снова"))
    text = kz(cfg_path, "update")
    assert "1 entry without title, text or link left out" in text.stdout


# ---------------------------------------------------------------- the pool itself


def _raise_memory_error() -> None:
    raise MemoryError("unpickling a huge answer")


class _Unreadable:
    """An answer the worker can send and kzfeed cannot read back."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_raise_memory_error, ())


def _unreadable() -> _Unreadable:
    return _Unreadable()


def _pool_run(pool: Any, *jobs: tuple[Any, ...]) -> list[Any]:
    import asyncio

    async def main() -> list[Any]:
        out = []
        for fn, *args in jobs:
            try:
                out.append(await asyncio.wait_for(pool.run(fn, *args), 15))
            except Exception as exc:
                out.append(exc)
        return out

    return asyncio.run(main())


@linux_only
def test_a_worker_lost_in_any_way_never_leaves_the_pool_short() -> None:
    """One slot: if it were lost, the next job would wait for ever (wait_for says so)."""
    from kzfeed.workers import JobFailed, ParsePool

    pool = ParsePool(1, budget=5)
    try:
        results = _pool_run(pool, (_unreadable,), (pow, 2, 10))
        assert isinstance(results[0], JobFailed) and "MemoryError" in str(results[0])
        assert results[1] == 1024
        # the worker killed while idle (the system's OOM killer): the next job is not lost
        os.kill(pool.pids[0], signal.SIGKILL)
        time.sleep(0.2)
        assert _pool_run(pool, (pow, 3, 3)) == [27]
        # no process can be forked for a while: that job fails with the reason, later ones run
        original = pool._fork
        os.kill(pool.pids[0], signal.SIGKILL)
        time.sleep(0.2)
        calls = {"n": 0}

        def failing_fork() -> Any:
            calls["n"] += 1
            if calls["n"] <= 1:
                raise OSError(12, "Cannot allocate memory")
            return original()

        pool._fork = failing_fork  # type: ignore[method-assign]
        first, second = _pool_run(pool, (pow, 2, 2), (pow, 2, 3))
        assert isinstance(first, JobFailed) and "cannot start a parser process" in str(first)
        assert second == 8
    finally:
        pool.shutdown()


def _slow_square(x: int, seconds: float) -> int:
    time.sleep(seconds)
    if x < 0:
        raise ValueError("negative")
    return x * x


def _pool_gather(pool: Any, *jobs: tuple[Any, ...]) -> list[Any]:
    """The jobs all at once (as an update sends them), each result or exception."""
    import asyncio

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                *(asyncio.wait_for(pool.run(fn, *args), 20) for fn, *args in jobs),
                return_exceptions=True,
            )
        )

    return asyncio.run(main())


@linux_only
def test_a_worker_gets_its_next_job_before_it_finishes_the_one_it_runs() -> None:
    """Two jobs wait on each worker: the answers reach the jobs they belong to, a job's
    budget counts from the moment it runs (not from when it was queued), and the job queued
    behind one that runs out of time or fails is not lost."""
    from kzfeed.workers import JobFailed, ParsePool

    pool = ParsePool(2, budget=1.5)
    try:
        squares = _pool_gather(pool, *((_slow_square, n, 0.01 * (n % 3)) for n in range(40)))
        assert squares == [n * n for n in range(40)]
        pids = set(pool.pids)
        # one worker, two jobs of 1 s each sent at once: the second runs from 1 s to 2 s,
        # within its budget of 1.5 s counted from its start
        one = ParsePool(1, budget=1.5)
        try:
            started = time.monotonic()
            assert _pool_gather(one, (_slow_square, 2, 1.0), (_slow_square, 3, 1.0)) == [4, 9]
            assert time.monotonic() - started >= 2.0  # one after the other, on one worker
            # a job past its budget: its worker is killed; the one queued behind it runs
            # on the worker that replaces it; a job that raises leaves the next one be
            first, second, third, fourth = _pool_gather(
                one,
                (_slow_square, 4, 5.0),
                (_slow_square, 5, 0.0),
                (_slow_square, -1, 0.0),
                (_slow_square, 6, 0.0),
            )
            assert isinstance(first, JobFailed) and "longer than" in str(first)
            assert second == 25 and fourth == 36
            assert isinstance(third, JobFailed) and "negative" in str(third)
            assert len(one.pids) == 1
            # a job queued behind a short one has its budget from when it starts: over it,
            # it is stopped as any other
            short, long = _pool_gather(one, (_slow_square, 2, 0.1), (_slow_square, 3, 5.0))
            assert short == 4
            assert isinstance(long, JobFailed) and "longer than" in str(long)
        finally:
            one.shutdown()
        assert set(pool.pids) == pids  # nothing failed there: the same two workers
    finally:
        pool.shutdown()


def test_a_body_cut_by_a_closed_connection_does_not_store_its_cut_story_twice(
    server: FeedServer, cfg_path: Path
) -> None:
    whole = feed("Обрыв", 4).encode()
    cut = whole[: whole.index(b"https://www.inform.kz/ru/x_a3") + 20]  # inside the last link

    def close_delimited(h: Any) -> None:  # no Content-Length: the body ends when it closes
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n")
        h.wfile.write(b"Connection: close\r\n\r\n" + cut)
        h.close_connection = True

    server.add("/bad", handler=close_delimited)
    write_config(cfg_path, [{"name": "bad", "url": server.url("/bad")}])
    first = json.loads(kz(cfg_path, "update", "--json").stdout)["feeds"][0]
    assert first["status"] == "ok" and first["new"] == 3
    assert "its last entry was left out" in first["note"]
    server.add("/bad", whole)
    second = json.loads(kz(cfg_path, "update", "--json").stdout)["feeds"][0]
    assert second["new"] == 1 and second["note"] is None
    titles = sorted(r["title"] for r in stored(cfg_path))
    assert titles == [f"Обрыв {k}" for k in range(4)]


@linux_only
def test_an_article_page_past_its_budget_costs_its_text_only(
    server: FeedServer, cfg_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`full_text = true`: each page's extraction runs in a worker under parse_timeout."""
    import kzfeed.article

    original = kzfeed.article.extract_text

    def slow_on_one(body: bytes, headers: Any, url: str) -> str:
        if url.endswith("/stuck"):
            while True:
                pass
        return original(body, headers, url)

    monkeypatch.setattr(kzfeed.article, "extract_text", slow_on_one)
    page = "<html><body><div class='article__body-text'><p>{}</p></div></body></html>"
    ok = server.add(
        "/ok", page.format("Полный текст статьи."), headers={"Content-Type": "text/html"}
    )
    stuck = server.add("/stuck", page.format("Никогда"), headers={"Content-Type": "text/html"})
    server.add(
        "/rss.xml",
        rss(
            [
                {"title": "Статья готова", "link": ok, "guid": "1"},
                {"title": "Статья зависла", "link": stuck, "guid": "2"},
            ]
        ),
    )
    write_config(
        cfg_path, [{"name": "k", "url": server.url("/rss.xml"), "full_text": True}], parse_timeout=1
    )
    started = time.monotonic()
    report = update(load_config(cfg_path))
    assert report.errors == 0 and report.new == 2
    assert time.monotonic() - started < 30
    texts = {r["title"]: r.get("full_text") for r in stored(cfg_path)}
    assert texts == {"Статья готова": "Полный текст статьи.", "Статья зависла": None}
    assert _children(os.getpid()) == []


@linux_only
def test_the_pool_serves_its_workers_from_the_event_loop_without_a_thread() -> None:
    """kzfeed's side of the workers is the event loop's: no thread waits on a worker (a
    thread's hand-over to the loop cost the loop the interpreter lock), and the budgets of
    jobs waiting behind others are the loop's timers."""
    import asyncio
    import threading

    from kzfeed.workers import ParsePool

    pool = ParsePool(2, budget=5)
    before = threading.active_count()
    during: list[int] = []

    async def main() -> list[int]:
        jobs = [asyncio.create_task(pool.run(_slow_square, n, 0.02)) for n in range(30)]
        await asyncio.sleep(0.1)
        during.append(threading.active_count())
        return list(await asyncio.gather(*jobs))

    try:
        assert asyncio.run(main()) == [n * n for n in range(30)]
        assert during == [before]
    finally:
        pool.shutdown()


def _reversed(data: bytes) -> bytes:
    return data[::-1]


@linux_only
def test_messages_larger_than_the_socket_s_buffer_go_both_ways_at_once() -> None:
    """Two jobs of a few megabytes each on one worker, their answers as big: the next job
    is written while the worker writes the last answer (with blocking writes on both sides
    each would wait for the other to read for ever), and each answer reaches its job."""
    import threading

    from kzfeed.workers import ParsePool

    bodies = [os.urandom(3_000_000) for _ in range(5)]
    pool = ParsePool(1, budget=20)
    answers: list[Any] = []
    try:  # in a thread: a loop blocked in a write could not end the test by itself
        runner = threading.Thread(
            target=lambda: answers.extend(_pool_gather(pool, *((_reversed, b) for b in bodies))),
            daemon=True,
        )
        runner.start()
        runner.join(60)
        assert not runner.is_alive(), "kzfeed and its worker wait on each other"
        assert answers == [body[::-1] for body in bodies]
    finally:
        pool.shutdown()


@linux_only
def test_a_job_cancelled_mid_run_ends_its_worker_and_the_next_job_runs() -> None:
    """Ctrl-C (or a caller's own deadline) cancels a job: its worker is killed — it may be
    anywhere in the job — and the next job gets a new worker."""
    import asyncio

    from kzfeed.workers import ParsePool

    pool = ParsePool(1, budget=30)
    try:
        first = pool.pids

        async def main() -> int:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pool.run(_slow_square, 2, 10.0), 0.3)
            return int(await pool.run(_slow_square, 3, 0.0))

        started = time.monotonic()
        assert asyncio.run(main()) == 9
        assert time.monotonic() - started < 5
        assert pool.pids and pool.pids != first
    finally:
        pool.shutdown()


def _answer_of(size: int, seconds: float = 0.0) -> bytes:
    time.sleep(seconds)
    return b"x" * size


def _pid() -> int:
    return os.getpid()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _with_room(size: int) -> bytes:
    """An answer from a worker whose socket takes it whole at once (as with a raised
    net.core.wmem_default; SO_SNDBUFFORCE needs root)."""
    import socket
    import stat

    for fd in range(3, 256):
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        with sock:
            if sock.family == socket.AF_UNIX:
                sock.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)  # SO_SNDBUFFORCE
    return b"z" * size


@linux_only
def test_found_by_review_the_pool_on_the_event_loop() -> None:
    """Found by review of the pool's move onto the event loop, each reproduced first:
    (1) a big answer waits in the socket while the loop is busy (storing, committing): its
    job's budget ran out and the worker was killed, the answer good; (2) a worker killed
    while another job waited behind it failed with "Connection reset by peer" instead of
    the usual reason; (3) a job waiting behind another, cancelled, killed the one running;
    (4) a pool used again from a second event loop failed on its queue of free slots; (5)
    with a default socket timeout set, every job forked a worker of its own."""
    import asyncio
    import socket

    from kzfeed.workers import JobFailed, ParsePool

    async def caught(job: Any) -> Any:
        try:
            return await job
        except JobFailed as exc:
            return f"failed: {exc}"

    pool = ParsePool(1, budget=1.0)
    try:

        async def busy_loop() -> Any:
            job = asyncio.create_task(caught(pool.run(_answer_of, 3_000_000, 0.2)))
            await asyncio.sleep(0.01)  # sent; answered while the loop is busy
            time.sleep(1.5)  # in one callback, as a commit keeps it
            return await job

        answer = asyncio.run(busy_loop())
        assert isinstance(answer, bytes) and len(answer) == 3_000_000, answer
    finally:
        pool.shutdown()

    pool = ParsePool(1, budget=10)
    try:

        async def killed() -> list[Any]:
            running = asyncio.create_task(caught(pool.run(_slow_square, 2, 1.0)))
            queued = asyncio.create_task(caught(pool.run(_slow_square, 3, 0.0)))
            await asyncio.sleep(0.3)
            os.kill(pool.pids[0], signal.SIGKILL)  # the OOM killer
            return list(await asyncio.gather(running, queued))

        assert asyncio.run(killed()) == ["failed: the parser process died (out of memory?)", 9]

        async def cancel_queued() -> Any:
            running = asyncio.create_task(caught(pool.run(_slow_square, 4, 0.5)))
            await asyncio.sleep(0.05)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pool.run(_slow_square, 5, 0.0), 0.1)
            return await running

        assert asyncio.run(cancel_queued()) == 16
        # (4): two jobs at once need a free slot each; then a second loop
        assert _pool_gather(pool, *((_slow_square, n, 0.0) for n in range(4))) == [0, 1, 4, 9]
        assert _pool_gather(pool, *((_slow_square, n, 0.0) for n in range(4))) == [0, 1, 4, 9]
    finally:
        pool.shutdown()

    socket.setdefaulttimeout(30)
    pool = ParsePool(1, budget=10)
    try:

        async def one_by_one() -> list[int]:
            out = []
            for _ in range(4):
                await asyncio.sleep(0.1)
                out.append(await pool.run(_pid))
            return out

        assert len(set(asyncio.run(one_by_one()))) == 1
    finally:
        socket.setdefaulttimeout(None)
        pool.shutdown()


@linux_only
@pytest.mark.skipif(os.geteuid() != 0, reason="SO_SNDBUFFORCE needs root")
def test_found_by_review_an_answer_read_with_the_worker_s_end_is_not_lost() -> None:
    """Found by review: a whole answer and the worker's end read in one pass (its socket
    held the answer whole, a multiple of the read size) — the answer was dropped."""
    import asyncio
    from multiprocessing.reduction import ForkingPickler

    from kzfeed.workers import JobFailed, ParsePool

    whole = 4 * 256 * 1024
    size = whole - 4
    while len(ForkingPickler.dumps(("ok", b"z" * size))) + 4 != whole:
        size -= 1
    pool = ParsePool(1, budget=10)

    async def main() -> Any:
        first = asyncio.create_task(pool.run(_with_room, size))
        second = asyncio.create_task(pool.run(_die))
        await asyncio.sleep(0.05)
        time.sleep(1.0)  # the loop busy meanwhile: both arrive before it reads
        answers = await asyncio.gather(first, second, return_exceptions=True)
        return answers

    try:
        first, second = asyncio.run(main())
        assert first == b"z" * size
        assert isinstance(second, JobFailed)
    finally:
        pool.shutdown()


def _read_slowly(seconds: float) -> str:
    time.sleep(seconds)  # runs where the answer is unpickled: kzfeed's own process
    return "read"


class _SlowToRead:
    """An answer that takes a while to unpickle (a big feed's thousands of items do on a
    busy machine)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __reduce__(self) -> tuple[Any, tuple[float]]:
        return (_read_slowly, (self.seconds,))


def _answer_slow_to_read(work: float, read: float) -> _SlowToRead:
    time.sleep(work)
    return _SlowToRead(read)


@linux_only
def test_a_job_queued_behind_another_is_never_failed_for_that_ones_sake() -> None:
    """Found by review: (1) a job's budget ran out while its (good) answer was still being
    unpickled, and the watchdog killed the worker, then running the job queued behind it,
    which failed as "died"; (2) a job whose arguments cannot be pickled raised out of the
    pool and killed the worker under the job before it.  (A third finding, a watchdog
    thread that could not be started, went with the thread: budgets are the loop's timers.)"""
    from kzfeed.workers import JobFailed, ParsePool

    pool = ParsePool(1, budget=1.0)
    try:
        # (1) answered at 0.8 s, read until 1.2 s: past the budget, but read whole
        first, second = _pool_gather(pool, (_answer_slow_to_read, 0.8, 0.4), (_slow_square, 7, 0.5))
        assert first == "read" and second == 49
        # (2) nothing goes into the pipe for a job that cannot be pickled
        first, second = _pool_gather(pool, (_slow_square, 3, 0.3), (_slow_square, lambda: 1, 0.0))
        assert first == 9
        assert isinstance(second, JobFailed) and "pickle" in str(second)
    finally:
        pool.shutdown()
