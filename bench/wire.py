"""Stories, search and rules at scale: what they cost on a big store.

    .venv/bin/python bench/wire.py                 # the 365,000-item store of bench/reader.py
    .venv/bin/python bench/wire.py --items 50000

1. The term index (`terms.sqlite`): built from every partition (`kzfeed db reindex`) once
   if the store has none; its build time and size per item.
2. Search: `kzfeed latest -n 50 --search Q` for queries that find much, little and nothing,
   each against `kzfeed latest -n 50` on the same store (median of --runs processes; the
   issue's target: a search <= 1.5 x the listing).
3. An update's own work for 1,000 new items (the writer's path, in this process, nothing
   written): dedup and store them, put each in its story against the window (the term
   index gives the window's features), apply three rules — timed apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from reader import NOW, build  # noqa: E402
from scale import synthetic_items  # noqa: E402

QUERIES = [
    "Караганда",  # a word of most items: the newest 50 at once
    "гололед аэропорт",  # two words
    "Шымкент -тенге",  # a word and one excluded
    "title:аким",  # in titles
    "Тоқаев OR Tokayev",  # forms and scripts of one name
    "нетакогослова",  # nothing: the worst case without an index (every partition)
]


def timed(argv: list[str], runs: int) -> float:
    env = {**os.environ, "COLUMNS": "120", "KZFEED_NOW": NOW.isoformat()}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def update_work(config: Path) -> None:
    from kzfeed import dedup
    from kzfeed.config import load_config
    from kzfeed.store import Store
    from kzfeed.store.writer import Writer
    from kzfeed.update import _apply_rules, _group_stories

    cfg = load_config(config)
    store = Store(cfg.data_dir)
    writer = Writer(store)
    started = time.perf_counter()
    writer.identity  # noqa: B018 - opened, as an update opens it
    read_index = time.perf_counter() - started
    new = synthetic_items(10_000_000, 1000, NOW + timedelta(hours=3), 1, 7)
    started = time.perf_counter()
    writer.apply(dedup.plan(new, writer.view(new)))
    stored = time.perf_counter() - started
    started = time.perf_counter()
    _group_stories(writer)
    grouped = time.perf_counter() - started
    from dataclasses import replace

    from kzfeed.config import Rule

    rules = (
        Rule("mute", "снегопад гололед", ("hide",)),
        Rule("rate", "Нацбанк ставку", ("star", "tag"), tag="rate"),
        Rule("alert", '"Токаев провел"', ("alert",)),
    )
    started = time.perf_counter()
    alerts = _apply_rules(writer, replace(cfg, rules=rules), store.feed_states(), NOW)
    ruled = time.perf_counter() - started
    import tempfile

    from kzfeed.store.termindex import TermIndex

    records = [r for r in (writer.get(i) for i in writer.new_ids) if r is not None]
    with tempfile.TemporaryDirectory() as scratch:  # the real index must stay the store's
        term_index = TermIndex.open(Path(scratch), create=True)
        assert term_index is not None
        started = time.perf_counter()
        term_index.put(records)
        indexed = time.perf_counter() - started
        term_index.close()
    stories = len({writer.get(i).get("story", i) for i in writer.new_ids})  # type: ignore[union-attr]
    print(
        f"an update's own work for 1,000 new items (nothing written; index read {read_index:.2f} s):"
    )
    print(f"  dedup and store them in the batch:           {stored:.2f} s")
    print(f"  put each in its story (window of the store): {grouped:.2f} s   ({stories} stories)")
    print(f"  three rules (hide, star+tag, alert):          {ruled:.2f} s   ({len(alerts)} alerts)")
    print(f"  their terms into the term index:              {indexed:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=365_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    config = build(args.items)
    data = config.parent / "data"
    kz = [sys.executable, "-m", "kzfeed", "--config", str(config)]
    index = data / "terms.sqlite"
    if not index.exists():
        print("building the term index (once) …", flush=True)
        started = time.perf_counter()
        subprocess.run([*kz, "db", "reindex"], check=True, capture_output=True)
        print(f"  built in {time.perf_counter() - started:.0f} s")
    size = index.stat().st_size
    print(
        f"store: {args.items:,} items; term index {size / 1e6:.0f} MB ({size / args.items:.0f} bytes an item)"
    )
    listing = timed([*kz, "latest", "-n", "50"], args.runs)
    print(f"kzfeed latest -n 50:                       {listing:.2f} s")
    for query in QUERIES:
        took = timed([*kz, "latest", "-n", "50", "--search", query], args.runs)
        print(f"  --search {query!r:24} {took:.2f} s  ({took / listing:.2f} x)")
    update_work(config)


if __name__ == "__main__":
    main()
