"""The steady wire (issue 15): a changed feed has only its new or edited items parsed — its
unchanged items' bytes are recognised (`splitfeed.py`) — and the stored result is the one
parsing the whole body gives."""

from __future__ import annotations

import functools
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kzfeed.cli import app
from kzfeed.fetch import body_hash
from kzfeed.model import FeedState
from kzfeed.store import Store
from kzfeed.store.writer import Writer

from .conftest import CORPUS, REPO, FeedServer, rss, write_config

runner = CliRunner()


def kz(config: Path, *args: str) -> Any:
    return runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)


def item(n: int, title: str | None = None, guid: str | None = None) -> dict[str, str]:
    return {
        "title": title or f"Новость номер {n} о работе акимата",
        "link": f"https://www.inform.kz/ru/news_a{4200000 + n}",
        "guid": guid or str(4200000 + n),
        "pubDate": f"Tue, 24 Nov 2026 {n // 60:02d}:{n % 60:02d}:00 +0500",
        "categories": "Политика",
        "description": f"Текст новости номер {n}.",
    }


def update(config: Path) -> dict[str, Any]:
    result = kz(config, "update", "--json")
    assert result.exit_code in (0, 3), result.output
    return dict(json.loads(result.stdout))


def test_a_poll_parses_only_what_is_new_or_edited(server: FeedServer, tmp_path: Path) -> None:
    server.add("/k.xml", rss([item(n) for n in range(50, 0, -1)]))
    config = write_config(
        tmp_path / "config.toml", [{"name": "k", "url": server.url("/k.xml")}], allow_private=True
    )
    first = update(config)
    assert first["new"] == 50 and first["feeds"][0]["unchanged_entries"] == 0
    # one poll later: two new on top, the two oldest gone, the rest byte for byte the same
    server.add("/k.xml", rss([item(n) for n in range(52, 2, -1)]))
    steady = update(config)
    assert (steady["new"], steady["updated"]) == (2, 0)
    assert steady["feeds"][0]["unchanged_entries"] == 48
    # an edit is seen: its bytes changed
    edited = [item(n) for n in range(52, 2, -1)]
    edited[10] = item(42, title="Новость номер 42 о работе акимата (обновлено)")
    server.add("/k.xml", rss(edited))
    again = update(config)
    assert (again["new"], again["updated"], again["feeds"][0]["unchanged_entries"]) == (0, 1, 49)
    # a new head (the channel's title): everything parsed again, nothing new
    server.add("/k.xml", rss(edited, title="Kazinform (новый)"))
    whole = update(config)
    assert (whole["new"], whole["feeds"][0]["unchanged_entries"]) == (0, 0)
    # --force parses the whole body
    server.add("/k.xml", rss([item(53), *edited], title="Kazinform (новый)"))
    forced = json.loads(kz(config, "update", "--force", "--json").stdout)
    assert (forced["new"], forced["feeds"][0]["unchanged_entries"]) == (1, 0)


def test_a_server_resending_its_compressed_file_costs_no_decompression(
    server: FeedServer, tmp_path: Path
) -> None:
    """A server that ignores validators and keeps its feed pre-compressed sends the same gzip
    bytes again: recognised by their hash (kept beside the body's), with nothing inflated,
    parsed or written; other bytes for the same body are recognised by the body's hash."""
    body = rss([item(n) for n in range(10, 0, -1)]).encode()
    gz = {"Content-Encoding": "gzip"}
    server.add("/k.xml", gzip.compress(body, mtime=0), headers=gz)
    config = write_config(
        tmp_path / "config.toml", [{"name": "k", "url": server.url("/k.xml")}], allow_private=True
    )
    data = tmp_path / "data"

    def state() -> FeedState:
        return Store(data).feed_states()["k"]

    assert update(config)["new"] == 10
    first = state()
    assert first.wire_hash == body_hash(gzip.compress(body, mtime=0))
    assert first.body_hash == body_hash(body)

    def identity() -> list[tuple[str, int, int]]:  # the identity index, its journal too
        found = sorted(data.glob("identity.sqlite*"))
        return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in found]

    index = identity()
    same = update(config)
    assert same["new"] == 0 and same["feeds"][0]["status"] == "not_modified"
    assert same["feeds"][0]["http_status"] == 200
    assert identity() == index
    assert state().wire_hash == first.wire_hash
    # the same body compressed anew (another gzip time stamp): the body's hash knows it,
    # and the new wire bytes are remembered for the next poll
    server.add("/k.xml", gzip.compress(body, mtime=7), headers=gz)
    assert update(config)["feeds"][0]["status"] == "not_modified"
    assert state().wire_hash == body_hash(gzip.compress(body, mtime=7))
    assert state().body_hash == first.body_hash
    # a body that changed is inflated and parsed
    changed = rss([item(n) for n in range(12, 0, -1)]).encode()
    server.add("/k.xml", gzip.compress(changed, mtime=7), headers=gz)
    assert update(config)["new"] == 2
    # a body that fails is never remembered: the same bytes fail again, not "unchanged"
    broken = gzip.compress(b"<html><body>maintenance</body></html>", mtime=0)
    server.add("/k.xml", broken, headers={**gz, "Content-Type": "text/html"})
    failed = [update(config)["feeds"][0]["status"] for _ in range(2)]
    assert failed == ["error", "error"]
    assert state().wire_hash == body_hash(gzip.compress(changed, mtime=7))
    # --force inflates and parses whatever was seen before
    server.add("/k.xml", gzip.compress(changed, mtime=7), headers=gz)
    forced = json.loads(kz(config, "update", "--force", "--json").stdout)
    assert forced["feeds"][0]["status"] == "ok" and forced["new"] == 0


