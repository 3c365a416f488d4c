"""Basic figures for the foundation: update time of the bundled examples, `latest` time,
database bytes per item.  Prints a table; run from the repository root:

    .venv/bin/python bench/basic.py [--items 25000] [--runs 5]

Whole-process wall times (what a user waits for), median of --runs.  Figures vary between
runs on a shared machine: compare figures measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kzfeed import dedup  # noqa: E402
from kzfeed.model import Item  # noqa: E402
from kzfeed.normalize import _hash  # noqa: E402
from kzfeed.store import Store  # noqa: E402

WORDS = (
    "Токаев провел переговоры с президентом Узбекистана Нацбанк сохранил базовую ставку "
    "Мажилис одобрил поправки в Налоговый кодекс Алматы Астана Шымкент Қазақстан Тоқаев "
    "келіссөз жүргізді Ұлттық банк мөлшерлемені сақтады выставка чемпионат борцы медали "
    "снегопад гололед Казгидромет сенат соглашение цифровизация инвестиции нефть"
).split()
RUBRICS = ("politics", "society", "economy", "culture", "sport", "world", "incidents")
FEEDS = ("kazinform-ru", "kazinform-kk", "tengrinews", "zakon", "kursiv", "interfax", "tass")


# as a user runs it: with Python's bytecode cache (a shell or CI may switch it off)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], runs: int) -> float:
    samples = []
    subprocess.run(cmd, check=False, capture_output=True, env=ENV)  # warm-up
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def synthetic_items(count: int, days: int, seed: int = 7) -> list[Item]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    items = []
    for n in range(count):
        feed = rng.choice(FEEDS)
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(7, 13))).capitalize()
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 45))) + "."
        when = now - timedelta(seconds=rng.randint(0, days * 86400))
        key = _hash("f", feed, f"g:{n}")
        items.append(
            Item(
                id=key,
                feed=feed,
                source=feed.title(),
                title=title,
                url=f"https://www.inform.kz/ru/news_a{4_000_000 + n}",
                published=when.replace(microsecond=0).isoformat(),
                date_estimated=False,
                rubrics=(rng.choice(RUBRICS),),
                categories=("Политика",),
                lang="ru",
                summary=summary,
                guid=str(4_000_000 + n),
                feed_key=key,
                link_key=_hash("u", f"https://inform.kz/ru/news_a{4_000_000 + n}"),
                content_hash=_hash(title, summary),
                first_seen=now.isoformat(),
            )
        )
    return items


def build_store(data: Path, items: list[Item], batch: int = 2000) -> float:
    store = Store(data)
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        with store.writer() as writer:
            writer.apply(dedup.plan(items[start : start + batch], writer.view()))
    return time.perf_counter() - started


def store_bytes(data: Path) -> int:
    """The database itself (partitions, index, state); backups/ are counted apart."""
    return sum(p.stat().st_size for p in data.rglob("*.json") if "backups" not in p.parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []

    def kz(config: Path, *argv: str) -> str:
        cmd = [sys.executable, "-m", "kzfeed", "--config", str(config), *argv]
        return f"{timed(cmd, args.runs):.3f} s"

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(
            REPO / "examples", work / "examples", ignore=shutil.ignore_patterns(".kzfeed-demo")
        )
        config = work / "examples" / "offline.toml"
        demo = work / "examples" / ".kzfeed-demo"
        cold = []
        for _ in range(args.runs):
            shutil.rmtree(demo, ignore_errors=True)
            cold.append(
                timed([sys.executable, "-m", "kzfeed", "--config", str(config), "update"], 1)
            )
        rows.append(
            (
                "update, bundled examples (6 feeds, 23 items), cold",
                f"{statistics.median(cold):.3f} s",
            )
        )
        rows.append(("update, bundled examples, warm (nothing changed)", kz(config, "update")))
        rows.append(("latest -n 50, bundled examples", kz(config, "latest", "-n", "50")))
        rows.append(
            (
                "python -c pass (interpreter start)",
                f"{timed([sys.executable, '-c', 'pass'], args.runs):.3f} s",
            )
        )

        data = work / "big"
        build = build_store(data, synthetic_items(args.items, days=30))
        rows.append((f"store {args.items} items (batches of 2000)", f"{build:.2f} s"))
        rows.append(
            (
                "database bytes per item (partitions + index)",
                f"{store_bytes(data) / args.items:.0f} B",
            )
        )
        big = work / "big.toml"
        feeds = "\n".join(
            f'[[feeds]]\nname = "{f}"\nurl = "https://example.invalid/{f}.xml"\n' for f in FEEDS
        )
        big.write_text(
            f'[settings]\ndata_dir = "{data}"\nretention_days = 0\n{feeds}', encoding="utf-8"
        )
        rows.append((f"latest -n 50 over {args.items} items", kz(big, "latest", "-n", "50")))
        rows.append(
            (
                f"latest --group rubric --since 24h over {args.items} items",
                kz(big, "latest", "--group", "rubric", "--since", "24h"),
            )
        )
        extra = synthetic_items(args.items + 1000, days=1, seed=99)[args.items :]
        rows.append(
            (
                f"add 1000 new items to the {args.items}-item store",
                f"{build_store(data, extra, 1000):.3f} s",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"kzfeed basic benchmark, {datetime.now(UTC):%Y-%m-%d}, python {sys.version.split()[0]}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()
