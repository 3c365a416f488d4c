"""How well kzfeed groups items into stories, on the labelled evaluation set.

    .venv/bin/python bench/stories.py [--threshold T] [--half even|odd] [--through index|window]

`bench/stories/eval.json` holds items written the way agencies re-tell wire copy, each
with its gold story; its notes say how it was made.  The items are grouped as an update
would group them (in publication order, incrementally, `kzfeed.stories.assign`), then
compared with the gold stories: pairwise precision and recall (over every pair of items
put together), B-cubed precision, recall and F1, and the hard negatives (look-alike
stories) merged by mistake.  Targets (issue 14): precision >= 0.95, recall >= 0.85.
``--half`` keeps only the stories whose id hashes (CRC-32) even or odd: tune on one half,
confirm on the other.  ``--through index`` groups them as `kzfeed update` does on a store
with a current term index: each update reads only the window's counts, the stories its
keys find and their items from ``terms.sqlite`` (`TermIndex.window`), and the index keeps
each item's keys as that update made them; ``--through window``, as it does without one
(the stored records of the window, 48 h either side of the update's items).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from datetime import timedelta
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kzfeed.dates import from_iso, to_utc_iso  # noqa: E402
from kzfeed.stories import THRESHOLD, WINDOW_HOURS, Grouping, assign, features  # noqa: E402


def through_store(items: list[dict], batches: int, indexed: bool) -> dict[str, str]:
    """{item id: story id}, grouped update by update as `kzfeed update` does: through a
    term index, or (``indexed`` false) from the stored records of the window."""
    from kzfeed.grouping import group
    from kzfeed.store.termindex import TermIndex

    hexed = {i["id"]: hashlib.sha1(i["id"].encode()).hexdigest()[:16] for i in items}
    back = {v: k for k, v in hexed.items()}
    records = [
        {
            "id": hexed[i["id"]],
            "published": i["published"],
            "title": i["title"],
            "summary": i.get("summary", ""),
            "lang": i["lang"],
        }
        for i in items
    ]
    found: dict[str, str] = {}
    stored: list[dict] = []
    reach = timedelta(hours=WINDOW_HOURS)
    size = max(1, len(records) // batches)
    with tempfile.TemporaryDirectory() as tmp:
        index = TermIndex.open(Path(tmp), create=True)
        assert index is not None
        for offset in range(0, len(records), size):
            batch = [dict(r) for r in records[offset : offset + size]]
            start = to_utc_iso(min(from_iso(r["published"]) for r in batch) - reach)
            end = to_utc_iso(max(from_iso(r["published"]) for r in batch) + reach)
            if indexed:
                window = index.window(start, end)
            else:
                window = [r for r in stored if start <= r["published"] <= end]
            stories, keys = group(window, batch)  # type: ignore[arg-type]
            stored.extend(batch)
            for record in batch:
                record["story"] = stories[record["id"]]
                found[back[record["id"]]] = back[stories[record["id"]]]
            index.put(batch, None, keys)  # type: ignore[arg-type]
        index.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default=str(REPO / "bench" / "stories" / "eval.json"))
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--batches", type=int, default=12, help="updates the items arrive in")
    parser.add_argument("--show", type=int, default=8, help="wrong pairs to print")
    parser.add_argument("--half", choices=("even", "odd"), help="only half of the stories")
    parser.add_argument(
        "--through",
        choices=("index", "window"),
        help="as an update does: through terms.sqlite, or from the window's records",
    )
    args = parser.parse_args()
    data = json.loads(Path(args.set).read_text(encoding="utf-8"))
    items = sorted(data["items"], key=lambda i: (i["published"], i["id"]))
    if args.half:
        parity = 0 if args.half == "even" else 1
        items = [i for i in items if zlib.crc32(i["story"].encode()) % 2 == parity]
    gold = {i["id"]: i["story"] for i in items}
    feats = [
        features(i["id"], from_iso(i["published"]), i["title"], i.get("summary", ""), i["lang"])
        for i in items
    ]
    grouping = Grouping()
    started = time.perf_counter()
    if args.through:
        found = through_store(items, args.batches, args.through == "index")
    else:
        size = max(1, len(feats) // args.batches)
        for offset in range(0, len(feats), size):
            assign(grouping, feats[offset : offset + size], threshold=args.threshold)
        found = grouping.story_of
    seconds = time.perf_counter() - started
    ids = [i["id"] for i in items]
    tp = fp = fn = 0
    wrong_merges, missed = [], []
    for a, b in combinations(ids, 2):
        same_gold, same_found = gold[a] == gold[b], found[a] == found[b]
        if same_found and same_gold:
            tp += 1
        elif same_found:
            fp += 1
            wrong_merges.append((a, b))
        elif same_gold:
            fn += 1
            missed.append((a, b))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    by_gold, by_found = defaultdict(set), defaultdict(set)
    for item_id in ids:
        by_gold[gold[item_id]].add(item_id)
        by_found[found[item_id]].add(item_id)
    bp = sum(len(by_found[found[i]] & by_gold[gold[i]]) / len(by_found[found[i]]) for i in ids)
    br = sum(len(by_found[found[i]] & by_gold[gold[i]]) / len(by_gold[gold[i]]) for i in ids)
    bp, br = bp / len(ids), br / len(ids)
    f1 = 2 * bp * br / (bp + br)
    hard = [
        kept
        for group in data.get("hard_negatives", [])
        if len(kept := [s for s in group if s in by_gold]) > 1
    ]
    merged_hard = sum(
        1
        for group in hard
        for s1, s2 in combinations(group, 2)
        if {found[i] for i in by_gold[s1]} & {found[i] for i in by_gold[s2]}
    )
    titles = {i["id"]: f"{i['feed']}: {i['title']}" for i in items}
    print(
        f"set: {len(items)} items, {len(by_gold)} gold stories "
        f"({sum(1 for m in by_gold.values() if len(m) > 1)} with several items)"
    )
    how = {"index": "through the term index", "window": "from the window's records"}.get(
        args.through or "", "in memory, the whole set a window"
    )
    print(f"threshold {args.threshold}, {args.batches} updates {how}, {seconds * 1000:.0f} ms")
    print(f"pairwise precision {precision:.3f}  recall {recall:.3f}   (target >= 0.95 / >= 0.85)")
    print(f"B-cubed precision {bp:.3f}  recall {br:.3f}  F1 {f1:.3f}")
    print(
        f"look-alike story pairs merged: {merged_hard} (of {sum(len(g) * (len(g) - 1) // 2 for g in hard)})"
    )
    for label, pairs in (("wrongly together", wrong_merges), ("wrongly apart", missed)):
        for a, b in pairs[: args.show]:
            print(f"  {label}: {titles[a]}  |  {titles[b]}")


if __name__ == "__main__":
    main()
