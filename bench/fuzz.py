"""Robustness harness ("fuzz target") for `kzfeed update`: thousands of hostile bodies and
headers, served from 127.0.0.1 (never the internet), and what kzfeed made of them.

One command, from the repository root:

    .venv/bin/python bench/fuzz.py [--bodies 3000] [--seed 2026] [--timeout 600] [--out DIR]

It serves, each as one subscribed feed:

1. every file of feedparser's own test suite (corpus/feedparser-tests, 2,106 XML files:
   encodings, entities, ill-formed and well-formed RSS/Atom/RDF/CDF), with the HTTP headers
   each file's leading comment names (`Header: Content-type: ...`);
2. --bodies deterministic mutations (seeded) of the real feeds in corpus/real (cp1251,
   KOI8-R, UTF-8): byte flips, truncation, duplicated and deleted ranges, hostile text (a run
   of comments, `&lt;a ` x 20,000, surrogate and out-of-range character references, terminal
   control and bidi characters in titles and links, a huge attribute, an unclosed CDATA,
   5,000 nested elements), re-encoding as UTF-16/UTF-32, gzip bodies (whole, or cut in half:
   those must fail);
3. a few hostile-header responses (max-age and Retry-After out of range or garbage, a
   redirect to a Location with control characters, unsupported Content-Encoding, a short
   body, an ETag with control characters, an empty body, an HTML page, a 500 ...).

It runs `kzfeed update --json` over them in batches, cold and then warm (the same bodies),
into one database, each run under a wall-clock --timeout, and counts: statuses, items,
tracebacks, hangs, processes left behind, feeds lost without a reason, errors by reason,
feedparser-tests entries that vanished, `db check`, terminal-control leaks in the output of
`update --json`, `feeds --json`, `latest` and `latest --json`, and whether each `digest`
export parses.  The config, the database, every run's output and report.txt/report.json
stay in --out (default: a fresh temporary directory).

--fp-limit N takes about N of the feedparser files (every k-th: quicker, for developing);
--batch sets the feeds per `update` run (500).

Finding failures is the point: a non-zero figure in "tracebacks", "hangs", "leftover
processes", "lost feeds", "leaks" or an invalid export is a kzfeed bug to look at.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import gzip
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# the project's shared folder beside the repository: feedparser-tests/ and real/
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# ------------------------------------------------------------------------------ the server


@dataclass
class Route:
    """What the server answers on one path: status, headers (in order, repeats allowed), body."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    short: int = 0  # announce this many bytes more than the body, then close the connection


def route_key(path: str) -> str:
    """Routes are looked up by their first two path segments, without the query: a
    redirect target keeps working whatever junk its Location put after it."""
    return "/".join(path.split("?", 1)[0].split("/")[:3])


class _QuietServer(ThreadingHTTPServer):
    """Keeps a request's exception (a client that hung up early) off the harness's stderr."""

    request_queue_size = 128  # read by listen() in the constructor: a class attribute

    errors: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        import traceback

        self.errors.append(traceback.format_exc())


class FuzzServer:
    """A threaded HTTP/1.1 server on an ephemeral loopback port serving ``routes``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in separate writes: with Nagle's algorithm on, the body
            # waits for the client's delayed ACK (40 ms a response on Linux)
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                key = route_key(self.path)
                server.hits[key] += 1
                route = server.routes.get(key)
                if route is None:
                    route = Route(404, [("Content-Type", "text/html")], b"<html>Not found</html>")
                self.send_response(route.status)
                for name, value in route.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body) + route.short))
                if route.short:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.errors = []
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------ the bodies


@dataclass
class Body:
    name: str  # the feed's name in the config
    path: str  # where the server serves it
    route: Route
    kind: str  # fp: the corpus file; mut: the mutations; hdr: what is hostile
    group: str  # fp | mut | hdr
    must_fail: bool = False  # a truncated gzip body: an error, never items
    fp_headers: dict[str, str] = field(default_factory=dict)  # fp: headers, lower-cased


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)
_NUL_PATTERNS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_HEADER_LINE = re.compile(r"^\s*Header:\s*([^:\s][^:]*?)\s*:\s*(.*?)\s*$", re.M)


def readable_copy(data: bytes) -> str:
    """The bytes as text good enough to read a leading comment: a BOM, the NUL pattern of
    "<" in UTF-16/32, else latin-1.  Only for finding `Header:` lines; the body served is
    the file's bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    for pattern, encoding in _NUL_PATTERNS:
        if data.startswith(pattern):
            return data.decode(encoding, "replace")
    return data.decode("latin-1")


def fp_headers(data: bytes) -> list[tuple[str, str]]:
    """The `Header: Name: value` lines of the file's first comment."""
    text = readable_copy(data)
    start = text.find("<!--")
    if start < 0:
        return []
    end = text.find("-->", start)
    comment = text[start : end if end >= 0 else len(text)]
    return [(m.group(1), m.group(2)) for m in _HEADER_LINE.finditer(comment)]


def feedparser_bodies(corpus: Path, limit: int) -> list[Body]:
    files = sorted(p for p in (corpus / "feedparser-tests").rglob("*.xml") if p.is_file())
    if limit and limit < len(files):
        step = len(files) / limit
        files = [files[int(i * step)] for i in range(limit)]
    bodies = []
    for n, path in enumerate(files, 1):
        data = path.read_bytes()
        headers = fp_headers(data)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/xml"))  # no charset: the file decides
        rel = path.relative_to(corpus / "feedparser-tests").as_posix()
        bodies.append(
            Body(
                f"fp-{n:04d}",
                f"/fp/{n:04d}.xml",
                Route(200, headers, data),
                rel,
                "fp",
                fp_headers={name.lower(): value for name, value in headers},
            )
        )
    return bodies


