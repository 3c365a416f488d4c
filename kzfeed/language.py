"""Languages: the codes people type, and the language of a text by its letters (pure)."""

from __future__ import annotations

from .errors import UsageError
from .words import tr

CODES = ("ru", "kk", "en")

#: What people type for each language, folded (lower case): codes, locales, names in the
#: three languages, and the forms seen in feeds' <language> ("kz", "ru-RU", "kk-KZ").
NAMES: dict[str, str] = {}
for _code, _names in {
    "ru": "ru rus russian русский рус ру орыс орысша ru-ru ru_ru ru-kz ru_kz",
    "kk": "kk kz kaz kazakh қаз қазақ қазақша каз казахский kk-kz kk_kz kz-kz kk-cyrl qaz",
    "en": "en eng english англ английский ағыл ағылшын ағылшынша en-us en_us en-gb en_gb",
}.items():
    for _name in _names.split():
        NAMES[_name] = _code


def language_code(value: str) -> str | None:
    """ru, kk or en for a code, locale or name ("kz", "қаз", "рус", "ru-RU"), else None."""
    folded = value.strip().casefold()
    if folded in NAMES:
        return NAMES[folded]
    head = folded.replace("_", "-").split("-")[0]
    return NAMES.get(head)


def parse_language(value: str) -> str:
    """`--lang`'s value as a code; anything unknown is a usage error listing the accepted."""
    code = language_code(value)
    if code is None:
        raise UsageError(
            tr(
                "unknown language {language}: use ru, kk or en (also kz, қаз, рус, eng, ru-RU …)"
            ).format(language=repr(value))
        )
    return code


# Letters only Kazakh writes (і is Ukrainian and Belarusian too, so it does not count alone);
# ї є ґ are Ukrainian's.
_KAZAKH = frozenset("әғқңөұүһӘҒҚҢӨҰҮҺ")
_UKRAINIAN = frozenset("їєґЇЄҐ")


def text_language(text: str) -> str | None:
    """The language a text is written in, by its letters: Kazakh letters (ә ғ қ ң ө ұ ү һ)
    make it kk, Ukrainian ones (ї є ґ) uk, other Cyrillic ru, Latin en; None with too few
    letters to tell."""
    cyrillic = latin = kazakh = ukrainian = 0
    for ch in text:
        if "\u0400" <= ch <= "\u04ff":
            cyrillic += 1
            if ch in _KAZAKH:
                kazakh += 1
            elif ch in _UKRAINIAN:
                ukrainian += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
    if cyrillic + latin < 8:
        return None
    if cyrillic >= latin:
        if kazakh > ukrainian and (kazakh >= 2 or kazakh >= cyrillic / 100):
            return "kk"
        if ukrainian > kazakh and (ukrainian >= 2 or ukrainian >= cyrillic / 100):
            return "uk"
        return "ru"
    return "en"
