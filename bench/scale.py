"""Speed at scale: kzfeed against a year of the wire, and against sfeed and newsboat.

One command, from the repository root (with kzfeed installed, e.g. the README's test venv):

    .venv/bin/python bench/scale.py            # everything, about 6-10 minutes on 2 cores
    .venv/bin/python bench/scale.py --quick    # smaller stores, fewer runs

It generates a deterministic corpus (500 agency feeds x 50 items of Cyrillic/Kazakh news,
with rubrics, some stories carried by several feeds), serves it from a server on 127.0.0.1
with ETag support (gzip bodies compressed once per version, as a server with pre-compressed
files sends them: the server's work is not billed to the client), and measures whole-process wall time (median of --runs) and peak RSS:

1. cold `kzfeed update` of all 500 feeds into an empty database;
2. warm `kzfeed update`: the server answers 304, and the server ignores validators and
   re-sends identical bodies;
2b. the steady poll: the corpus one poll later (every feed with 2 new items on top and its
   2 oldest gone, the rest byte for byte the same), for kzfeed and the others in the round;
2b'. the biggest update: 100 new feeds of 750 items each (75,000 items) added at once to the
   store, its time and peak RSS;
2c. the feedparser floor: the 500 bodies parsed by bare `feedparser.parse(bytes,
   sanitize_html=False, resolve_relative_uris=False)` on every core, as a whole process;
3. `kzfeed latest -n 50`, `kzfeed latest --group rubric --since 24h` and `kzfeed latest
   --stories -n 50` (the default listing of the config `kzfeed init` writes) over stores of 25k,
   100k and 365k items (built through the store's own write path), the newest day a busy
   one of 7,500 items;
4. `kzfeed --help` and a minimal Typer hello-world command (the start-up yardstick);
5. database bytes per item; adding 1,000 new items to the 100k store, and to the biggest
   store as a process of its own (time and peak RSS: an update on a year's wire);
6. where installed, `sfeed_update` (maxjobs=8) and `newsboat -x reload` (reload-threads 8)
   on the same feeds, cold and warm.

Figures vary between runs on a shared machine: compare ratios measured in the same run.  To
keep a slow spell from skewing a ratio, each round of updates runs kzfeed, sfeed and newsboat
in turn, and each `latest`/`--help` figure is timed alternately with the Typer yardstick
(at least 9 rounds; their target ratio is the median of the round-by-round ratios).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kzfeed import dedup  # noqa: E402
from kzfeed.model import Item  # noqa: E402
from kzfeed.normalize import _hash, canonical_url  # noqa: E402
from kzfeed.store import Store  # noqa: E402

BUSY_DAY = 7_500  # items on the newest day of the `latest` stores (issue 15: 7,000+)
FEEDS = 500
ITEMS = 50
BIG_FEEDS, BIG_ITEMS = 100, 750  # the biggest update: that many feeds subscribed at once
AGENCIES = [
    ("inform.kz", "Kazinform", "ru"),
    ("inform.kz", "Kazinform", "kk"),
    ("tengrinews.kz", "Tengrinews", "ru"),
    ("zakon.kz", "Zakon.kz", "ru"),
    ("kz.kursiv.media", "Kursiv", "ru"),
    ("astanatimes.com", "The Astana Times", "en"),
    ("rus.azattyq.org", "Azattyq", "ru"),
    ("ru.sputnik.kz", "Sputnik Казахстан", "ru"),
    ("tass.ru", "ТАСС", "ru"),
    ("ria.ru", "РИА Новости", "ru"),
    ("interfax.ru", "Интерфакс", "ru"),
    ("lenta.ru", "Lenta.ru", "ru"),
]
CATEGORIES = {
    "ru": [
        "Политика",
        "Общество",
        "Экономика",
        "Культура",
        "Аналитика",
        "Спорт",
        "В мире",
        "Происшествия",
        "Наука",
        "Здоровье",
        "Казахстан",
        "Регионы",
    ],
    "kk": [
        "Саясат",
        "Қоғам",
        "Экономика",
        "Мәдениет",
        "Талдау",
        "Спорт",
        "Әлем",
        "Оқиғалар",
        "Ғылым",
    ],
    "en": [
        "Politics",
        "Nation",
        "Business",
        "Culture",
        "Analysis",
        "Sport",
        "World",
        "Incidents",
        "Science",
    ],
}
WORDS = {
    "ru": (
        "Токаев провел переговоры с президентом Нацбанк сохранил базовую ставку Мажилис одобрил "
        "поправки в Налоговый кодекс Алматы Астана Шымкент Караганда выставка чемпионат медали "
        "снегопад гололед Казгидромет сенат соглашение цифровизация инвестиции нефть тенге "
        "правительство министр аким области студенты больница дорога аэропорт"
    ).split(),
    "kk": (
        "Тоқаев келіссөз жүргізді Ұлттық банк мөлшерлемені сақтады Мәжіліс түзетулерді мақұлдады "
        "Алматы Астана Шымкент көрме чемпионат медаль қар жол әкім облыс студенттер аурухана "
        "үкімет министр инвестиция мұнай теңге"
    ).split(),
    "en": (
        "Tokayev held talks with the president National Bank kept its base rate Mazhilis approved "
        "amendments Almaty Astana Shymkent exhibition championship medals snowfall government "
        "minister investment oil tenge students hospital airport region"
    ).split(),
}


# ------------------------------------------------------------------------------ the corpus


def build_corpus(
    now: datetime, seed: int = 2026, feeds: int = FEEDS, items: int = ITEMS, folder: str = "feed"
) -> dict[str, bytes]:
    """500 RSS documents, path -> bytes.  About one story in ten is carried by 2-3 feeds
    (an agency's main feed and its rubric feeds, http/https and utm variants)."""
    rng = random.Random(seed)
    shared: list[tuple[str, str, str, datetime]] = []
    docs: dict[str, bytes] = {}
    kind = "news" if folder == "feed" else folder  # the links of the 500 feeds as they were
    for f in range(feeds):
        host, source, lang = AGENCIES[f % len(AGENCIES)]
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<rss version="2.0"><channel>',
            f"<title>{escape(source)} #{f}</title><link>https://{host}/</link>",
            f"<description>{escape(source)}</description><language>{lang}</language>",
        ]
        for i in range(items):
            if shared and rng.random() < 0.1:
                title, link, category, when = rng.choice(shared)
                link = link.replace("https://", "http://") + "?utm_source=rss&utm_medium=feed"
            else:
                words = WORDS[lang]
                title = " ".join(rng.choice(words) for _ in range(rng.randint(6, 12))).capitalize()
                link = f"https://{host}/{lang}/{kind}/{f}-{i}-{rng.randrange(10**9)}"
                category = rng.choice(CATEGORIES[lang])
                when = now - timedelta(minutes=rng.randint(0, 48 * 60))
                if rng.random() < 0.05:
                    shared.append((title, link, category, when))
            lead = " ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(20, 40))) + "."
            parts.append(
                f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                f"<guid>{escape(link)}</guid>"
                f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
                f"<category>{escape(category)}</category>"
                f"<description><![CDATA[<p>{escape(lead)}</p>]]></description></item>"
            )
        parts.append("</channel></rss>")
        docs[f"/{folder}/{f}.xml"] = "\n".join(parts).encode()
    return docs