_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"'][^>]*\?>", re.I)


def feed_encoding(data: bytes) -> str:
    match = _XML_DECL.match(data)
    if match:
        return codecs.lookup(match.group(1).decode("ascii")).name
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "koi8-r"  # the one real feed with no declaration
    return "utf-8"


def encode_hostile(text: str, encoding: str, rng: random.Random) -> bytes:
    """Hostile text in the feed's encoding: each special character raw where the encoding
    can carry it, else (or at random) as a numeric character reference."""
    out = []
    for ch in text:
        special = ord(ch) < 0x20 or ord(ch) > 0x7E
        if special and rng.random() < 0.4:
            out.append(f"&#{ord(ch)};".encode("ascii"))
            continue
        try:
            out.append(ch.encode(encoding))
        except UnicodeEncodeError:
            out.append(f"&#x{ord(ch):X};".encode("ascii"))
    return b"".join(out)


def insert_after_tag(data: bytes, tag: bytes, insert: bytes, rng: random.Random) -> bytes:
    """``insert`` right after a randomly chosen opening ``<tag ...>``, else at a random place."""
    spots = [m.end() for m in re.finditer(rb"<" + tag + rb"(?:\s[^<>]*)?>", data)]
    pos = rng.choice(spots) if spots else rng.randrange(len(data) + 1)
    return data[:pos] + insert + data[pos:]


CONTROLS = [
    "\ufffe\x1b[31mRED\x1b[0m\x9b2J\x07\u202eevil\u202c",
    "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
    "\u202e\u2066\x1b[2J\x9b\x85\x00\x08\u2069",
    "\x9b31m\x1bc\x07\x0b\x0c\x7f\u202a\u202b\u202d",
]


def hostile(rng: random.Random, data: bytes, enc: str) -> tuple[bytes, str]:
    """One of the hostile texts, in a plausible place."""
    kind = rng.choice(
        [
            "comments40",
            "lt-a-20000",
            "surrogate-refs",
            "out-of-range-refs",
            "controls-title",
            "controls-link",
            "huge-attribute",
            "unclosed-cdata",
            "nest-5000",
        ]
    )
    if kind == "comments40":
        run = b"".join(b"<!-- comment %d -->\n" % i for i in range(40))
        decl = re.match(rb"\s*<\?xml[^>]*\?>", data)
        if decl and rng.random() < 0.5:
            return data[: decl.end()] + b"\n" + run + data[decl.end() :], kind + "-after-decl"
        return run + data, kind
    if kind == "lt-a-20000":
        return insert_after_tag(data, b"description", b"&lt;a " * 20_000, rng), kind
    if kind == "surrogate-refs":
        refs = rng.choice([b"&#55357;&#56832;", b"&#xD83D;&#xDE00;", b"&#55357;", b"&#56832;x"])
        return insert_after_tag(data, rng.choice([b"title", b"description"]), refs, rng), kind
    if kind == "out-of-range-refs":
        refs = rng.choice([b"&#1114112;", b"&#x110000;", b"&#99999999999999999999;", b"&#0;"])
        return insert_after_tag(data, rng.choice([b"title", b"description"]), refs, rng), kind
    if kind == "controls-title":
        text = encode_hostile(rng.choice(CONTROLS), enc, rng)
        return insert_after_tag(data, b"title", text, rng), kind
    if kind == "controls-link":
        text = encode_hostile(rng.choice(CONTROLS), enc, rng)
        tag = rng.choice([b"link", b"guid"])
        return insert_after_tag(data, tag, text, rng), f"{kind}-{tag.decode()}"
    if kind == "huge-attribute":
        size = rng.choice([100_000, 1_000_000, 4_000_000])
        attr = b' data-x="' + b"A" * size + b'"'
        spots = [m.end() - 1 for m in re.finditer(rb"<(?:item|title|channel)(?:\s[^<>]*)?>", data)]
        pos = rng.choice(spots) if spots else rng.randrange(len(data) + 1)
        return data[:pos] + attr + data[pos:], f"{kind}-{size // 1000}k"
    if kind == "unclosed-cdata":
        return insert_after_tag(
            data, rng.choice([b"title", b"description"]), b"<![CDATA[", rng
        ), kind
    balanced = rng.random() < 0.5
    nest = b"<x>" * 5000 + (b"</x>" * 5000 if balanced else b"")
    name = kind + ("" if balanced else "-unclosed")
    return insert_after_tag(
        data, rng.choice([b"item", b"description", b"channel"]), nest, rng
    ), name


REENCODINGS = [
    ("utf-16-bom", "utf-16-le", codecs.BOM_UTF16_LE, "UTF-16"),
    ("utf-16be-bom", "utf-16-be", codecs.BOM_UTF16_BE, "UTF-16"),
    ("utf-16le-nobom", "utf-16-le", b"", "UTF-16"),
    ("utf-16be-nobom", "utf-16-be", b"", "UTF-16"),
    ("utf-32be-bom", "utf-32-be", codecs.BOM_UTF32_BE, "UTF-32"),
    ("utf-32le-bom", "utf-32-le", codecs.BOM_UTF32_LE, "UTF-32"),
]


def reencode(rng: random.Random, data: bytes, enc: str) -> tuple[bytes, str]:
    label, codec, bom, declared = rng.choice(REENCODINGS)
    text = data.decode(enc, "replace")
    stale = rng.random() < 0.25  # the declaration still names the old encoding
    if not stale:
        text = re.sub(
            r"(<\?xml[^>]*?encoding\s*=\s*[\"'])[A-Za-z0-9._-]+", rf"\g<1>{declared}", text, count=1
        )
    return bom + text.encode(codec), "reencode-" + label + ("-stale-decl" if stale else "")


