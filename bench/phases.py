"""Where an update's time goes, phase by phase, with the story and search work and without.

One command, from the repository root (with kzfeed installed, e.g. the README's test venv):

    .venv/bin/python bench/phases.py            # 3 rounds, about 2 minutes on 2 cores
    .venv/bin/python bench/phases.py --runs 5

`bench/scale.py` times whole updates; this script says what is inside them, on the same
corpus and loopback server (500 agency feeds of 50 items; gzip bodies compressed once per
version).  Each round runs, in turn, a cold `kzfeed update` into an empty store and the
steady poll one poll later (every feed with 2 new items on top), twice each:

* **on**: kzfeed as it is;
* **off**: the same process with the work issue 14 added to every update patched out — the
  new items' analysis in the parse workers (`grouping.analyse`), story grouping
  (`update._group_stories`) and keeping the term index (`Writer._update_term_index`) — to
  show what that work costs.  Nothing else changes; this is a measurement, not a mode.

For each update it prints the medians of: the wall time; start-up (the process's start to
the first fetch: Python, imports, the config, the store's state); fetching and parsing (the
event loop, without the part commits a big update makes inside it); story grouping; the
commits (of them, keeping the term index); what follows the last commit (the report, the
exit); the CPU of the main process and of the parse workers.  Where `sfeed_update` is
installed it runs in the same rounds, for the ratios.  Phases are marked by a wrapper that
patches kzfeed's functions from outside (no code of kzfeed's is changed for it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from scale import (  # noqa: E402
    CorpusServer,
    build_corpus,
    kzfeed_config,
    next_poll,
    sfeed_run,
)

# Run as `python -c WRAPPER --config … update --json`, with PHASES_OUT (where the marks go),
# PHASES_T0 (the bench's clock when it started the process) and PHASES_STORIES ("0": off).
WRAPPER = r"""
import json, os, resource, sys, time
sys.path.insert(0, os.environ["PHASES_REPO"])
marks = []
def mark(name):
    marks.append((name, time.time()))
import kzfeed.grouping, kzfeed.update, kzfeed.store.writer
U, W = kzfeed.update, kzfeed.store.writer.Writer
def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        mark(label + "+")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(label + "-")
    setattr(owner, name, wrapper)
if os.environ.get("PHASES_STORIES") == "0":
    kzfeed.grouping.analyse = lambda record: None  # inherited by the forked workers
    U._group_stories = lambda writer: None
    W._update_term_index = lambda self: None
timed(U, "_run", "run")
timed(U, "_group_stories", "group")
timed(W, "commit", "commit")
timed(W, "_update_term_index", "index")
from kzfeed.cli import main
sys.argv = ["kzfeed", *sys.argv[1:]]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
mark("end")
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parse workers, joined at the end
with open(os.environ["PHASES_OUT"], "w") as fh:
    json.dump({"marks": marks, "cpu_main": own.ru_utime + own.ru_stime,
               "cpu_workers": kids.ru_utime + kids.ru_stime}, fh)