class _Server(ThreadingHTTPServer):
    # the listen backlog is fixed when the constructor calls listen(): set on the class, not
    # after (a backlog of 5 drops the 8th simultaneous connect, and its SYN is resent after
    # 1 s — a second billed to whichever client opened 8 connections at once)
    request_queue_size = 128
    daemon_threads = True


class CorpusServer:
    """Serves the corpus on 127.0.0.1 with strong ETags; `honour` toggles 304 answers."""

    def __init__(self, docs: dict[str, bytes]) -> None:
        self.honour = True
        self.requests = 0
        self.not_modified = 0
        self.serve(docs)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in separate writes: with Nagle's algorithm on, the body
            # waits for the client's delayed ACK (40 ms a response on Linux), which no real
            # server does
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests += 1
                body = server.docs.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = server.etags[self.path]
                if server.honour and self.headers.get("If-None-Match") == etag:
                    server.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("ETag", etag)
                if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                    body = server.gzipped[self.path]  # compressed once per version
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def serve(self, docs: dict[str, bytes]) -> None:
        """Serve this version of the corpus: its ETags, and its gzip bodies compressed once
        (as a server with pre-compressed files does): the server's own work is not billed
        to the client being timed."""
        import gzip

        self.docs = docs
        self.etags = {
            path: '"' + hashlib.sha1(body).hexdigest()[:16] + '"' for path, body in docs.items()
        }
        self.gzipped = {path: gzip.compress(body, 6) for path, body in docs.items()}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def next_poll(docs: dict[str, bytes], poll: int, now: datetime) -> dict[str, bytes]:
    """The corpus one poll later: every feed with 2 new items on top and its 2 oldest gone,
    every other item byte for byte the same."""
    out = {}
    for path, body in docs.items():
        lines = body.decode().split("\n")
        head, items, tail = lines[:4], lines[4:-1], lines[-1:]
        f = int(path.rsplit("/", 1)[1].split(".")[0])
        host, _source, lang = AGENCIES[f % len(AGENCIES)]
        fresh = []
        for k in range(2):
            rng = random.Random(f"{poll}-{path}-{k}")
            title = " ".join(rng.choice(WORDS[lang]) for _ in range(8)).capitalize()
            link = f"https://{host}/{lang}/news/{f}-poll{poll}-{k}"
            lead = " ".join(rng.choice(WORDS[lang]) for _ in range(30)) + "."
            when = now + timedelta(minutes=poll * 5 + k)
            fresh.append(
                f"<item><title>{escape(title)} ({poll}.{k})</title><link>{link}</link>"
                f"<guid>{link}</guid>"
                f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
                f"<category>{escape(CATEGORIES[lang][0])}</category>"
                f"<description><![CDATA[<p>{escape(lead)}</p>]]></description></item>"
            )
        out[path] = "\n".join([*head, *fresh, *items[:-2], *tail]).encode()
    return out


