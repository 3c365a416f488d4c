"""The interface's own words in ru, kk and en, from gettext catalogs.

English is the source language: every message in the code is English, marked with `tr`
(or `ntr` for a count), and `kzfeed/locale/{ru,kk}/LC_MESSAGES/kzfeed.po` translate it;
`tools/catalogs.py` extracts the messages, updates the catalogs and compiles them to the
`.mo` files read here (one small file per language, read once: no start-up cost).  Plural
forms come from the catalogs' Plural-Forms rule, which Babel writes from CLDR (1 новость,
2 новости, 5 новостей; 1 жаңалық; 1 item, 5 items).

The language is ``settings.language`` once the config is read (`use`); before that (an
error in the config itself) it is the environment's (`LC_ALL`, `LC_MESSAGES`, `LANG`).
"""

from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "kzfeed"
LANGUAGES = ("ru", "kk", "en")


def environment_language() -> str:
    """ru or kk when the environment's locale says so, else en."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            code = value.split("_")[0].split(".")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


_current = [environment_language()]


def use(lang: str) -> None:
    """Speak ``lang`` from now on (the CLI calls it once the config is read)."""
    _current[0] = lang if lang in LANGUAGES else "en"


@functools.cache
def _catalog(lang: str) -> gettext.NullTranslations:
    if lang not in ("ru", "kk"):
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def tr(message: str, lang: str | None = None) -> str:
    """``message`` (English, as written in the code) in ``lang`` (default: the current
    language).  Fill its ``{placeholders}`` with ``str.format`` after translating."""
    return _catalog(lang or _current[0]).gettext(message)


def ntr(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    """The form of a counted message for ``n``."""
    return _catalog(lang or _current[0]).ngettext(singular, plural, n)


def label(key: str, lang: str | None = None) -> str:
    """A label of the interface (a column header, a field name) in ``lang``."""
    return tr(key, lang)


def count(n: int, noun: str, lang: str | None = None) -> str:
    """ "1 новость", "5 новостей", "2 жаңалық", "1 item", "3 feeds", "2 stories"."""
    if noun == "feed":
        return ntr("{n} feed", "{n} feeds", n, lang).format(n=n)
    if noun == "story":
        return ntr("{n} story", "{n} stories", n, lang).format(n=n)
    return ntr("{n} item", "{n} items", n, lang).format(n=n)


def status_word(status: str, lang: str | None = None) -> str:
    """An update status (SPEC's value in JSON) as the interface shows it."""
    words = {
        "ok": tr("ok", lang),
        "not_modified": tr("not modified", lang),
        "not modified": tr("not modified", lang),
        "unchanged": tr("unchanged", lang),
        "error": tr("error", lang),
        "skipped": tr("skipped", lang),
    }
    return words.get(status, status)
