"""The README's pictures of the reader: `docs/reader-list.svg` and `docs/reader-story.svg`.

    .venv/bin/python tools/screenshot.py

The bundled examples are updated into a temporary folder and the reader is driven
headless (Textual's pilot) at 100x30 on the fixed clock the examples are written for.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from typer.testing import CliRunner  # noqa: E402

from kzfeed.browse import WireReader  # noqa: E402
from kzfeed.cli import app  # noqa: E402
from kzfeed.config import load_config  # noqa: E402
from kzfeed.dates import from_iso  # noqa: E402

NOW = from_iso("2026-11-24T12:00:00+00:00")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        examples = Path(tmp) / "examples"
        shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns(".kzfeed-*"))
        cfg = examples / "offline.toml"
        text = cfg.read_text(encoding="utf-8").replace(".kzfeed-demo", "data")
        cfg.write_text(text, encoding="utf-8")
        assert CliRunner().invoke(app, ["--config", str(cfg), "update"]).exit_code == 0
        reader = WireReader(load_config(cfg), now=NOW)

        async def shoot() -> None:
            async with reader.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                await pilot.press("j", "j", "j")
                await pilot.pause()
                reader.save_screenshot("reader-list.svg", path=str(ROOT / "docs"))
                await pilot.press("enter")
                await pilot.pause()
                reader.save_screenshot("reader-story.svg", path=str(ROOT / "docs"))

        asyncio.run(shoot())
    print("wrote docs/reader-list.svg and docs/reader-story.svg")


if __name__ == "__main__":
    main()