FLOOR = (
    "import concurrent.futures, io, os, sys, pathlib, feedparser\n"
    "def parse(path):\n"
    "    body = pathlib.Path(path).read_bytes()\n"
    "    return len(feedparser.parse(io.BytesIO(body), sanitize_html=False,"
    " resolve_relative_uris=False).entries)\n"
    "if __name__ == '__main__':\n"
    "    paths = sorted(str(p) for p in pathlib.Path(sys.argv[1]).glob('*.xml'))\n"
    "    with concurrent.futures.ProcessPoolExecutor(os.cpu_count()) as pool:\n"
    "        print(sum(pool.map(parse, paths, chunksize=8)))\n"
)


# ------------------------------------------------------------------------------ measuring

#: The process's own peak RSS in KB.  Linux's VmHWM, not getrusage: a process started by a
#: bigger one (this benchmark holds a 365k-item store's records at the end) reports at least
#: its parent's peak in ru_maxrss — it is carried over the exec — and the benchmark showed
#: 1,151 MB for an update that peaked at 414 MB.
OWN_PEAK = (
    "def own_peak_kb():\n"
    "    try:\n"
    "        with open('/proc/self/status') as fh:\n"
    "            for line in fh:\n"
    "                if line.startswith('VmHWM:'):\n"
    "                    return int(line.split()[1])\n"
    "    except OSError:\n"
    "        pass\n"
    "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
)

MEASURE = (
    "import resource, sys, time\n" + OWN_PEAK + "from kzfeed.cli import main\n"
    "sys.argv = ['kzfeed', *sys.argv[1:]]\n"
    "code = 0\n"
    "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
    "peak = max(own_peak_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stderr.write(f'\\nPEAK_RSS_KB={peak}\\n')\n"
    "sys.exit(code)\n"
)


