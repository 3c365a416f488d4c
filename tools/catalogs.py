"""Extract kzfeed's messages, update the ru and kk catalogs, compile them.

    .venv/bin/python tools/catalogs.py            # after changing messages in the code
    .venv/bin/python tools/catalogs.py --check    # exit 1 if a catalog is out of date

Messages are the English strings marked with `tr(...)`, `label(...)` and `ntr(a, b, n)` in
kzfeed/.  New messages enter `kzfeed/locale/{ru,kk}/LC_MESSAGES/kzfeed.po` untranslated;
translate them there and run this again to compile the `.mo` files kzfeed reads.  Babel
writes each catalog's Plural-Forms rule from CLDR.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kzfeed"
LOCALES = PACKAGE / "locale"
LANGUAGES = ("ru", "kk")
KEYWORDS = {"tr": None, "label": None, "ntr": (1, 2)}


def template() -> Catalog:
    """Every marked message of the package, with where it is used."""
    catalog = Catalog(project="kzfeed", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",)
    ):
        catalog.add(
            message,
            None,
            [(f"kzfeed/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "kzfeed.po"


def updated(lang: str, pot: Catalog) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="kzfeed", fuzzy=False)
    catalog.update(pot, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, sort_output=False, no_location=False)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def compiled(lang: str) -> bytes:
    """The .mo the catalog on disk compiles to."""
    with po_path(lang).open("rb") as fh:
        return mo_bytes(read_po(fh, locale=lang))


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args()
    pot = template()
    stale = False
    for lang in LANGUAGES:
        catalog = updated(lang, pot)
        po = po_bytes(catalog)
        po_file, mo_file = po_path(lang), po_path(lang).with_suffix(".mo")
        missing = untranslated(catalog)
        if args.check:
            current_mo = mo_file.read_bytes() if mo_file.exists() else b""
            outdated = not po_file.exists() or entries(on_disk(lang)) != entries(catalog)
            if outdated or current_mo != compiled(lang):
                print(f"{lang}: catalog out of date; run tools/catalogs.py", file=sys.stderr)
                stale = True
        else:
            po_file.parent.mkdir(parents=True, exist_ok=True)
            po_file.write_bytes(po)
            mo_file.write_bytes(compiled(lang))
        print(f"{lang}: {len(pot)} messages, {len(missing)} untranslated")
        for message in missing:
            print(f"  {message!r}")
    return 1 if stale else 0


def entries(catalog: Catalog) -> dict[object, object]:
    """What a catalog says — each message and its translation — whatever the order of the
    messages and the places they are used (both move with every edit of the code)."""
    return {message.id: message.string for message in catalog if message.id}


def on_disk(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


if __name__ == "__main__":
    sys.exit(main())
