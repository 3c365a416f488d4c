"""How fast the full-screen reader opens on a big store, as a person sees it.

    .venv/bin/python bench/reader.py             # a 365,000-item store (~1,000 items a day)
    .venv/bin/python bench/reader.py --items 50000

The store is built once through the store's own write path (bench/scale.py's synthetic
items, 40 feeds) and kept in /tmp/kzfeed-bench-reader-N for the next run.  Then, on a
pseudo-terminal of 120x40, `kzfeed browse` is started and the clock stops when the newest
headline is on the terminal; `q` quits it.  For comparison, `kzfeed latest -n 50` on the same
store and the time Python takes to import Textual.  Five runs each; the median is printed.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from scale import load_store, synthetic_items  # noqa: E402

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def build(items: int) -> Path:
    root = Path(f"/tmp/kzfeed-bench-reader-{items}")
    data = root / "data"
    config = root / "config.toml"
    feeds = "".join(f'\n[[feeds]]\nname = "f{n}"\nurl = "feeds/f{n}.xml"\n' for n in range(40))
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[settings]\ndata_dir = "{data}"\nretention_days = 0\nlanguage = "ru"\n' + feeds,
        encoding="utf-8",
    )
    if (data / "index.json").exists():  # built by an earlier kzfeed: moved over first
        from kzfeed.store import Store

        print(f"moving the store in {data} over to identity.sqlite (once) …", flush=True)
        started = time.perf_counter()
        store = Store(data)
        with store.locked():
            store.identity()
        print(f"  moved in {time.perf_counter() - started:.0f} s", flush=True)
    if not (data / "identity.sqlite").exists():
        print(f"building a {items:,}-item store in {data} (once) …", flush=True)
        seconds = load_store(data, synthetic_items(0, items, NOW, max(1, items // 1000), 1))
        print(f"  built in {seconds:.0f} s", flush=True)
    return config


def time_to_first_headline(config: Path, newest_title: str) -> float:
    import fcntl
    import pty
    import struct
    import termios

    env = {**os.environ, "TERM": "xterm-256color", "KZFEED_NOW": NOW.isoformat()}
    env.pop("COLUMNS", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kzfeed", "--config", str(config), "browse"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    needle = newest_title[:20].encode()
    elapsed = float("nan")
    while time.perf_counter() - started < 30:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                seen += os.read(master, 1 << 16)
            except OSError:
                break
            # the screen is drawn with cursor moves between runs of text: look for the
            # title's first words
            if needle in seen.replace(b"\x1b[", b"\x00"):
                elapsed = time.perf_counter() - started
                break
    os.write(master, b"q")
    deadline = time.perf_counter() + 5
    while proc.poll() is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 1 << 16)
            except OSError:
                break
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    os.close(master)
    return elapsed


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env={**os.environ, "COLUMNS": "120"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=365_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    config = build(args.items)
    latest = [sys.executable, "-m", "kzfeed", "--config", str(config), "latest", "-n", "50"]
    newest = (
        subprocess.run(
            [*latest[:-2], "-n", "1", "--plain"], check=True, capture_output=True, text=True
        )
        .stdout.split("\t")[-1]
        .strip()
    )
    opened = [time_to_first_headline(config, newest) for _ in range(args.runs)]
    listed = [timed(latest) for _ in range(args.runs)]
    imports = [
        timed([sys.executable, "-c", "import textual.app, textual.widgets"])
        for _ in range(args.runs)
    ]
    print(f"store: {args.items:,} items ({config.parent / 'data'})")
    print(
        f"kzfeed browse, start to the newest headline on a 120x40 pty: {statistics.median(opened):.2f} s (median of {args.runs}; {', '.join(f'{x:.2f}' for x in opened)})"
    )
    print(
        f"kzfeed latest -n 50 on the same store:                      {statistics.median(listed):.2f} s"
    )
    print(
        f"python -c 'import textual.app, textual.widgets':             {statistics.median(imports):.2f} s"
    )


if __name__ == "__main__":
    main()
