"""Basic figures for the foundation: update time of the bundled examples, `latest` time,
database bytes per item.  Prints a table; run from the repository root:

    .venv/bin/python bench/basic.py [--items 25000] [--runs 5]

Whole-process wall times (what a user waits for), median of --runs.  Figures vary between
runs on a shared machine: compare figures measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import load_store, store_bytes, synthetic_items  # noqa: E402

# as a user runs it: with Python's bytecode cache (a shell or CI may switch it off)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
FEEDS = [f"f{n}" for n in range(40)]  # the feed names scale.synthetic_items uses


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
        now = datetime.now(UTC).replace(microsecond=0)
        build = load_store(data, synthetic_items(0, args.items, now, 30, seed=7), batch=2000)
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
        extra = synthetic_items(args.items, 1000, now, 1, seed=99)
        rows.append(
            (
                f"add 1000 new items to the {args.items}-item store",
                f"{load_store(data, extra, 1000):.3f} s",
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"kzfeed basic benchmark, {datetime.now(UTC):%Y-%m-%d}, python {sys.version.split()[0]}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()