sys.exit(code)
"""

COLUMNS = [
    ("wall", "wall"),
    ("start", "start-up"),
    ("fetch", "fetch+parse"),
    ("group", "grouping"),
    ("commit", "commits"),
    ("index", "of them index"),
    ("after", "after"),
    ("cpu_main", "CPU main"),
    ("cpu_workers", "CPU workers"),
]


def spans(marks: list[tuple[str, float]], label: str) -> list[tuple[float, float]]:
    """The (start, end) of each call marked ``label``."""
    found, opened = [], []
    for name, at in marks:
        if name == label + "+":
            opened.append(at)
        elif name == label + "-" and opened:
            found.append((opened.pop(), at))
    return found


def phases(out: dict[str, Any], started: float, wall: float) -> dict[str, float]:
    """One update's phases (seconds) from its wrapper's marks."""
    marks = [(str(n), float(t)) for n, t in out["marks"]]
    run = spans(marks, "run")
    group = spans(marks, "group")
    commit = spans(marks, "commit")
    index = spans(marks, "index")
    end = next(t for n, t in marks if n == "end")
    first = run[0][0] if run else end
    inside = sum(b - a for a, b in group + commit if run and run[0][0] <= a and b <= run[0][1])
    last = max([b for _a, b in commit] or [first])
    return {
        "wall": wall,
        "start": first - started,
        "fetch": (run[0][1] - run[0][0] - inside) if run else 0.0,
        "group": sum(b - a for a, b in group),
        "commit": sum(b - a for a, b in commit),
        "index": sum(b - a for a, b in index),
        "after": started + wall - last,
        "cpu_main": float(out["cpu_main"]),
        "cpu_workers": float(out["cpu_workers"]),
    }


def update(cfg: Path, stories: bool, tmp: Path) -> tuple[dict[str, float], dict[str, Any]]:
    out = tmp / "phases.json"
    env = {
        **os.environ,
        "PHASES_OUT": str(out),
        "PHASES_REPO": str(REPO),
        "PHASES_STORIES": "1" if stories else "0",
    }
    started = time.time()
    t0 = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, "--config", str(cfg), "update", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    wall = time.perf_counter() - t0
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    return phases(json.loads(out.read_text()), started, wall), report


def table(rows: dict[str, list[dict[str, float]]]) -> None:
    print(f"{'update':<20}" + "".join(f"{title:>14}" for _key, title in COLUMNS))
    for name, found in rows.items():
        cells = "".join(
            f"{statistics.median(f[key] for f in found):>13.2f}s" for key, _title in COLUMNS
        )
        print(f"{name:<20}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (medians are printed)")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    docs = build_corpus(now)
    server = CorpusServer(docs)
    tmp = Path(tempfile.mkdtemp(prefix="kzfeed-phases-"))
    rows: dict[str, list[dict[str, float]]] = {}
    counts: dict[str, set[tuple[int, int]]] = {}
    sfeed: dict[str, list[float]] = {"cold": [], "steady": []}
    configs: dict[bool, Path] = {}

    def timed(kind: str, stories: bool) -> None:
        """One update of the round, its phases and counts kept under its row."""
        key = f"{kind}, stories {'on' if stories else 'off'}"
        found, report = update(configs[stories], stories, tmp)
        rows.setdefault(key, []).append(found)
        counts.setdefault(key, set()).add((report["new"], report["updated"]))

    try:
        for r in range(args.runs):
            modes = [True, False] if r % 2 == 0 else [False, True]  # neither always first
            server.serve(docs)
            for stories in modes:
                name = "on" if stories else "off"
                data = tmp / f"data-{name}"
                shutil.rmtree(data, ignore_errors=True)
                configs[stories] = kzfeed_config(tmp / f"kz-{name}.toml", data, server)
                timed("cold", stories)
            cold = sfeed_run(tmp, server, True)
            if cold is not None:
                sfeed["cold"].append(cold)
            server.serve(next_poll(docs, r + 1, now))
            for stories in modes:
                timed("steady", stories)
            steady = sfeed_run(tmp, server, False)
            if steady is not None:
                sfeed["steady"].append(steady)
            print(f"round {r + 1} of {args.runs} done", file=sys.stderr, flush=True)
    finally:
        server.httpd.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    import platform

    print(
        f"# bench/phases.py, {args.runs} rounds, {datetime.now(UTC):%Y-%m-%d}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("# medians; 'stories off': analysis, story grouping and the term index patched out\n")
    ordered = {k: rows[k] for k in sorted(rows, key=lambda k: (not k.startswith("cold"), k))}
    table(ordered)
    print()
    for name in ordered:
        print(f"{name}: new, updated = {sorted(counts[name])}")
    for kind in ("cold", "steady"):
        on = statistics.median(f["wall"] for f in rows[f"{kind}, stories on"])
        off = statistics.median(f["wall"] for f in rows[f"{kind}, stories off"])
        line = f"{kind}: the story and search work costs {on - off:.2f} s of {on:.2f} s"
        if sfeed[kind]:
            theirs = statistics.median(sfeed[kind])
            line += (
                f"; sfeed_update {theirs:.2f} s: kzfeed {on / theirs:.2f} x with it,"
                f" {off / theirs:.2f} x without"
            )
        print(line)


if __name__ == "__main__":
    main()