def test_the_parse_worker_inflates_hashes_and_skips_a_body_it_knows() -> None:
    """The worker is handed the body as it came: it inflates it under the cap (refusing a
    bomb or a cut stream, as the fetcher did), hashes it, and parses it only when that is
    not the last stored body's hash."""
    import zlib

    from kzfeed.model import FeedSpec
    from kzfeed.update import parse_job

    spec = FeedSpec(name="k", url="https://www.inform.kz/rss")
    body = rss([item(n) for n in range(3, 0, -1)]).encode()

    def job(raw: bytes, coding: str, cap: int = 1 << 20, known: str | None = None) -> Any:
        at = "2026-11-24T12:00:00+00:00"
        return parse_job(
            spec, raw, (), at, spec.url, "Asia/Almaty", {}, None, None, coding, cap, known
        )

    whole = job(gzip.compress(body), "gzip", known="s-another")
    assert whole.error is None and len(whole.items) == 3 and not whole.same_body
    assert whole.body_hash == body_hash(body)
    deflated = job(zlib.compress(body), "deflate")
    assert [i.id for i in deflated.items] == [i.id for i in whole.items]
    known = job(gzip.compress(body, mtime=9), "gzip", known=body_hash(body))
    assert known.same_body and known.items == () and known.body_hash == body_hash(body)
    assert known.error is None
    bomb = job(gzip.compress(b"<rss>" + b" " * 200_000 + b"</rss>"), "gzip", cap=100_000)
    assert bomb.error == "body is over the 100000-byte limit (after decompression)"
    cut = job(gzip.compress(body)[:-8], "gzip")
    assert cut.error == "truncated gzip body: the compressed stream ends early"
    assert cut.body_hash is None and cut.items == ()
    assert "corrupt deflate body" in (job(b"not zlib at all", "deflate").error or "")