def byte_level(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    kind = rng.choice(["flip", "flip", "truncate", "dup-range", "del-range"])
    if not data:
        return data, kind
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(len(out))] ^= rng.randint(1, 255)
        return bytes(out), kind
    if kind == "truncate":
        return data[: rng.randrange(len(data))], kind
    start = rng.randrange(len(data))
    length = rng.randint(1, min(4000, len(data) - start))
    if kind == "dup-range":
        at = rng.randrange(len(data) + 1)
        return data[:at] + data[start : start + length] + data[at:], kind
    return data[:start] + data[start + length :], kind


def mutate(
    rng: random.Random, data: bytes, enc: str
) -> tuple[bytes, list[tuple[str, str]], str, bool]:
    """One mutated body: (bytes, headers, kind, must_fail)."""
    headers = [("Content-Type", rng.choice(["application/rss+xml", "application/xml", "text/xml"]))]
    roll = rng.random()
    kinds = []
    if roll < 0.30:
        data, kind = byte_level(rng, data)
        kinds.append(kind)
    elif roll < 0.65:
        data, kind = hostile(rng, data, enc)
        kinds.append(kind)
    elif roll < 0.80:
        if rng.random() < 0.3:
            data, kind = hostile(rng, data, enc)
            kinds.append(kind)
        data, kind = reencode(rng, data, enc)
        kinds.append(kind)
    else:
        if rng.random() < 0.4:
            if rng.random() < 0.5:
                data, kind = byte_level(rng, data)
            else:
                data, kind = hostile(rng, data, enc)
            kinds.append(kind)
        packed = gzip.compress(data, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
        if rng.random() < 0.5:
            kinds.append("gzip-truncated")
            return packed[: len(packed) // 2], headers, "+".join(kinds), True
        kinds.append("gzip")
        return packed, headers, "+".join(kinds), False
    if rng.random() < 0.15 and kinds[-1] not in ("truncate",):  # stack a byte-level damage
        data, kind = byte_level(rng, data)
        kinds.append(kind)
    return data, headers, "+".join(kinds), False


def main_kind(kind: str) -> str:
    """The mutation a stack is counted under: the gzip step, else a re-encoding, else the
    first one."""
    steps = kind.split("+")
    if steps[-1].startswith("gzip"):
        return steps[-1]
    return next((s for s in steps if s.startswith("reencode")), steps[0])


def mutated_bodies(corpus: Path, count: int, seed: int) -> list[Body]:
    rng = random.Random(seed)
    sources = []
    for path in sorted((corpus / "real").glob("*.xml")):
        data = path.read_bytes()
        sources.append((path.stem, data, feed_encoding(data)))
    width = max(4, len(str(count)))
    bodies = []
    for n in range(1, count + 1):
        _stem, data, enc = sources[(n - 1) % len(sources)]
        body, headers, kind, must_fail = mutate(rng, data, enc)
        bodies.append(
            Body(
                f"mut-{n:0{width}d}",
                f"/mut/{n:0{width}d}.xml",
                Route(200, headers, body),
                kind,
                "mut",
                must_fail=must_fail,
            )
        )
    return bodies


def small_feed(tag: str) -> bytes:
    items = "".join(
        f"<item><title>{tag} story {i}</title><link>https://hdr.example/{tag}/{i}</link>"
        f"<guid>hdr-{tag}-{i}</guid><pubDate>Mon, 0{i} Jun 2026 10:00:00 +0000</pubDate>"
        f"<description>Text of story {i}</description></item>"
        for i in range(1, 4)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Hostile headers: {tag}</title><link>https://hdr.example/</link>{items}"
        "</channel></rss>"
    ).encode()


def header_bodies() -> list[Body]:
    """Hostile-header responses; the bodies are small valid feeds unless said otherwise."""
    rss = ("Content-Type", "application/rss+xml; charset=utf-8")
    cases: list[tuple[str, Route]] = [
        (
            "max-age=99999999999999999999",
            Route(200, [rss, ("Cache-Control", "max-age=99999999999999999999")]),
        ),
        ("503 Retry-After: garbage", Route(503, [rss, ("Retry-After", "garbage")])),
        ("429 Retry-After: ² (U+00B2)", Route(429, [rss, ("Retry-After", "²")])),
        ("429 Retry-After: 10^23 s", Route(429, [rss, ("Retry-After", "99999999999999999999999")])),
        ("503 Retry-After: -5", Route(503, [rss, ("Retry-After", "-5")])),
        (
            "301 Location with C1 CSI and ESC",
            Route(301, [rss, ("Location", "/hdr/target?x=\x9b31m\x1b[31mred\x1b[0m")]),
        ),
        ("301 Location with C1 only", Route(301, [rss, ("Location", "/hdr/target/\x9b2J\x85x")])),
        ("302 Location: javascript:", Route(302, [rss, ("Location", "javascript:alert(1)")])),
        ("301 redirect to itself", Route(301, [rss, ("Location", "/hdr/loop")])),
        ("Content-Encoding: br (body not br)", Route(200, [rss, ("Content-Encoding", "br")])),
        ("Content-Length 1000 over the body", Route(200, [rss], short=1000)),
        (
            "Expires: garbage",
            Route(200, [rss, ("Expires", "garbage \x01"), ("Cache-Control", "public")]),
        ),
        (
            "ETag and Last-Modified with control characters",
            Route(
                200, [rss, ("ETag", '"\x1b[31m\x07x\x9b"'), ("Last-Modified", "\x1b]0;pwned\x07")]
            ),
        ),
        ("200 with an empty body", Route(200, [rss], b"")),
        (
            "Content-Type: text/html page",
            Route(
                200,
                [("Content-Type", "text/html; charset=utf-8")],
                b"<!doctype html><html><head><title>News \x1b[31m</title></head>"
                b"<body><h1>Latest</h1><a href='/x'>x</a></body></html>",
            ),
        ),
        (
            "500 Internal Server Error",
            Route(500, [("Content-Type", "text/plain")], b"boom \x1b[2J"),
        ),
        ("410 Gone", Route(410, [rss], b"")),
        (
            "charset of 10,000 letters",
            Route(200, [("Content-Type", "text/xml; charset=" + "x" * 10_000)]),
        ),
    ]
    bodies = [
        Body(
            "hdr-target",
            "/hdr/target",
            Route(200, [rss], small_feed("target")),
            "redirect target",
            "hdr",
        )
    ]
    for n, (kind, route) in enumerate(cases, 1):
        name = f"hdr-{n:02d}"
        path = "/hdr/loop" if kind == "301 redirect to itself" else f"/hdr/{n:02d}"
        if route.status < 300 and not route.body and kind not in ("200 with an empty body",):
            route.body = small_feed(name)
        bodies.append(Body(name, path, route, kind, "hdr"))
    return bodies


# ------------------------------------------------------------------------------ running kzfeed


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, feeds: list[tuple[str, str]], data_dir: Path) -> None:
    settings = {
        "data_dir": str(data_dir),
        "retention_days": 0,
        "allow_private": True,
        "jobs": 8,
        "parse_timeout": 10,
        "max_feed_items": 10_000,
        "language": "en",  # the report classifies errors by their English wording
    }
    lines = ["[settings]"] + [f"{k} = {_toml(v)}" for k, v in settings.items()]
    for name, url in feeds:
        lines += ["", "[[feeds]]", f"name = {_toml(name)}", f"url = {_toml(url)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _stat(pid: str) -> tuple[str, int] | None:
    """(state, session id) of a process, from /proc/PID/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[3])


def _cmdline(pid: str) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode("utf-8", "replace")
        )
    except OSError:
        return ""


def ours(session: int, marker: str) -> dict[int, str]:
    """Live processes of a run: in its session (it was started in a new one), or naming our
    config in their command line (a child that left the session)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        stat = _stat(entry.name)
        if stat is None or stat[0] in ("Z", "X"):
            continue
        cmd = _cmdline(entry.name)
        if stat[1] == session or marker in cmd:
            found[int(entry.name)] = cmd
    return found


@dataclass
class Run:
    label: str
    argv: list[str]
    code: int | None = None  # None: killed after the timeout
    seconds: float = 0.0
    stdout: bytes = b""
    stderr: bytes = b""
    leftovers: dict[int, str] = field(default_factory=dict)

    @property
    def hung(self) -> bool:
        return self.code is None

    @property
    def traceback(self) -> bool:
        return (
            b"Traceback" in self.stderr
            or b"Exception ignored" in self.stderr
            or self.code not in (0, 3, None)
        )


class Kzfeed:
    """Runs kzfeed commands one at a time, each under the timeout, and keeps their output."""

    def __init__(self, config: Path, runs_dir: Path, timeout: float) -> None:
        self.config = config
        self.runs_dir = runs_dir
        self.timeout = timeout
        self.runs: list[Run] = []
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("FORCE_COLOR", "KZFEED_CONFIG", "KZFEED_DATA", "PYTHONDONTWRITEBYTECODE")
        }
        self.env.update(COLUMNS="120", LINES="50", NO_COLOR="1", TERM="dumb")

    def __call__(self, label: str, *argv: str) -> Run:
        cmd = [sys.executable, "-m", "kzfeed", "--config", str(self.config), *argv]
        run = Run(label, list(argv))
        stem = self.runs_dir / f"{len(self.runs) + 1:03d}-{label}"
        started = time.perf_counter()
        # output to files, not pipes: a worker left behind would hold a pipe open, and
        # waiting for its end would look like a hang of the run itself
        with (
            open(stem.with_suffix(".stdout"), "wb") as out,
            open(stem.with_suffix(".stderr"), "wb") as err,
        ):
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its processes are found by their session afterwards
            )
            try:
                run.code = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()  # the run itself only: its workers must go by themselves
                proc.wait()
            except BaseException:
                proc.kill()
                proc.wait()
                raise
        run.seconds = time.perf_counter() - started
        # a worker may take a moment to notice its parent ended; what is still there after
        # a grace period is left behind
        deadline = time.monotonic() + 2.0
        left = ours(proc.pid, str(self.config))
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = ours(proc.pid, str(self.config))
        run.leftovers = left
        for pid in left:  # they were started by this run: end them by id, recorded above
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        run.stdout = stem.with_suffix(".stdout").read_bytes()
        run.stderr = stem.with_suffix(".stderr").read_bytes()
        self.runs.append(run)
        return run


