"""The fetch layer against a real HTTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kzfeed.fetch import USER_AGENT, Fetcher, body_hash, parse_retry_after
from kzfeed.model import FeedState, FetchResult
from kzfeed.transport import env_proxy

from .conftest import FeedServer, rss

BODY = rss(
    [{"title": "Токаев провел переговоры", "link": "https://www.inform.kz/ru/a1", "guid": "1"}]
)


def fetch(url: str, state: FeedState | None = None, **kw: object) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(**kw) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch("feed", url, state)

    return asyncio.run(run())


def test_200_returns_the_body_validators_and_sends_a_user_agent(server: FeedServer) -> None:
    url = server.add(
        "/rss.xml", BODY, etag='W/"5f-abc"', last_modified="Tue, 24 Nov 2026 04:00:00 GMT"
    )
    result = fetch(url)
    assert result.ok and result.status == 200
    assert result.body.decode() == BODY
    assert result.etag == 'W/"5f-abc"'
    assert result.last_modified == "Tue, 24 Nov 2026 04:00:00 GMT"
    assert server.hits("/rss.xml")[0].headers["user-agent"] == USER_AGENT
    assert "kzfeed/" in USER_AGENT


def test_validators_are_sent_back_exactly_and_304_is_not_modified(server: FeedServer) -> None:
    odd_etag = '"abc def\u00e9"'.encode().decode("latin-1")  # not ASCII-clean, must round-trip
    url = server.add("/rss.xml", BODY, etag=odd_etag, last_modified="Tue, 24 Nov 2026 04:00:00 GMT")
    first = fetch(url)
    state = FeedState(name="feed", etag=first.etag, last_modified=first.last_modified)
    second = fetch(url, state)
    assert second.not_modified and second.status == 304 and second.body == b""
    headers = server.hits("/rss.xml")[1].headers
    assert headers["if-modified-since"] == "Tue, 24 Nov 2026 04:00:00 GMT"
    assert headers["if-none-match"] == first.etag == odd_etag


def test_one_connection_serves_304s_errors_redirects_and_bodies(server: FeedServer) -> None:
    """A warm run is mostly 304s: each must leave its connection open for the next feed on
    the host (the unread empty body would otherwise cost a new TCP connection per feed)."""
    url = server.add("/rss.xml", BODY, etag='"v1"')
    server.add("/missing.html", b"<html>" + b"x" * 5000 + b"</html>", status=404)
    server.add("/old", status=301, headers={"Location": "/rss.xml"})
    state = FeedState(name="feed", etag='"v1"')

    async def run() -> list[FetchResult]:
        async with Fetcher(jobs=1, per_host=1) as fetcher:
            return [
                await fetcher.fetch("feed", url, state),
                await fetcher.fetch("feed", server.url("/missing.html")),
                await fetcher.fetch("feed", url, state),
                await fetcher.fetch("feed", server.url("/old")),
                await fetcher.fetch("feed", url),
                await fetcher.fetch("feed", url, state),
            ]

    results = asyncio.run(run())
    assert [r.status for r in results] == [304, 404, 304, 200, 200, 304]
    assert results[3].body.decode() == BODY and results[3].permanent_url == url
    assert len(server.requests) == 7
    assert len({seen.client_port for seen in server.requests}) == 1


def test_gzip_bodies_are_decompressed(server: FeedServer) -> None:
    url = server.add("/gz.xml", BODY, gzip=True)
    result = fetch(url)
    assert result.ok and result.body.decode() == BODY
    assert "gzip" in server.hits("/gz.xml")[0].headers.get("accept-encoding", "")


def test_the_same_compressed_bytes_are_recognised_before_they_are_inflated(
    server: FeedServer,
) -> None:
    """A server with pre-compressed files re-sends the very same gzip bytes until the feed
    changes: their hash is compared with the stored one before any decompression."""
    packed = gzip.compress(BODY.encode(), mtime=0)
    url = server.add("/pre.xml", packed, headers={"Content-Encoding": "gzip"})
    first = fetch(url)
    assert first.body.decode() == BODY and not first.same_wire
    assert first.wire_hash == body_hash(packed)
    stored = FeedState("feed", body_hash=body_hash(first.body), wire_hash=first.wire_hash)
    again = fetch(url, stored)
    assert again.ok and again.status == 200 and again.same_wire and again.body == b""
    assert again.wire_hash == first.wire_hash
    # a wire hash without the body's own stands for nothing: the body is inflated
    alone = fetch(url, FeedState("feed", wire_hash=first.wire_hash))
    assert alone.body.decode() == BODY and not alone.same_wire
    # the comparison comes first: a stream cut short (which inflating refuses) but known by
    # its hash is not even inflated
    cut = server.add("/cut.xml", packed[:-8], headers={"Content-Encoding": "gzip"})
    assert "truncated" in (fetch(cut).error or "")
    known = FeedState("feed", body_hash="s0", wire_hash=body_hash(packed[:-8]))
    assert fetch(cut, known).same_wire
    # other bytes are inflated; a body sent as it is has no wire hash of its own
    other = gzip.compress(BODY.encode(), mtime=1)
    server.add("/pre.xml", other, headers={"Content-Encoding": "gzip"})
    changed = fetch(url, stored)
    assert changed.body.decode() == BODY and changed.wire_hash == body_hash(other)
    plain = fetch(server.add("/plain.xml", BODY), stored)
    assert plain.body.decode() == BODY and plain.wire_hash is None and not plain.same_wire


def test_an_update_s_fetcher_leaves_a_compressed_body_for_the_parse_worker(
    server: FeedServer,
) -> None:
    """`update` inflates in its parse workers, on every core: its fetcher hands back the
    bytes as they came and their coding; the wire's own cap and the known bytes still
    count here."""
    packed = gzip.compress(BODY.encode(), mtime=0)
    url = server.add("/pre.xml", packed, headers={"Content-Encoding": "x-gzip"})
    got = fetch(url, leave_compressed=True)
    assert got.ok and got.body == packed and got.coding == "gzip" and not got.same_wire
    assert got.wire_hash == body_hash(packed)
    stored = FeedState("feed", body_hash=body_hash(BODY.encode()), wire_hash=got.wire_hash)
    again = fetch(url, stored, leave_compressed=True)
    assert again.same_wire and again.body == b"" and again.coding is None
    # a body as it is needs no worker to inflate it; the wire cap is the compressed one
    plain = fetch(server.add("/plain.xml", BODY), leave_compressed=True)
    assert plain.body.decode() == BODY and plain.coding is None and plain.wire_hash is None
    noise = gzip.compress(os.urandom(20_000))
    big = server.add("/noise", noise, headers={"Content-Encoding": "gzip"})
    assert fetch(big, leave_compressed=True, max_bytes=20_000).body == noise
    over = fetch(big, leave_compressed=True, max_bytes=len(noise) // 2)
    assert "over the" in (over.error or "")
    odd = server.add("/br", packed, headers={"Content-Encoding": "br"})
    assert "unsupported Content-Encoding 'br'" in (fetch(odd, leave_compressed=True).error or "")


def test_a_body_that_does_not_compress_is_capped_by_its_own_size_not_the_wire_s(
    server: FeedServer,
) -> None:
    """Found by review: compressed, a body of random bytes is a little larger than itself;
    a body at the cap must not be refused for the gzip framing around it."""
    body = os.urandom(50_000)
    packed = gzip.compress(body)
    assert len(packed) > len(body)
    url = server.add("/noise", packed, headers={"Content-Encoding": "gzip"})
    got = fetch(url, max_bytes=50_000)
    assert got.error is None and got.body == body, got.error
    assert "over the 49999-byte limit" in (fetch(url, max_bytes=49_999).error or "")


def test_permanent_redirects_report_the_new_url_and_temporary_ones_do_not(
    server: FeedServer,
) -> None:
    new = server.add("/new.xml", BODY)
    server.add("/old.xml", status=301, headers={"Location": "/new.xml"})
    server.add("/tmp.xml", status=302, headers={"Location": new})
    server.add("/chain.xml", status=308, headers={"Location": "/tmp.xml"})
    moved = fetch(server.url("/old.xml"))
    assert moved.ok and moved.final_url == new and moved.permanent_url == new
    temporary = fetch(server.url("/tmp.xml"))
    assert temporary.ok and temporary.permanent_url is None
    mixed = fetch(server.url("/chain.xml"))
    assert mixed.ok and mixed.permanent_url is None


def test_too_many_redirects_and_loops_fail(server: FeedServer) -> None:
    for n in range(7):
        server.add(f"/r{n}", status=302, headers={"Location": f"/r{n + 1}"})
    server.add("/r7", BODY)
    assert fetch(server.url("/r2")).ok  # five hops
    deep = fetch(server.url("/r0"))  # seven hops
    assert not deep.ok and "more than 5 redirects" in (deep.error or "")
    server.add("/loop", status=301, headers={"Location": "/loop"})
    assert "redirects" in (fetch(server.url("/loop")).error or "")


@pytest.mark.parametrize(
    "target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:alert(1)"]
)
def test_redirects_only_to_http(server: FeedServer, target: str) -> None:
    server.add("/evil", status=302, headers={"Location": target})
    result = fetch(server.url("/evil"))
    assert not result.ok and (result.error or "").startswith("refused")


@pytest.mark.parametrize(("status", "text"), [(404, "HTTP 404"), (500, "HTTP 500")])
def test_http_errors_are_reported_as_http_errors(
    server: FeedServer, status: int, text: str
) -> None:
    url = server.add(
        "/bad",
        b"<html><body>oops</body></html>",
        status=status,
        headers={"Content-Type": "text/html"},
    )
    result = fetch(url)
    assert not result.ok and result.status == status and (result.error or "").startswith(text)


def test_410_marks_the_feed_gone(server: FeedServer) -> None:
    result = fetch(server.add("/gone", status=410))
    assert result.gone and result.status == 410


def test_retry_after_on_429_and_503(server: FeedServer) -> None:
    result = fetch(server.add("/busy", status=429, headers={"Retry-After": "120"}))
    assert result.status == 429 and result.retry_after is not None
    when = datetime.fromisoformat(result.retry_after)
    assert timedelta(seconds=100) < when - datetime.now(UTC) < timedelta(seconds=130)


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert parse_retry_after("60", now) == now + timedelta(seconds=60)
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:00 GMT", now) == now + timedelta(days=1)
    assert parse_retry_after("99999999", now) == now + timedelta(days=7)
    assert parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now) == now + timedelta(days=7)
    for garbage in ("soon", "", "-5", "Mon, 01 Jan 2001 00:00:00 GMT", None):
        assert parse_retry_after(garbage, now) is None


def test_cache_control_max_age_sets_the_next_fetch(server: FeedServer) -> None:
    result = fetch(server.add("/cached", BODY, headers={"Cache-Control": "public, max-age=600"}))
    assert result.ok and result.retry_after is not None
    assert datetime.fromisoformat(result.retry_after) > datetime.now(UTC) + timedelta(seconds=500)


def test_whole_request_deadline_stops_a_slow_drip(server: FeedServer) -> None:
    url = server.add("/drip", BODY, drip=0.2)
    started = datetime.now(UTC)
    result = fetch(url, timeout=1.0)
    assert not result.ok and "timed out" in (result.error or "")
    assert datetime.now(UTC) - started < timedelta(seconds=3)


def test_body_cap_applies_after_decompression(server: FeedServer) -> None:
    big = b"<rss>" + b" " * 200_000 + b"</rss>"
    result = fetch(server.add("/bomb", big, gzip=True), max_bytes=50_000)
    assert not result.ok and "limit" in (result.error or "")
    declared = fetch(
        server.add("/huge", b"x", headers={"Content-Length": "1000000000000"}), max_bytes=50_000
    )
    assert not declared.ok and "limit" in (declared.error or "")


def test_connection_refused_is_an_error_not_an_exception() -> None:
    result = fetch("http://127.0.0.1:9/rss.xml", timeout=2.0)
    assert result.error == "connection failed: cannot connect to 127.0.0.1:9: Connection refused"


def test_local_files_are_read_directly(tmp_path: Path) -> None:
    feed = tmp_path / "saved.xml"
    feed.write_text(BODY, encoding="utf-8")
    assert fetch(str(feed)).body.decode() == BODY
    assert fetch(feed.as_uri()).body.decode() == BODY
    missing = fetch(str(tmp_path / "missing.xml"))
    assert not missing.ok and "cannot read" in (missing.error or "")


def test_per_host_limit_is_respected(server: FeedServer) -> None:
    active = {"now": 0, "max": 0}
    import threading
    import time

    lock = threading.Lock()

    def slow(handler: object) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.2)
        with lock:
            active["now"] -= 1
        body = BODY.encode()
        handler.send_response(200)  # type: ignore[attr-defined]
        handler.send_header("Content-Length", str(len(body)))  # type: ignore[attr-defined]
        handler.end_headers()  # type: ignore[attr-defined]
        handler.wfile.write(body)  # type: ignore[attr-defined]

    for n in range(6):
        server.add(f"/f{n}", handler=slow)

    async def run() -> list[FetchResult]:
        async with Fetcher(jobs=8, per_host=2) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"f{n}", server.url(f"/f{n}")) for n in range(6))
            )

    results = asyncio.run(run())
    assert all(r.ok for r in results)
    assert active["max"] == 2


def test_a_kept_connection_the_server_dropped_is_retried_once_on_a_new_one(
    server: FeedServer,
) -> None:
    """A server may close an idle keep-alive connection just as the next request goes out
    on it: that request is sent once more on a new connection, not reported as a failure."""

    def once_per_connection(handler: Any) -> None:
        if getattr(handler, "served", False):
            handler.close_connection = True  # read the request, hang up without an answer
            return
        handler.served = True
        handler._send(200, BODY.encode(), {})

    url = server.add("/once.xml", handler=once_per_connection)

    async def run() -> list[FetchResult]:
        async with Fetcher(jobs=1, per_host=1) as fetcher:
            return [await fetcher.fetch("feed", url) for _ in range(3)]

    results = asyncio.run(run())
    assert [r.error for r in results] == [None, None, None]
    assert all(r.body.decode() == BODY for r in results)
    ports = [seen.client_port for seen in server.hits("/once.xml")]
    # A served; A dropped, B served; B dropped, C served
    assert len(ports) == 5 and len(set(ports)) == 3


def test_a_connection_that_fails_when_new_is_not_retried(server: FeedServer) -> None:
    def hang_up(handler: Any) -> None:
        handler.close_connection = True

    url = server.add("/gone.xml", handler=hang_up)
    result = fetch(url)
    assert result.error is not None and result.error.startswith("connection failed")
    assert len(server.hits("/gone.xml")) == 1


def test_a_proxy_named_in_the_environment_carries_requests_but_not_no_proxy_hosts(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    proxy = FeedServer()
    proxy.thread.start()
    try:
        target = server.add("/rss.xml", BODY)
        proxy.add(target, BODY.replace("Токаев", "Прокси"))  # a proxy sees the whole URL
        monkeypatch.setenv("http_proxy", proxy.url(""))
        via = fetch(target)
        assert via.ok and "Прокси" in via.body.decode()
        assert [seen.path for seen in proxy.requests] == [target]
        assert server.requests == []

        monkeypatch.setenv("no_proxy", "localhost, 127.0.0.0/8")
        direct = fetch(target)
        assert direct.ok and "Токаев" in direct.body.decode()
        assert len(proxy.requests) == 1 and len(server.hits("/rss.xml")) == 1
    finally:
        proxy.httpd.shutdown()
        proxy.httpd.server_close()


@pytest.mark.parametrize(
    ("url", "no_proxy", "expected"),
    [
        ("http://tengrinews.kz/rss", "", "http://proxy:3128"),
        ("http://tengrinews.kz/rss", "*", None),
        ("http://tengrinews.kz/rss", "tengrinews.kz", None),
        ("http://kaz.tengrinews.kz/rss", ".tengrinews.kz", None),
        ("http://kaz.tengrinews.kz/rss", "tengrinews.kz", None),
        ("http://nottengrinews.kz/rss", "tengrinews.kz", "http://proxy:3128"),
        ("http://10.1.2.3/rss", "10.0.0.0/8", None),
        ("http://11.1.2.3/rss", "10.0.0.0/8", "http://proxy:3128"),
        ("https://www.inform.kz/rss", "", "http://tls-proxy:3128"),
        ("https://www.inform.kz/rss", "example.com,inform.kz", None),
    ],
)
def test_env_proxy_choice(url: str, no_proxy: str, expected: str | None) -> None:
    proxies = {"http": "http://proxy:3128", "https": "http://tls-proxy:3128", "no": no_proxy}
    assert env_proxy(httpx.URL(url), proxies) == expected
    assert env_proxy(httpx.URL(url), {"all": "socks5://p:1080"}) == "socks5://p:1080"


def test_https_feeds_are_verified_and_their_connection_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    secure = FeedServer(tls=tls)
    secure.thread.start()
    try:
        url = secure.add("/rss.xml", BODY, etag='"v1"')
        assert url.startswith("https://")
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        trustme.CA().cert_pem.write_to_path(str(tmp_path / "other.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
        refused = fetch(url)  # a certificate from a CA we do not trust
        assert refused.error == (
            "connection failed: TLS certificate not accepted: unable to get local issuer certificate"
        )
        assert secure.requests == []

        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
        unloadable = fetch(url)  # a reported failure, not an exception
        assert unloadable.error is not None and "missing.pem" in unloadable.error

        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))

        async def run() -> list[FetchResult]:
            async with Fetcher(jobs=1, per_host=1) as fetcher:
                first = await fetcher.fetch("feed", url)
                return [first, await fetcher.fetch("feed", url, FeedState("feed", etag='"v1"'))]

        first, again = asyncio.run(run())
        assert first.ok and first.body.decode() == BODY
        assert again.not_modified
        assert len({seen.client_port for seen in secure.requests}) == 1

        # the certificate names 127.0.0.1, not localhost: refused although the CA is trusted
        wrong_name = fetch(url.replace("127.0.0.1", "localhost"))
        assert wrong_name.error == (
            "connection failed: TLS certificate not accepted: "
            "Hostname mismatch, certificate is not valid for 'localhost'."
        )
        assert len(secure.requests) == 2
    finally:
        secure.httpd.shutdown()
        secure.httpd.server_close()


def test_idle_connections_are_capped_per_host_and_in_all(server: FeedServer) -> None:
    """A run over many hosts keeps only the most recently used few connections open."""
    others = [FeedServer() for _ in range(4)]
    for other in others:
        other.thread.start()
    try:
        urls = [srv.add("/rss.xml", BODY) for srv in [server, *others]]

        async def run() -> list[int]:
            async with Fetcher(jobs=3, per_host=2) as fetcher:
                kept = []
                for url in urls:  # five hosts, one after another
                    await asyncio.gather(*(fetcher.fetch("feed", url) for _ in range(2)))
                    kept.append(fetcher._transport.idle)
                # the newest host's connections are the ones kept, and they are reused
                await asyncio.gather(*(fetcher.fetch("feed", urls[-1]) for _ in range(2)))
                return kept

        kept = asyncio.run(run())
        assert kept == [2, 3, 3, 3, 3]
        last = others[-1].requests
        assert len(last) == 4 and len({seen.client_port for seen in last}) == 2
    finally:
        for other in others:
            other.httpd.shutdown()
            other.httpd.server_close()
