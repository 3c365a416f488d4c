"""Shared fixtures: a real HTTP server on 127.0.0.1, configs, fixture feeds."""

from __future__ import annotations

import gzip
import html
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not fail on a draw no one can
# reproduce); KZFEED_HYPOTHESIS=explore draws fresh ones, to hunt for new counterexamples.
settings.register_profile("kzfeed", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile("explore" if os.environ.get("KZFEED_HYPOTHESIS") == "explore" else "kzfeed")

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
CORPUS = FIXTURES / "corpus"
REPO = HERE.parent


@dataclass
class Route:
    """What the server answers on one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    etag: str | None = None  # answer 304 when If-None-Match matches exactly
    last_modified: str | None = None  # answer 304 when If-Modified-Since matches exactly
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between body bytes
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    client_port: int = 0  # which connection carried the request


class _QuietServer(ThreadingHTTPServer):
    """Keeps a request's exception (a client that hung up early, say) off stderr.

    socketserver prints such tracebacks to ``sys.stderr`` from the handler thread; while a
    ``CliRunner`` has swapped ``sys.stderr`` that text lands in the command's captured stderr.
    The errors are kept in ``errors`` instead, for a test that wants to look at them.
    """

    errors: list[str]
    # the listen backlog (read by listen() in the constructor): with the default 5, a sixth
    # simultaneous connect waits for its SYN to be resent (1 s)
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        import traceback

        self.errors.append(traceback.format_exc())


class FeedServer:
    """A threaded HTTP/1.1 server on an ephemeral loopback port with programmable routes."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.scheme = "https" if tls else "http"
        self.requests: list[Seen] = []
        self.posts: list[tuple[str, bytes]] = []  # (path, body) of each POST
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in separate writes: with Nagle's algorithm on, the body
            # waits for the client's delayed ACK (40 ms a response on Linux), which no real
            # server does
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # a webhook: what it was sent is kept
                length = int(self.headers.get("Content-Length") or 0)
                server.posts.append((self.path, self.rfile.read(length)))
                self._send(200, b"{}", {"Content-Type": "application/json"})

            def do_GET(self) -> None:
                server.requests.append(
                    Seen(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        self.client_address[1],
                    )
                )
                route = server.routes.get(self.path)
                if route is None:
                    self._send(
                        404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"}
                    )
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.handler is not None:
                    route.handler(self)
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if (route.etag and inm == route.etag) or (
                    route.last_modified and ims == route.last_modified and not route.etag
                ):
                    self._send(304, b"", headers)
                    return
                body = route.body
                if route.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self._send(route.status, body, headers, drip=route.drip)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str], drip: float = 0.0
            ) -> None:
                self.send_response(status)
                headers.setdefault("Content-Type", "application/rss+xml; charset=utf-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if drip:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(drip)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.errors = []
        if tls is not None:  # the handshake happens on accept, in the server's thread
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes | str = b"", **kwargs: Any) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


def rss(items: list[dict[str, str]], title: str = "Kazinform", lang: str = "ru") -> str:
    """An agency-style RSS 2.0 document."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{title}</title><link>https://www.inform.kz/ru</link>",
        f"<description>{title}</description><language>{lang}</language>",
    ]
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "pubDate", "description"):
            if key in item:
                value = item[key]
                if key == "description":  # HTML, as agencies send it
                    value = f"<![CDATA[{value}]]>"
                else:  # text: escaped as XML, as a real feed would
                    value = html.escape(value, quote=False)
                parts.append(f"<{key}>{value}</{key}>")
        for category in item.get("categories", "").split("|"):
            if category:
                parts.append(f"<category>{category}</category>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def write_config(path: Path, feeds: list[dict[str, Any]], **settings: Any) -> Path:
    """A config file with ``feeds`` and settings (data_dir beside it by default)."""
    settings.setdefault("data_dir", str(path.parent / "data"))
    settings.setdefault("retention_days", 0)
    settings.setdefault("language", "en")
    lines = ["[settings]"]
    for key, value in settings.items():
        lines.append(f"{key} = {_toml(value)}")
    for feed in feeds:
        lines.append("\n[[feeds]]")
        tables = {k: v for k, v in feed.items() if isinstance(v, dict)}
        for key, value in feed.items():
            if key not in tables:
                lines.append(f"{key} = {_toml(value)}")
        for key, table in tables.items():  # [feeds.select] and the like, after the keys
            lines.append(f"[feeds.{key}]")
            lines.extend(f"{k} = {_toml(v)}" for k, v in table.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def cfg_path(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read or write the real user's config or data."""
    monkeypatch.delenv("KZFEED_CONFIG", raising=False)
    monkeypatch.setenv("KZFEED_DATA", str(tmp_path / "env-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    # messages made outside a command (core functions called directly) speak English; a
    # command speaks its config's language (the last one must not leak into the next test)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    from kzfeed import words

    words.use("en")


def wire_item(number: int, published: str, **fields: Any) -> Any:
    """A synthetic stored item: its id and identity keys made of ``number`` (16 hex
    digits), published at ``published`` (ISO), politics in Russian from Kazinform unless
    ``fields`` say otherwise."""
    from kzfeed.model import Item

    key = f"{number:016x}"
    made = {
        "id": key,
        "feed": "f",
        "source": "Kazinform",
        "title": f"Новость {number}",
        "url": f"https://www.inform.kz/ru/news_a{number}",
        "published": published,
        "date_estimated": False,
        "rubrics": ("politics",),
        "categories": (),
        "lang": "ru",
        "summary": "",
        "feed_key": key,
        "link_key": f"l{key}",
        "content_hash": "h",
    }
    return Item(**{**made, **fields})