# ------------------------------------------------------------------------------ checks

_LEAK_CLASSES = (
    ("C0", re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")),
    ("ESC", re.compile(r"\x1b")),
    ("C1", re.compile(r"[\x80-\x9f\udc80-\udc9f]")),  # raw 0x80-0x9f bytes too
    ("bidi", re.compile(r"[\u202a-\u202e\u2066-\u2069]")),
)


def leaks(data: bytes) -> tuple[Counter[str], list[str]]:
    """Raw terminal-control and bidi characters in an output, by class, and a few samples."""
    text = data.decode("utf-8", "surrogateescape")
    counts: Counter[str] = Counter()
    samples = []
    for name, pattern in _LEAK_CLASSES:
        for match in pattern.finditer(text):
            counts[name] += 1
            if len(samples) < 5:
                samples.append(
                    f"{name}: …{shown(text[max(0, match.start() - 40) : match.end() + 20])}…"
                )
    return counts, samples


def shown(text: str, limit: int = 160) -> str:
    """Text safe to print on the harness's own terminal: controls and bidi as escapes."""
    out = []
    for ch in text[:limit]:
        code = ord(ch)
        if (code < 0x20 and ch not in "\t") or 0x7F <= code <= 0x9F or 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code & 0xFF:02x}")
        elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069 or code in (0xFFFE, 0xFEFF):
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(text) > limit else "")


