"""How well kzfeed reads news-list pages: the presets, and list detection on pages it has never
seen (the redesigns and other shapes), against the labelled pages in tests/fixtures/html/real.

    .venv/bin/python bench/detect.py [--verbose]

For each page: story blocks found, precision and recall of their links against the labels,
how many of the labelled dates came out right (to the minute, in UTC), and the decoys taken.
Quality figures are printed here, never asserted by a timed unit test.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kzfeed.errors import FeedError  # noqa: E402
from kzfeed.htmlsource import ListPage, parse_list  # noqa: E402
from kzfeed.model import FeedSpec  # noqa: E402
from kzfeed.presets import PRESETS, preset_for  # noqa: E402

PAGES = REPO / "tests" / "fixtures" / "html" / "real"
# written by someone who had not seen the detection code (heldout2: after the fixes heldout
# showed, by someone who had seen neither)
HELDOUT = REPO / "tests" / "fixtures" / "html" / "heldout"
HELDOUT2 = REPO / "tests" / "fixtures" / "html" / "heldout2"


def published(entry: dict[str, Any]) -> str | None:
    parsed = entry.get("published_parsed")
    return datetime(*parsed[:6], tzinfo=UTC).isoformat() if parsed else None


def score(page: Path, mode: str) -> dict[str, Any]:
    label = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    preset = preset_for(label["url"]) if mode == "preset" else None
    spec = FeedSpec(page.stem, label["url"], type="html", preset=preset)
    try:
        listed = parse_list(
            page.read_bytes(),
            {},
            spec,
            base_url=label["url"],
            tz=ZoneInfo(label["tz"]),
            now=datetime.fromisoformat(label["now"]),
        )
    except FeedError as exc:  # nothing found: every story missed
        listed = ListPage(None, [], f"error: {exc}")
    found = {e["link"]: e for e in listed.entries if e.get("link")}
    truth = {i["link"]: i for i in label["items"]}
    hits = [link for link in found if link in truth]
    dated = [i for i in label["items"] if i["published"]]
    dates_ok = sum(
        1 for i in dated if i["link"] in found and published(found[i["link"]]) == i["published"]
    )
    return {
        "page": page.stem,
        "mode": f"preset {preset}" if preset else "detection",
        "found": len(found),
        "labelled": len(truth),
        "precision": len(hits) / len(found) if found else 0.0,
        "recall": len(hits) / len(truth) if truth else 1.0,
        "dates": f"{dates_ok}/{len(dated)}",
        "dates_ok": dates_ok,
        "dated": len(dated),
        "decoys": sum(1 for link in found if link in set(label["decoys"])),
        "missed": [t["title"] for link, t in truth.items() if link not in found],
        "extra": [found[link]["title"] for link in found if link not in truth],
        "note": listed.note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list missed and extra items")
    args = parser.parse_args()
    rows = []
    for page in sorted(PAGES.glob("*.html")):
        label = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
        with_preset = preset_for(label["url"]) in PRESETS and "redesign" not in page.stem
        rows.append(score(page, "preset" if with_preset else "detection"))
    for folder, mode in ((HELDOUT, "held-out"), (HELDOUT2, "held-out-2")):
        for page in sorted(folder.glob("*.html")):
            row = score(page, "detection")
            row["mode"] = f"{mode} detection"
            rows.append(row)
    print(
        f"{'page':<26} {'read by':<20} {'found':>5} {'items':>5} {'prec':>5} {'recall':>6}"
        f" {'dates':>7} {'decoys':>6}"
    )
    for row in rows:
        print(
            f"{row['page']:<26} {row['mode']:<20} {row['found']:>5} {row['labelled']:>5}"
            f" {row['precision']:>5.2f} {row['recall']:>6.2f} {row['dates']:>7} {row['decoys']:>6}"
        )
        if args.verbose:
            for title in row["missed"]:
                print(f"    missed: {title}")
            for title in row["extra"]:
                print(f"    extra:  {title}")
    for mode in ("preset", "detection", "held-out detection", "held-out-2"):
        chosen = [r for r in rows if r["mode"].startswith(mode)]
        found = sum(r["found"] for r in chosen)
        hits = sum(round(r["precision"] * r["found"]) for r in chosen)
        truth = sum(r["labelled"] for r in chosen)
        dated = sum(r["dated"] for r in chosen)
        dates_ok = sum(r["dates_ok"] for r in chosen)
        print(
            f"{mode:>18}: {len(chosen)} pages, precision {hits / max(found, 1):.3f}, "
            f"recall {hits / max(truth, 1):.3f}, dates right {dates_ok}/{dated}, "
            f"decoys taken {sum(r['decoys'] for r in chosen)}"
        )


if __name__ == "__main__":
    main()