def test_a_compressed_body_the_worker_refuses_is_a_failed_fetch(
    server: FeedServer, tmp_path: Path
) -> None:
    """Found by review: inflated by the parse worker, a cut or corrupt compressed body
    became a parse error of an HTTP 200 — its Cache-Control kept the feed off for an hour
    after one cut transfer, and a permanent redirect to it moved the feed.  It is a failed
    fetch, as when the fetcher inflated it: no status, no cache headers, no new URL."""
    body = rss([item(n) for n in range(3, 0, -1)]).encode()
    packed = gzip.compress(body)
    cached = {"Content-Encoding": "gzip", "Cache-Control": "max-age=3600"}
    server.add("/k.xml", packed[: len(packed) // 2], headers=cached)
    server.add("/old.xml", status=301, headers={"Location": "/k.xml"})
    config = write_config(
        tmp_path / "config.toml",
        [{"name": "k", "url": server.url("/old.xml")}],
        allow_private=True,
    )
    (failed,) = update(config)["feeds"]
    assert failed["status"] == "error" and failed["http_status"] is None
    assert failed["error"] == "truncated gzip body: the compressed stream ends early"
    state = Store(tmp_path / "data").feed_states()["k"]
    assert state.url is None and state.next_fetch is None and state.last_status is None
    server.add("/k.xml", packed, headers=cached)  # the server is fixed: fetched at once
    (fixed,) = update(config)["feeds"]
    assert fixed["status"] == "ok" and fixed["new"] == 3


def versions() -> list[dict[str, str]]:
    """Bodies of five feeds over five polls: items added, dropped, edited, a GUID reused by a
    new item (identity is worked out over the whole feed), the head changed, a cp1251 feed."""
    base = [item(n) for n in range(20, 0, -1)]
    reused = item(30, guid="4200005")  # the GUID of item 5, on a new story
    real = {p.name: p.read_bytes() for p in sorted(CORPUS.glob("*.xml"))}
    examples = {p.name: p.read_bytes() for p in sorted((REPO / "examples" / "feeds").glob("*.xml"))}
    unian = real["unian_md5-guid_2020.xml"]
    liga = real["liga_net_permalink-guid_2020.xml"]
    kaz = examples["kazinform-ru.xml"]
    lenta = (REPO / "tests" / "fixtures" / "html" / "kazinform-lenta-ru.html").read_bytes()
    first_block = lenta.index(b"<article")
    edited_lenta = lenta[:first_block] + lenta[first_block:].replace(
        "Токаев".encode(), "Тоқаев".encode(), 1
    )
    one_less = lenta[: lenta.rindex(b"<article")] + lenta[lenta.rindex(b"</article>") + 10 :]
    cp1251 = examples["interfax-cp1251.xml"]
    first_item = unian.index(b"<item>")
    last_item = unian.rindex(b"<item>")
    return [
        {
            "a": rss(base),
            "u": unian.decode(),
            "l": liga.decode(),
            "k": kaz.decode(),
            "c": cp1251,
            "h": lenta,
        },
        {
            "a": rss([item(21), *base[:-1]]),
            "u": (unian[:last_item] + unian[unian.index(b"</item>", last_item) + 7 :]).decode(),
            "l": liga.decode(),
            "k": kaz.decode().replace("Нацбанк сохранил", "Нацбанк оставил", 1),
            "c": cp1251,
            "h": edited_lenta,
        },
        {
            "a": rss([reused, item(21), *base[:-1]]),
            "u": (
                unian[:first_item] + unian[first_item:].replace(b"<title>", b"<title>!", 1)
            ).decode(),
            "l": liga.decode().replace("<title>", "<title>Liga: ", 1),  # the channel's title
            "k": kaz.decode(),
            "c": cp1251.replace(
                b"</channel>",
                b"<item><title>new</title><link>https://x.kz/n</link></item></channel>",
            ),
            "h": one_less,
        },
        {
            "a": rss([reused, item(21), *base[:-2]], title="Kazinform #2"),
            "u": unian.decode(),
            "l": liga.decode(),
            "k": kaz.decode(),
            "c": cp1251,
        },
        {
            "a": rss([item(22), reused, *base]),
            "u": unian.decode(),
            "l": liga.decode(),
            "k": "",
            "c": cp1251,
        },
    ]


@pytest.mark.parametrize("steps", [versions()], ids=["five polls"])
def test_the_stored_wire_is_the_same_with_and_without_the_shortcut(
    server: FeedServer, tmp_path: Path, steps: list[dict[str, Any]]
) -> None:
    feeds: list[dict[str, Any]] = [
        {"name": name, "url": server.url(f"/{name}.xml")} for name in steps[0] if name != "h"
    ]
    feeds.append({"name": "h", "url": server.url("/h.xml"), "type": "html", "preset": "kazinform"})
    quick = write_config(
        tmp_path / "quick.toml", feeds, allow_private=True, data_dir=str(tmp_path / "q")
    )
    whole = write_config(
        tmp_path / "whole.toml",
        feeds,
        allow_private=True,
        data_dir=str(tmp_path / "w"),
        parse_changed_only=False,
    )
    shortcut_used = html_blocks_kept = 0
    for step in steps:
        for name, body in step.items():
            if body:
                server.add(f"/{name}.xml", body)
        a, b = update(quick), update(whole)
        assert (a["new"], a["updated"]) == (b["new"], b["updated"])
        shortcut_used += sum(f["unchanged_entries"] for f in a["feeds"])
        html_blocks_kept += next(f["unchanged_entries"] for f in a["feeds"] if f["name"] == "h")
        assert all(f["unchanged_entries"] == 0 for f in b["feeds"])
        listed = [
            [
                # an undated item stands at its fetch time: the two stores fetch a moment apart
                {**i, "published": None} if i["date_estimated"] else i
                for i in json.loads(kz(c, "latest", "--json", "--items", "-n", "1000").stdout)
            ]
            for c in (quick, whole)
        ]
        order = [sorted(x, key=lambda i: i["id"]) for x in listed]
        assert order[0] == order[1]
    assert shortcut_used > 50  # the shortcut did its work along the way
    assert html_blocks_kept > 0  # on the news list too


def stored(config: Path) -> list[tuple[str, str, str, str]]:
    result = kz(config, "latest", "--json", "--all", "-n", "1000")
    assert result.exit_code == 0, result.output
    return sorted((i["id"], i["feed"], i["story"], i["title"]) for i in json.loads(result.stdout))


def counted(writer: Writer, calls: list[int], original: Any) -> None:
    calls.append(1)
    original(writer)


def test_a_big_update_is_written_in_parts_and_stores_what_one_part_would(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update bringing more than `COMMIT_EVERY` new items commits as it goes (its memory
    has a ceiling); the wire stored, the stories and the report are those of one commit —
    a story carried by feeds that land in different parts included."""
    import kzfeed.update

    shared = item(7, title="Токаев провел переговоры с Мирзиёевым в Астане")
    feeds = []
    for f in range(4):
        items = [item(100 * f + n) for n in range(1, 6)]
        if f in (0, 3):  # one story, the first feed and the last
            items.append({**shared, "guid": f"shared-{f}", "link": f"https://x{f}.kz/a"})
        path = f"/big{f}.xml"
        server.add(path, rss(items, f"Feed {f}"))
        feeds.append({"name": f"f{f}", "url": server.url(path)})
    reports, wires, commits = [], [], []
    original = Writer.commit
    # in one part; then a commit after each feed or two; then parts cut short (half the
    # size at least) because the process holds more memory than COMMIT_ABOVE_MB
    for every, above in ((10_000, 10_000), (3, 10_000), (12, 0)):
        monkeypatch.setattr(kzfeed.update, "COMMIT_EVERY", every)
        monkeypatch.setattr(kzfeed.update, "COMMIT_ABOVE_MB", above)
        calls: list[int] = []
        monkeypatch.setattr(Writer, "commit", functools.partialmethod(counted, calls, original))
        (tmp_path / f"c{every}").mkdir()
        config = write_config(tmp_path / f"c{every}" / "config.toml", feeds, allow_private=True)
        reports.append(update(config))
        commits.append(len(calls))
        monkeypatch.setattr(Writer, "commit", original)
        wires.append(stored(config))
    assert commits[0] == 1 and commits[1] >= 3 and commits[2] >= 3  # written as it went
    assert reports[0]["new"] == reports[1]["new"] == reports[2]["new"] == 22
    for report in reports[1:]:
        assert [f["new"] for f in reports[0]["feeds"]] == [f["new"] for f in report["feeds"]]
    assert wires[0] == wires[1] == wires[2]
    stories = {title: story for _i, _f, story, title in wires[1]}
    sharing = [s for _i, _f, s, t in wires[1] if t == shared["title"]]
    assert len(sharing) == 2 and len(set(sharing)) == 1  # across the parts: one story
    assert len(set(stories.values())) < len(wires[1])


def test_a_part_that_cannot_be_written_ends_the_update_and_nothing_is_stored_after_it(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part is committed as soon as it is due, the other feeds still being fetched and
    parsed; when its commit fails (the disk is full), the update ends with the store's
    error (exit 1), the parts before it stay stored, and no feed is stored after it."""
    import kzfeed.update
    from kzfeed.errors import StoreError

    feeds = []
    for f in range(6):
        server.add(f"/p{f}.xml", rss([item(100 * f + n) for n in range(1, 6)], f"Feed {f}"))
        feeds.append({"name": f"f{f}", "url": server.url(f"/p{f}.xml")})
    config = write_config(tmp_path / "config.toml", feeds, allow_private=True)
    monkeypatch.setattr(kzfeed.update, "COMMIT_EVERY", 5)
    original = Writer.commit
    calls: list[int] = []

    def failing(writer: Writer) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise StoreError("no space left on device")
        original(writer)

    monkeypatch.setattr(Writer, "commit", failing)
    result = kz(config, "update")
    assert result.exit_code == 1 and "no space left on device" in result.stderr
    assert len(calls) == 2  # nothing committed after the failed part
    monkeypatch.setattr(Writer, "commit", original)
    assert {feed for _i, feed, _s, _t in stored(config)} == {"f0"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_part_is_due_by_its_size_or_sooner_by_the_memory_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kzfeed.update

    held = kzfeed.update._resident_mb()
    assert 10 < held < 2000  # this process, as the kernel counts it
    monkeypatch.setattr(kzfeed.update, "COMMIT_EVERY", 100)
    monkeypatch.setattr(kzfeed.update, "COMMIT_ABOVE_MB", held + 1000)
    assert [kzfeed.update._part_due(n) for n in (49, 50, 99, 100)] == [False] * 3 + [True]
    monkeypatch.setattr(kzfeed.update, "COMMIT_ABOVE_MB", held / 2)
    assert [kzfeed.update._part_due(n) for n in (0, 49, 50, 100)] == [False, False, True, True]