# a feed's error that is a bug caught by a catch-all rather than a reason about the feed
INTERNAL = re.compile(r"^(?:internal error|parser failed)|\b[A-Z]\w*(?:Error|Exception)\b")


def reason(error: str) -> str:
    """An error's gist: up to the first detail ( "(", ": ", "; " ), at most 5 words."""
    head = error
    for sep in (" (", ": ", "; "):
        cut = head.find(sep)
        if cut > 0:
            head = head[:cut]
    return shown(" ".join(head.split()[:5]), 60)


def entry_counts(body: Body) -> tuple[int, int, int]:
    """Entries feedparser itself finds, those with a title or link, and how many kzfeed can be
    expected to keep: repeats within the file merged (the same id or link, or the same
    title where an entry has neither, as kzfeed does), and entries with no link whose title
    has no text once HTML tags are removed left out."""
    import feedparser

    parsed = feedparser.parse(io.BytesIO(body.route.body), response_headers=dict(body.fp_headers))
    entries = [e for e in parsed.entries if e.get("title") or e.get("link")]
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        text = re.sub(r"<[^>]*>", "", entry.get("title") or "").strip()
        keys = [(k, str(entry.get(k) or "").strip().rstrip("/")) for k in ("id", "link")]
        keys = [(k, v) for k, v in keys if v] or ([("title", text)] if text else [])
        if not keys:
            continue
        parent[i] = i
        for key in keys:
            parent[find(i)] = find(first.setdefault(key, i))
    return len(parsed.entries), len(entries), len({find(i) for i in parent})


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
_OPTIONAL_END = {
    "p",
    "li",
    "dt",
    "dd",
    "tr",
    "td",
    "th",
    "thead",
    "tbody",
    "option",
    "head",
    "body",
}
_DANGEROUS = {"script", "iframe", "object", "embed", "frame", "frameset", "applet", "base", "form"}


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag in _DANGEROUS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name} on <{tag}>")
            if name in ("href", "src", "action") and value is not None and not _safe_link(value):
                self.problems.append(f"{name}={shown(value, 60)!r} on <{tag}>")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)  # <p/> does not close in HTML
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag not in self.stack:
            self.problems.append(f"stray </{tag}>")
            return
        while self.stack and self.stack[-1] != tag:
            inner = self.stack.pop()
            if inner not in _OPTIONAL_END:
                self.problems.append(f"<{inner}> not closed before </{tag}>")
        self.stack.pop()


def _safe_link(value: str) -> bool:
    value = value.strip().lower()
    return value.startswith(("http://", "https://", "#")) or (
        "://" not in value and ":" not in value.split("/")[0]
    )