def run(
    cmd: list[str], env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    return time.perf_counter() - started, result


def median_time(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    run(cmd, env)  # warm-up: bytecode cache, page cache
    return statistics.median(run(cmd, env)[0] for _ in range(runs))


def paired_medians(
    cmds: list[list[str]], runs: int, env: dict[str, str] | None = None
) -> tuple[list[float], float]:
    """Median wall time of each command, the commands run in turn (a, b, a, b, ...), and the
    median of the round-by-round ratios a/b: on a shared machine whose speed drifts (here by
    half from one second to the next), two runs side by side see the same machine, so their
    ratio is steadier than a ratio of two medians."""
    for cmd in cmds:
        run(cmd, env)  # warm-up: bytecode cache, page cache
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for k, cmd in enumerate(cmds):
            times[k].append(run(cmd, env)[0])
    ratio = statistics.median(a / b for a, b in zip(times[0], times[-1], strict=True))
    return [statistics.median(t) for t in times], ratio


#: 1,000 new items added to a store (argv[1]) through its own write path, in a process of
#: their own: the time it took on stdout, the process's peak RSS on stderr
ADD_1000 = (
    "import resource, sys, time\n" + OWN_PEAK + f"sys.path.insert(0, {str(REPO / 'bench')!r})\n"
    "from datetime import UTC, datetime\n"
    "from pathlib import Path\n"
    "from scale import load_store, synthetic_items\n"
    "extra = synthetic_items(30_000_000, 1000, datetime.now(UTC).replace(microsecond=0), 1, 99)\n"
    "started = time.perf_counter()\n"
    "load_store(Path(sys.argv[1]), extra)\n"
    "print(time.perf_counter() - started)\n"
    "sys.stderr.write(f'\\nPEAK_RSS_KB={own_peak_kb()}\\n')\n"
)


def peak_mb(result: subprocess.CompletedProcess[str]) -> float:
    marker = result.stderr.rsplit("PEAK_RSS_KB=", 1)
    return int(marker[1].split()[0]) / 1024 if len(marker) == 2 else float("nan")


def kzfeed_config(path: Path, data: Path, server: CorpusServer, big: int = 0) -> Path:
    """The corpus's 500 feeds (and ``big`` feeds of the big corpus)."""
    feeds = "\n".join(
        f'[[feeds]]\nname = "f{n}"\nurl = "{server.url(f"/feed/{n}.xml")}"\n' for n in range(FEEDS)
    ) + "".join(
        f'[[feeds]]\nname = "big{n}"\nurl = "{server.url(f"/big/{n}.xml")}"\n' for n in range(big)
    )
    path.write_text(
        "[settings]\n"
        f'data_dir = "{data}"\n'
        "jobs = 8\n"
        "per_host = 8  # every feed is on 127.0.0.1 here; real agencies are on many hosts\n"
        "timeout = 60\n"
        "retention_days = 0\n"
        f"{feeds}",
        encoding="utf-8",
    )
    return path


# ------------------------------------------------------------------------------ stores


def synthetic_items(start: int, count: int, now: datetime, days: float, seed: int) -> list[Item]:
    """Items for the store benchmarks, newest first, ``count`` spread over ``days`` days
    back from ``now``."""
    rng = random.Random(seed)
    feeds = [f"f{n}" for n in range(40)]
    rubrics = (
        "politics",
        "society",
        "economy",
        "culture",
        "sport",
        "world",
        "incidents",
        "science",
    )
    items = []
    for k in range(count):
        n = start + k
        lang = "kk" if n % 7 == 0 else "ru"
        title = " ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(7, 12))).capitalize()
        lead = " ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(25, 45))) + "."
        when = now - timedelta(seconds=int(k * days * 86400 / max(count, 1)) + rng.randint(0, 60))
        link = f"https://www.inform.kz/{lang}/news_a{5_000_000 + n}"
        feed = feeds[n % len(feeds)]
        key = _hash("f", feed, "g:" + link)
        items.append(
            Item(
                id=key,
                feed=feed,
                source="Kazinform",
                title=title,
                url=link,
                published=when.replace(microsecond=0).isoformat(),
                date_estimated=False,
                rubrics=(rubrics[n % len(rubrics)],),
                categories=("Политика",),
                lang=lang,
                summary=lead,
                guid=link,
                feed_key=key,
                link_key=_hash("u", canonical_url(link) or link),
                content_hash=_hash(title, lead),
                first_seen=now.isoformat(),
            )
        )
    return items


def load_store(data: Path, items: list[Item], batch: int = 20_000) -> float:
    """Through the store's own write path (dedup decisions, partitions, index, backups)."""
    store = Store(data)
    started = time.perf_counter()
    for offset in range(0, len(items), batch):
        with store.writer() as writer:
            part = items[offset : offset + batch]
            writer.apply(dedup.plan(part, writer.view(part)))
    return time.perf_counter() - started


def identity_stamp(data: Path) -> list[tuple[str, int, int]]:
    """The identity index's files (its journal too) as they are: unchanged, nothing was
    written."""
    found = sorted(data.glob("identity.sqlite*"))
    return [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in found]


def store_bytes(data: Path) -> int:
    return sum(
        p.stat().st_size
        for p in [
            data / "identity.sqlite",
            data / "identity.sqlite-wal",
            data / "state.json",
            *data.glob("items/*.json"),
            *data.glob("tombstones/*.json"),
            *data.glob("heads/*.json"),
        ]
        if p.exists()
    )


# ------------------------------------------------------------------------------ the others


def sfeed_run(tmp: Path, server: CorpusServer, fresh: bool) -> float | None:
    exe = shutil.which("sfeed_update")
    if exe is None:
        return None
    home = tmp / "sfeed"
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(exist_ok=True)
    rc = home / "sfeedrc"
    lines = [f'sfeedpath="{home}/feeds"', "maxjobs=8", "feeds() {"]
    lines += [f'\tfeed "f{n}" "{server.url(f"/feed/{n}.xml")}"' for n in range(FEEDS)]
    lines.append("}")
    rc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seconds, _ = run([exe, str(rc)], env={**os.environ, "HOME": str(home)})
    return seconds


def newsboat_run(tmp: Path, server: CorpusServer, fresh: bool) -> float | None:
    exe = shutil.which("newsboat")
    if exe is None:
        return None
    home = tmp / "newsboat"
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(exist_ok=True)
    (home / "urls").write_text(
        "\n".join(server.url(f"/feed/{n}.xml") for n in range(FEEDS)) + "\n", encoding="utf-8"
    )
    (home / "config").write_text("reload-threads 8\n", encoding="utf-8")
    cmd = [
        exe,
        "-u",
        str(home / "urls"),
        "-c",
        str(home / "cache.db"),
        "-C",
        str(home / "config"),
        "-x",
        "reload",
    ]
    seconds, _ = run(
        cmd,
        env={
            **os.environ,
            "HOME": str(home),
            "XDG_DATA_HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
        },
    )
    return seconds


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="stores of 5k/20k/40k items, 1 run")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    pair_runs = 5 if args.quick else max(3 * runs, 9)  # start-up pairs are cheap: more rounds
    sizes = (10_000, 20_000, 40_000) if args.quick else (25_000, 100_000, 365_000)
    now = datetime.now(UTC).replace(microsecond=0)
    # as a user runs it: with Python's bytecode cache (a shell or CI may switch it off)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    py = sys.executable
    rows: list[tuple[str, str]] = []
    figures: dict[str, float] = {}

    def record(key: str, label: str, value: float, unit: str = "s") -> None:
        figures[key] = value
        rows.append((label, f"{value:.3f} {unit}" if unit == "s" else f"{value:,.0f} {unit}"))
        print(f"  {label}: {rows[-1][1]}", file=sys.stderr, flush=True)

    docs = build_corpus(now)
    server = CorpusServer(docs)
    corpus_mb = sum(len(b) for b in docs.values()) / 1e6
    print(
        f"corpus: {FEEDS} feeds x {ITEMS} items, {corpus_mb:.1f} MB, on {server.url('/')}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="kzfeed-bench-") as tmp_name:
        tmp = Path(tmp_name)
        hello = tmp / "hello.py"
        hello.write_text(
            "import typer\napp = typer.Typer()\n\n@app.command()\ndef hello(name: str = 'мир') -> None:\n"
            "    print(f'Сәлем, {name}')\n\nif __name__ == '__main__':\n    app()\n",
            encoding="utf-8",
        )
        (help_s, hello_s), figures["help_ratio"] = paired_medians(
            [[py, "-m", "kzfeed", "--help"], [py, str(hello), "--name", "x"]], pair_runs, env
        )
        record("help", "kzfeed --help", help_s)
        record("hello_help", "  Typer hello-world, timed alternately with it", hello_s)

        # 1-2 and 6: updates, each round kzfeed then the others, so that a slow spell of a
        # shared machine falls on all of them alike
        cold, warm_304, warm_same, peaks, steady = [], [], [], [], []
        steady_counts: list[tuple[int, int]] = []
        steady_others: dict[str, list[float]] = {}
        parsed_warm = []
        others: dict[str, tuple[list[float], list[float]]] = {
            "sfeed": ([], []),
            "newsboat": ([], []),
        }
        runners = {"sfeed": sfeed_run, "newsboat": newsboat_run}
        for r in range(runs):
            data = tmp / f"data-{r}"
            cfg = kzfeed_config(tmp / f"kz-{r}.toml", data, server)
            server.honour = True
            seconds, result = run(
                [py, "-c", MEASURE, "--config", str(cfg), "update", "--json"], env
            )
            assert result.returncode == 0, result.stderr[-2000:]
            cold.append(seconds)
            peaks.append(peak_mb(result))
            before = server.not_modified
            seconds, result = run(
                [py, "-c", MEASURE, "--config", str(cfg), "update", "--json"], env
            )
            warm_304.append(seconds)
            assert server.not_modified - before == FEEDS, "the warm run must be all 304s"
            peaks.append(peak_mb(result))
            server.honour = False
            index_mtime = identity_stamp(data)
            seconds, result = run(
                [py, "-c", MEASURE, "--config", str(cfg), "update", "--json"], env
            )
            warm_same.append(seconds)

            report = json.loads(result.stdout)
            parsed_warm.append(sum(1 for f in report["feeds"] if f["status"] == "ok"))
            assert identity_stamp(data) == index_mtime, "no rewrite when nothing changed"
            server.honour = True
            for name, fn in runners.items():
                first = fn(tmp, server, True)
                if first is not None:
                    others[name][0].append(first)
                    others[name][1].append(fn(tmp, server, False) or 0.0)
            # the steady wire: one poll later, every feed changed by two items
            server.serve(next_poll(docs, r + 1, now))
            seconds, result = run(
                [py, "-c", MEASURE, "--config", str(cfg), "update", "--json"], env
            )
            assert result.returncode == 0, result.stderr[-2000:]
            steady.append(seconds)
            peaks.append(peak_mb(result))
            report = json.loads(result.stdout)
            steady_counts.append((report["new"], report["updated"]))
            for name, fn in runners.items():
                polled = fn(tmp, server, False)
                if polled is not None:
                    steady_others.setdefault(name, []).append(polled)
            server.serve(docs)
        stored = len(Store(tmp / "data-0").ids())
        record(
            "stored", "items stored from the corpus (shared stories merged)", float(stored), "items"
        )
        # the biggest update a store meets: 100 new feeds of 750 items each (a backlog of
        # archives subscribed at once) into the store the first round made
        big_docs = build_corpus(now, seed=7, feeds=BIG_FEEDS, items=BIG_ITEMS, folder="big")
        server.serve({**docs, **big_docs})
        big_cfg = kzfeed_config(tmp / "kz-big.toml", tmp / "data-0", server, BIG_FEEDS)
        seconds, result = run(
            [py, "-c", MEASURE, "--config", str(big_cfg), "update", "--json"], env
        )
        assert result.returncode == 0, result.stderr[-2000:]
        big_new = json.loads(result.stdout)["new"]
        record(
            "big",
            f"kzfeed update adding {BIG_FEEDS} feeds x {BIG_ITEMS} items to the store",
            seconds,
        )
        record("big_new", "  items it stored", float(big_new), "items")
        record("big_rss", "  its peak RSS (process + parse workers)", peak_mb(result), "MB")
        server.serve(docs)
        record("cold", "kzfeed update, cold (500 feeds, 25k items)", statistics.median(cold))
        record("warm304", "kzfeed update, warm: all 304", statistics.median(warm_304))
        record(
            "warmsame",
            "kzfeed update, warm: validators ignored, same bodies",
            statistics.median(warm_same),
        )
        record("parsed", "feeds parsed again in the warm runs", float(max(parsed_warm)), "feeds")
        record(
            "steady",
            "kzfeed update, steady poll (500 feeds, 2 new each)",
            statistics.median(steady),
        )
        new_counts = {n for n, _u in steady_counts}
        updated_counts = {u for _n, u in steady_counts}
        record(
            "steady_new", "  items the steady poll reported new", float(max(new_counts)), "items"
        )
        record("steady_updated", "  items it reported updated", float(max(updated_counts)), "items")
        for name, polled in steady_others.items():
            record(f"{name}_steady", f"{name}: steady poll", statistics.median(polled))
        bodies = tmp / "bodies"
        bodies.mkdir()
        for path, body in docs.items():
            (bodies / path.rsplit("/", 1)[1]).write_bytes(body)
        floor = []
        for _ in range(runs):
            seconds, result = run([py, "-c", FLOOR, str(bodies)], env)
            assert result.returncode == 0, result.stderr[-2000:]
            floor.append(seconds)
        record(
            "floor",
            "feedparser floor: the 500 bodies, bare feedparser, every core",
            statistics.median(floor),
        )
        record("rss", "kzfeed update peak RSS (process + parse workers)", max(peaks), "MB")
        for name, (cold_o, warm_o) in others.items():
            if cold_o:
                record(f"{name}_cold", f"{name}: cold update", statistics.median(cold_o))
                record(f"{name}_warm", f"{name}: warm update (304s)", statistics.median(warm_o))
            else:
                rows.append((f"{name}", "not installed (apt-get install sfeed newsboat)"))
        server.httpd.shutdown()

        # 3 and 5: stores
        data = tmp / "store"
        big_cfg = tmp / "store.toml"
        big_cfg.write_text(
            f'[settings]\ndata_dir = "{data}"\nretention_days = 0\n'
            + "".join(
                f'[[feeds]]\nname = "f{n}"\nurl = "https://example.invalid/{n}"\n'
                for n in range(40)
            ),
            encoding="utf-8",
        )
        # the newest day is a busy wire day (BUSY_DAY items since midnight UTC, a 7 MB
        # partition); each size adds older days to the store (about 1,000 items a day), so
        # the newest partitions, which `latest` reads, are the same at every size
        midnight = now.replace(hour=0, minute=0, second=0)
        loaded = 0  # the previous size
        days_for = {size: max(1, round((size - BUSY_DAY) / 1000)) for size in sizes}
        for size in sizes:
            if loaded == 0:
                load_store(
                    data,
                    synthetic_items(
                        0, BUSY_DAY, now, max(60, (now - midnight).total_seconds()) / 86400, 1
                    ),
                )
                loaded = BUSY_DAY
            items = synthetic_items(
                loaded,
                size - loaded,
                midnight - timedelta(seconds=1, days=days_for.get(loaded, 0)),
                days_for[size] - days_for.get(loaded, 0),
                seed=size,
            )
            seconds = load_store(data, items)
            loaded = size
            print(f"  (built {size} items in {seconds:.1f} s)", file=sys.stderr, flush=True)
            (latest_s, hello_s), figures[f"latest_ratio_{size}"] = paired_medians(
                [
                    [py, "-m", "kzfeed", "--config", str(big_cfg), "latest", "-n", "50"],
                    [py, str(hello), "--name", "x"],
                ],
                pair_runs,
                env,
            )
            record(f"latest_{size}", f"latest -n 50 over {size:,} items", latest_s)
            record(f"hello_{size}", "  Typer hello-world, timed alternately with it", hello_s)
            record(
                f"group_{size}",
                f"latest --group rubric --since 24h over {size:,} items",
                median_time(
                    [
                        py,
                        "-m",
                        "kzfeed",
                        "--config",
                        str(big_cfg),
                        "latest",
                        "--group",
                        "rubric",
                        "--since",
                        "24h",
                    ],
                    max(runs, 5),
                    env,
                ),
            )
            kz_latest = [py, "-m", "kzfeed", "--config", str(big_cfg), "latest"]
            record(
                f"stories_{size}",
                f"latest --stories -n 50 over {size:,} items",
                median_time(
                    [*kz_latest, "--stories", "-n", "50"],
                    max(runs, 5),
                    env,
                ),
            )
            if size == sizes[1]:
                record(
                    "bytes", f"database bytes per item at {size:,}", store_bytes(data) / size, "B"
                )
                backups = sum(p.stat().st_size for p in (data / "backups").rglob("*.json"))
                record(
                    "backup_bytes",
                    f"backup bytes per item at {size:,} (last + previous copies)",
                    backups / size,
                    "B",
                )
                # today's news, added to a copy of the store: in the store itself they would
                # swell the newest day that `latest` reads at the next size
                batches = []
                for k in range(runs):
                    copy = tmp / "store-add"
                    shutil.copytree(data, copy)
                    extra = synthetic_items(10_000_000 + 1000 * k, 1000, now, 1, seed=7 + k)
                    started = time.perf_counter()
                    load_store(copy, extra)
                    batches.append(time.perf_counter() - started)
                    shutil.rmtree(copy)
                record(
                    "add1000",
                    f"add 1,000 new items to the {size:,}-item store",
                    statistics.median(batches),
                )
            if size == sizes[-1]:
                # the same on the biggest store, in a process of its own: what an update
                # on a year's wire costs in time and memory besides its feeds (the identity
                # index is read and written whole: issue 15)
                copy = tmp / "store-add"
                shutil.copytree(data, copy)
                result = subprocess.run(
                    [py, "-c", ADD_1000, str(copy)], capture_output=True, text=True, env=env
                )
                assert result.returncode == 0, result.stderr[-2000:]
                shutil.rmtree(copy)
                record(
                    "add1000_last",
                    f"add 1,000 new items to the {size:,}-item store, as a process",
                    float(result.stdout.split()[-1]),
                )
                record("add1000_last_rss", "  its peak RSS", peak_mb(result), "MB")
                figures["last_size"] = size

    # report
    print()
    print(
        f"kzfeed speed benchmark — {now:%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value:>14}")
    print()
    print("targets (ratios in this run; start-up ones: the median of round-by-round ratios):")
    targets: list[tuple[str, float | None, float]] = []
    targets.append(("cold update / feedparser floor", figures["cold"] / figures["floor"], 1.25))
    targets.append(("steady poll: new items reported - 1,000", figures["steady_new"] - 1000, 0.0))
    targets.append(("steady poll: items reported updated", figures["steady_updated"], 0.0))
    for name in ("sfeed", "newsboat"):
        if f"{name}_steady" in figures:
            targets.append(
                (
                    f"steady poll / {name} steady",
                    figures["steady"] / figures[f"{name}_steady"],
                    0.15,
                )
            )
    if "sfeed_cold" in figures:
        targets.append(("cold update / sfeed cold", figures["cold"] / figures["sfeed_cold"], 1.0))
        targets.append(
            ("warm update (304) / sfeed warm", figures["warm304"] / figures["sfeed_warm"], 0.1)
        )
        targets.append(
            (
                "warm update (same bodies) / sfeed warm",
                figures["warmsame"] / figures["sfeed_warm"],
                0.1,
            )
        )
    if "newsboat_cold" in figures:
        targets.append(
            (
                "cold update / newsboat cold (for reference)",
                figures["cold"] / figures["newsboat_cold"],
                float("inf"),
            )
        )
    for size in sizes[1:]:
        targets.append(
            (
                f"latest -n 50 over {size:,} / Typer hello",
                figures[f"latest_ratio_{size}"],
                2.0,
            )
        )
    targets.append(("kzfeed --help / Typer hello", figures["help_ratio"], 1.2))
    targets.append(("bytes per item / 1,500", figures["bytes"] / 1500, 1.0))
    targets.append(("add 1,000 items to 100k (s)", figures["add1000"], 1.0))
    targets.append(("update peak RSS / 300 MB", figures["rss"] / 300, 1.0))
    targets.append(
        (f"peak RSS adding {BIG_FEEDS} x {BIG_ITEMS} items / 300 MB", figures["big_rss"] / 300, 1.0)
    )
    targets.append(
        (
            f"peak RSS adding 1,000 items to {figures['last_size']:,.0f} / 300 MB",
            figures["add1000_last_rss"] / 300,
            1.0,
        )
    )
    targets.append(("feeds parsed in warm runs (must be 0)", figures["parsed"], 0.0))
    for label, ratio, limit in targets:
        if ratio is None:
            continue
        verdict = "" if limit == float("inf") else ("  ok" if ratio <= limit else "  MISSED")
        shown = "" if limit == float("inf") else f" (target ≤ {limit:g})"
        print(f"  {label:<48} {ratio:7.2f}{shown}{verdict}")


if __name__ == "__main__":
    main()