def check_export(fmt: str, data: bytes) -> tuple[bool, str]:
    """Whether an export is valid for its format, and why not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return False, f"not UTF-8: {exc}"
    if fmt == "atom":
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            return False, f"XML: {exc}"
        bad = [
            el.get("href", "")
            for el in root.iter("{http://www.w3.org/2005/Atom}link")
            if not el.get("href", "").lower().startswith(("http://", "https://"))
        ]
        entries = len(root.findall("{http://www.w3.org/2005/Atom}entry"))
        if bad:
            return False, f"{len(bad)} non-http(s) link(s), e.g. {shown(bad[0], 60)!r}"
        return True, f"{entries} entries"
    if fmt == "json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            return False, f"JSON: {exc}"
        urls = [
            item.get("url")
            for group in doc.get("groups", [])
            for rubric in group.get("rubrics", [])
            for item in rubric.get("items", [])
        ]
        bad = [
            u
            for u in urls
            if u is not None and not str(u).lower().startswith(("http://", "https://"))
        ]
        if bad:
            return False, f"{len(bad)} non-http(s) url(s), e.g. {shown(str(bad[0]), 60)!r}"
        return True, f"{len(urls)} items"
    if fmt == "html":
        checker = _HtmlCheck()
        try:
            checker.feed(text)
            checker.close()
        except Exception as exc:
            return False, f"html.parser: {type(exc).__name__}: {exc}"
        problems = list(checker.problems)
        if "<script" in text.lower():
            problems.insert(0, "contains <script")
        problems += [
            f"<{tag}> never closed" for tag in checker.stack if tag not in _OPTIONAL_END | {"html"}
        ]
        if problems:
            return False, f"{len(problems)} problem(s): " + "; ".join(problems[:3])
        return True, f"{checker.tags.get('li', 0)} <li>, {sum(checker.tags.values())} tags"
    if fmt == "md":
        bad = re.findall(r"\]\(\s*(?!https?://|#)([^)\s]*)", text)
        if bad:
            return False, f"{len(bad)} non-http(s) link(s), e.g. {shown(bad[0], 60)!r}"
    return True, f"{len(text.splitlines())} lines"


# ------------------------------------------------------------------------------ main


def statuses(run: Run) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return None, None
    if not isinstance(doc, dict) or not isinstance(doc.get("feeds"), list):
        return None, None
    return doc["feeds"], doc


def update_phase(
    kz: Kzfeed, label: str, names: list[str], batch: int
) -> tuple[dict[str, dict[str, Any]], dict[str, int], list[Run]]:
    results: dict[str, dict[str, Any]] = {}
    totals = Counter[str]()
    runs = []
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        n = start // batch + 1
        run = kz(f"{label}-{n:02d}", "update", *chunk, "--json")
        runs.append(run)
        feeds, doc = statuses(run)
        state = "HANG" if run.hung else f"exit {run.code}"
        print(
            f"  {label} batch {n}: {len(chunk)} feeds, {run.seconds:.1f} s, {state}"
            + ("" if feeds is not None else ", no JSON"),
            flush=True,
        )
        if doc is not None:
            for key in ("new", "updated", "errors"):
                totals[key] += int(doc.get(key) or 0)
        for entry in feeds or []:
            if isinstance(entry, dict):
                totals["empty_entries"] += int(entry.get("empty_entries") or 0)
                if "last entry was left out" in str(entry.get("note") or ""):
                    totals["cut_documents"] += 1
        for entry in feeds or []:
            if isinstance(entry, dict) and entry.get("name") in chunk:
                results[entry["name"]] = entry
    return results, dict(totals), runs


def tally(results: dict[str, dict[str, Any]], names: list[str]) -> tuple[Counter[str], list[str]]:
    counts: Counter[str] = Counter()
    lost = []
    for name in names:
        entry = results.get(name)
        if entry is None:
            counts["missing"] += 1
            lost.append(f"{name}: missing from the JSON")
            continue
        status = entry.get("status")
        counts[str(status)] += 1
        if status in ("error", "skipped") and not str(entry.get("error") or "").strip():
            lost.append(f"{name}: {status} without a reason")
        elif status not in ("ok", "not_modified", "error", "skipped"):
            lost.append(f"{name}: status {status!r}")
    return counts, lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=3000, help="mutated real-feed bodies")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    parser.add_argument("--out", type=Path, default=None, help="keep everything here")
    parser.add_argument("--batch", type=int, default=500, help="feeds per `update` run")
    parser.add_argument(
        "--fp-limit", type=int, default=0, help="every k-th feedparser file, about N (0: all)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help="holds feedparser-tests/ and real/"
    )
    args = parser.parse_args()
    wall = time.perf_counter()
    out = args.out or Path(tempfile.mkdtemp(prefix="kzfeed-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    runs_dir = out / "runs"
    runs_dir.mkdir(exist_ok=True)
    config = out / "config.toml"

    bodies = feedparser_bodies(args.corpus, args.fp_limit)
    bodies += mutated_bodies(args.corpus, args.bodies, args.seed)
    bodies += header_bodies()
    names = [b.name for b in bodies]
    by_name = {b.name: b for b in bodies}
    server = FuzzServer()
    for body in bodies:
        server.routes[body.path] = body.route
    write_config(config, [(b.name, server.url(b.path)) for b in bodies], out / "data")
    (out / "bodies.json").write_text(
        json.dumps({b.name: [b.path, b.kind] for b in bodies}, ensure_ascii=True, indent=0)
    )
    print(
        f"kzfeed fuzz: {len(bodies)} bodies on 127.0.0.1:{server.port}, out {out}",
        flush=True,
    )
    kz = Kzfeed(config, runs_dir, args.timeout)
    try:
        started = time.perf_counter()
        cold, cold_totals, cold_runs = update_phase(kz, "cold", names, args.batch)
        cold_seconds = time.perf_counter() - started
        started = time.perf_counter()
        warm, warm_totals, warm_runs = update_phase(kz, "warm", names, args.batch)
        warm_seconds = time.perf_counter() - started
        latest_json = kz("latest-json", "latest", "--json", "-n", "1000000")
        latest_text = kz("latest-text", "latest", "-n", "1000000", "--no-pager")
        feeds_json = kz("feeds-json", "feeds", "--json")
        rubrics = kz("rubrics-json", "rubrics", "--json")
        db_check = kz("db-check", "db", "check")
        exports = {}
        for fmt in ("atom", "html", "json", "md", "txt"):
            target = out / f"digest.{fmt}"
            target.unlink(missing_ok=True)
            run = kz(
                f"digest-{fmt}", "digest", "--format", fmt, "--since", "3650d", "-o", str(target)
            )
            if run.hung or run.code != 0 or not target.exists():
                exports[fmt] = (
                    False,
                    f"exit {run.code}: {shown(run.stderr.decode('utf-8', 'replace').strip(), 200)}",
                    run,
                )
            else:
                ok, why = check_export(fmt, target.read_bytes())
                exports[fmt] = (ok, why, run)
    finally:
        server.close()

    # ---- figures
    cold_counts, cold_lost = tally(cold, names)
    warm_counts, warm_lost = tally(warm, names)
    items: list[dict[str, Any]] = []
    with contextlib.suppress(ValueError):
        items = json.loads(latest_json.stdout)
    per_feed: Counter[str] = Counter()
    bad_urls = []
    for item in items:
        carried = {item.get("feed")} | {a.get("feed") for a in item.get("also_in") or []}
        for name in carried:
            per_feed[name] += 1
        url = item.get("url")
        if url is not None and not str(url).lower().startswith(("http://", "https://")):
            bad_urls.append(f"{item.get('feed')}: {shown(str(url), 80)}")
    rubric_total = None
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        rubric_total = sum(int(r.get("count", 0)) for r in json.loads(rubrics.stdout))

    errors = Counter(
        reason(str(e.get("error") or "")) for e in cold.values() if e.get("status") == "error"
    )
    examples: dict[str, str] = {}
    for name, entry in cold.items():
        if entry.get("status") == "error":
            examples.setdefault(
                reason(str(entry.get("error") or "")),
                f"{name}: {shown(str(entry.get('error')), 110)}",
            )
    internal = [
        f"{name} ({by_name[name].kind}): {shown(str(entry.get('error')), 150)}"
        for name, entry in cold.items()
        if INTERNAL.search(str(entry.get("error") or ""))
    ]
    new_errors = [
        f"{name}: {shown(str(warm[name].get('error')), 100)}"
        for name in names
        if name in warm
        and warm[name].get("status") == "error"
        and cold.get(name, {}).get("status") != "error"
    ]
    gzip_not_refused = [
        f"{b.name} ({b.kind}): {cold.get(b.name, {}).get('status')}, {per_feed[b.name]} items"
        for b in bodies
        if b.must_fail
        and (cold.get(b.name, {}).get("status") in ("ok", "not_modified") or per_feed[b.name])
    ]

    print("  counting feedparser's own entries ...", flush=True)
    vanished = []
    vanished_beyond_dups = 0
    entries_sum = [0, 0, 0, 0]  # feedparser's: all, with a title or link, to keep; kzfeed's
    refused_with_entries = Counter[str]()
    fp_ok = 0
    for body in bodies:
        if body.group != "fp":
            continue
        status = cold.get(body.name, {}).get("status")
        if status not in ("ok", "error"):
            continue
        try:
            every, found, distinct = entry_counts(body)
        except Exception as exc:  # feedparser's own failure: not kzfeed's
            print(f"  feedparser failed on {body.kind}: {type(exc).__name__}: {exc}")
            continue
        if status == "error":
            if found:
                refused_with_entries[reason(str(cold[body.name].get("error") or ""))] += 1
            continue
        fp_ok += 1
        stored = per_feed[body.name]
        for k, figure in enumerate((every, found, distinct, stored)):
            entries_sum[k] += figure
        if stored < found:
            vanished.append((body, found, distinct, stored))
            vanished_beyond_dups += stored < distinct

    update_runs = cold_runs + warm_runs
    tracebacks = [r for r in kz.runs if r.traceback]
    hangs = [r for r in kz.runs if r.hung]
    leftovers = [(r, pid, cmd) for r in kz.runs for pid, cmd in r.leftovers.items()]
    leak_report: dict[str, tuple[Counter[str], list[str]]] = {}
    leak_report["update --json"] = (Counter(), [])
    for run in update_runs:
        counts, samples = leaks(run.stdout)
        leak_report["update --json"][0].update(counts)
        leak_report["update --json"][1].extend(samples[: 5 - len(leak_report["update --json"][1])])
    leak_report["feeds --json"] = leaks(feeds_json.stdout)
    leak_report["latest (text)"] = leaks(latest_text.stdout)
    leak_report["latest --json"] = leaks(latest_json.stdout)
    for fmt in ("md", "txt"):
        path = out / f"digest.{fmt}"
        if path.exists():
            leak_report[f"digest --format {fmt}"] = leaks(path.read_bytes())
    total_seconds = time.perf_counter() - wall

    rows: list[tuple[str, str]] = []

    def row(label: str, value: Any) -> None:
        rows.append((label, str(value)))

    groups = Counter(b.group for b in bodies)
    row(
        "bodies served (feedparser-tests / mutated / hostile headers)",
        f"{len(bodies)} ({groups['fp']} / {groups['mut']} / {groups['hdr']})",
    )
    row("requests the server answered", sum(server.hits.values()))
    row(
        "update runs (cold + warm), feeds per run",
        f"{len(cold_runs)} + {len(warm_runs)}, {args.batch}",
    )
    row(
        "cold: ok / error / not_modified / skipped",
        " / ".join(str(cold_counts[s]) for s in ("ok", "error", "not_modified", "skipped")),
    )
    row(
        "cold: new / updated items (update --json)",
        f"{cold_totals.get('new', 0)} / {cold_totals.get('updated', 0)}",
    )
    row(
        "cold: entries left out, no title/text/link (empty_entries)",
        cold_totals.get("empty_entries", 0),
    )
    row(
        "cold: cut documents whose cut last entry was left out (note)",
        cold_totals.get("cut_documents", 0),
    )
    row(
        "warm: ok / error / not_modified / skipped",
        " / ".join(str(warm_counts[s]) for s in ("ok", "error", "not_modified", "skipped")),
    )
    row(
        "warm: new / updated items (must be 0 / 0)",
        f"{warm_totals.get('new', 0)} / {warm_totals.get('updated', 0)}",
    )
    row("warm: feeds failing that did not fail cold (must be 0)", len(new_errors))
    row("items stored (latest --json)", len(items))
    row("items counted by rubrics --json", rubric_total if rubric_total is not None else "no JSON")
    row("items with a non-http(s) url (must be 0)", len(bad_urls))
    row("tracebacks or exit codes other than 0/3 (must be 0)", len(tracebacks))
    row("hangs: runs past --timeout (must be 0)", f"{len(hangs)} (timeout {args.timeout:g} s)")
    row("processes left behind (must be 0)", len(leftovers))
    row("errors that are a caught internal exception (should be 0)", len(internal))
    row("lost feeds, cold + warm (must be 0)", f"{len(cold_lost)} + {len(warm_lost)}")
    row(
        "truncated gzip bodies not refused (must be 0)",
        f"{len(gzip_not_refused)} of {sum(b.must_fail for b in bodies)}",
    )
    row("feedparser-tests feeds ok, compared with feedparser", fp_ok)
    row(
        "  feedparser entries: all / with a title or link / to keep; kzfeed items",
        " / ".join(map(str, entries_sum[:3])) + f"; {entries_sum[3]}",
    )
    row("  feeds with fewer kzfeed items than feedparser entries", len(vanished))
    row("  not explained by repeats or entries with no text", vanished_beyond_dups)
    row(
        "feedparser-tests refused although feedparser finds entries",
        sum(refused_with_entries.values()),
    )
    row("db check exit code (must be 0)", db_check.code)
    for command, (counts, _samples) in leak_report.items():
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        row(
            f"terminal leaks in {command} (must be 0)",
            f"{sum(counts.values())}" + (f" ({detail})" if detail else ""),
        )
    for fmt, (ok, why, _run) in exports.items():
        row(f"digest --format {fmt}", ("valid" if ok else "INVALID") + f": {why}")
    row("slowest update run", f"{max((r.seconds for r in update_runs), default=0):.1f} s")
    row("cold / warm update time", f"{cold_seconds:.1f} s / {warm_seconds:.1f} s")
    row("total wall time", f"{total_seconds:.1f} s")

    lines = [
        f"kzfeed fuzz harness — {datetime.now(UTC):%Y-%m-%d}, seed {args.seed}, "
        f"--bodies {args.bodies}, python {sys.version.split()[0]}, {os.cpu_count()} cores"
    ]
    width = max(len(r[0]) for r in rows)
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    lines += ["", "errors by reason (cold run, top 15; an example of each):"]
    for gist, count in errors.most_common(15):
        lines.append(f"  {count:6d}  {gist}")
        lines.append(f"          e.g. {examples[gist]}")
    lines += ["", "mutations (by the main one of a stack): cold ok / error / other:"]
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for body in bodies:
        if body.group == "mut":
            status = cold.get(body.name, {}).get("status", "missing")
            kinds[main_kind(body.kind)][status if status in ("ok", "error") else "other"] += 1
    for kind, counts in sorted(kinds.items()):
        lines.append(
            f"  {kind:<36} {counts['ok']:5d} / {counts['error']:5d} / {counts['other']:5d}"
        )
    lines += ["", "hostile headers: cold -> warm:"]
    for body in bodies:
        if body.group == "hdr":
            c, w = cold.get(body.name, {}), warm.get(body.name, {})
            lines.append(
                f"  {body.name:<10} {body.kind:<48} {c.get('status')} {c.get('http_status')}"
                f" {shown(str(c.get('error') or ''), 70)!s} -> {w.get('status')} {per_feed[body.name]} items"
            )
    if vanished:
        lines += [
            "",
            "feedparser-tests feeds with fewer kzfeed items than feedparser entries (up to 10; "
            "feedparser's entries with a title or link / of those kzfeed should keep / kzfeed items):",
        ]
        vanished.sort(key=lambda v: (v[3] >= v[2], -(v[1] - v[3])))
        for body, found, distinct, stored in vanished[:10]:
            lines.append(f"  {body.name} {body.kind}: {found} / {distinct} / {stored}")
    if refused_with_entries:
        lines += [
            "",
            "feedparser-tests refused by kzfeed although feedparser finds entries, by reason:",
        ]
        lines += [f"  {n:6d}  {gist}" for gist, n in refused_with_entries.most_common(10)]
    for title, found in (
        ("lost feeds", cold_lost + warm_lost),
        ("errors that are a caught internal exception", internal),
        ("warm failures that were not cold ones", new_errors),
        ("truncated gzip bodies not refused", gzip_not_refused),
        ("items with a non-http(s) url", bad_urls),
    ):
        if found:
            lines += ["", f"{title} (up to 10):"] + [f"  {shown(x, 200)}" for x in found[:10]]
    if tracebacks:
        lines += [
            "",
            "tracebacks and unexpected exit codes (the last lines of each, up to 10 runs):",
        ]
        for run in tracebacks[:10]:
            err = run.stderr.decode("utf-8", "replace").strip().splitlines()
            lines.append(f"  {run.label} (exit {run.code}; stderr in {runs_dir}):")
            lines += [f"    {shown(x, 200)}" for x in err[-4:]]
    if hangs:
        lines += ["", "hangs:"] + [f"  {r.label}: killed after {r.seconds:.0f} s" for r in hangs]
    if leftovers:
        lines += ["", "processes left behind (killed by the harness):"]
        lines += [
            f"  after {r.label}: pid {pid}: {shown(cmd, 150)}" for r, pid, cmd in leftovers[:10]
        ]
    leak_samples = [(c, s) for c, (_n, samples) in leak_report.items() for s in samples]
    if leak_samples:
        lines += ["", "terminal leaks (up to 5 samples a command, shown escaped):"]
        lines += [f"  {command}: {sample}" for command, sample in leak_samples]
    check_out = (db_check.stdout + db_check.stderr).decode("utf-8", "replace").strip().splitlines()
    lines += ["", f"db check (exit {db_check.code}):"] + [
        f"  {shown(x, 200)}" for x in check_out[:10]
    ]
    lines += [
        "",
        f"everything is in {out} (config.toml, data/, runs/, digest.*, report.txt, report.json)",
    ]
    report = "\n".join(lines)
    print()
    print(report)
    (out / "report.txt").write_text(report + "\n", encoding="utf-8")
    figures = {
        "rows": dict(rows),
        "errors_by_reason": dict(errors.most_common()),
        "mutation_kinds": {k: dict(v) for k, v in kinds.items()},
        "vanished": [[b.name, b.kind, f, d, s] for b, f, d, s in vanished],
        "refused_with_entries": dict(refused_with_entries),
        "lost": cold_lost + warm_lost,
        "internal_errors": internal,
        "new_errors_warm": new_errors,
        "gzip_not_refused": gzip_not_refused,
        "tracebacks": [
            [r.label, r.code, r.stderr.decode("utf-8", "replace")[-2000:]] for r in tracebacks
        ],
        "hangs": [r.label for r in hangs],
        "leftovers": [[r.label, pid, cmd] for r, pid, cmd in leftovers],
        "leaks": {c: dict(n) for c, (n, _s) in leak_report.items()},
        "exports": {f: [ok, why] for f, (ok, why, _r) in exports.items()},
        "db_check": [db_check.code, check_out],
        "runs": [[r.label, r.code, round(r.seconds, 2)] for r in kz.runs],
        "hdr": {
            b.name: [b.kind, cold.get(b.name), warm.get(b.name)] for b in bodies if b.group == "hdr"
        },
    }
    (out / "report.json").write_text(json.dumps(figures, ensure_ascii=True, indent=1) + "\n")


if __name__ == "__main__":
    main()
