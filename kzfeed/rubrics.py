"""The rubric taxonomy: canonical keys, labels in ru/kk/en, and the agencies' aliases (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Ordered as the seed article's site orders them (Политика, Общество, Экономика, Культура,
# Аналитика, Спорт), then the rest; `other` always last.
LABELS: dict[str, dict[str, str]] = {
    "politics": {"ru": "Политика", "kk": "Саясат", "en": "Politics"},
    "society": {"ru": "Общество", "kk": "Қоғам", "en": "Society"},
    "economy": {"ru": "Экономика", "kk": "Экономика", "en": "Economy"},
    "culture": {"ru": "Культура", "kk": "Мәдениет", "en": "Culture"},
    "analytics": {"ru": "Аналитика", "kk": "Талдау", "en": "Analytics"},
    "sport": {"ru": "Спорт", "kk": "Спорт", "en": "Sport"},
    "world": {"ru": "В мире", "kk": "Әлем", "en": "World"},
    "incidents": {"ru": "Происшествия", "kk": "Оқиғалар", "en": "Incidents"},
    "regions": {"ru": "Регионы", "kk": "Аймақтар", "en": "Regions"},
    "science": {"ru": "Наука", "kk": "Ғылым", "en": "Science"},
    "health": {"ru": "Здоровье", "kk": "Денсаулық", "en": "Health"},
    "technology": {"ru": "Технологии", "kk": "Технология", "en": "Technology"},
    "other": {"ru": "Другое", "kk": "Басқа", "en": "Other"},
}
ORDER: tuple[str, ...] = tuple(LABELS)
LANGUAGES = ("ru", "kk", "en")

# Raw <category> values seen on the agencies' feeds and sites (Kazinform, Tengrinews,
# Zakon.kz, Kursiv, The Astana Times, Azattyq, Sputnik, TASS, RIA, Interfax, Lenta, RBC,
# Kommersant), in any of the three languages.  Matching ignores case, ё/е and punctuation.
_ALIASES: dict[str, tuple[str, ...]] = {
    "politics": (
        "политика",
        "власть",
        "госуправление",
        "выборы",
        "парламент",
        "президент",
        "саясат",
        "билік",
        "сайлау",
        "politics",
        "government",
        "policy",
        "elections",
        "внутренняя политика",
        "внешняя политика",
        "дипломатия",
    ),
    "society": (
        "общество",
        "социум",
        "социальная сфера",
        "образование",
        "религия",
        "казахстан",
        "страна",
        "россия",
        "жизнь",
        "люди",
        "қоғам",
        "әлеумет",
        "білім",
        "society",
        "social",
        "education",
        "nation",
        "kazakhstan",
        "life",
        "community",
    ),
    "economy": (
        "экономика",
        "бизнес",
        "финансы",
        "деньги",
        "рынки",
        "банки",
        "недвижимость",
        "энергетика",
        "нефть и газ",
        "агро",
        "сельское хозяйство",
        "транспорт",
        "экономика и бизнес",
        "business",
        "economy",
        "finance",
        "markets",
        "energy",
        "banking",
        "қаржы",
        "бизнес и финансы",
        "инвестиции",
        "investment",
    ),
    "culture": (
        "культура",
        "искусство",
        "кино",
        "музыка",
        "литература",
        "шоу-бизнес",
        "мәдениет",
        "өнер",
        "әдебиет",
        "culture",
        "arts",
        "art",
        "entertainment",
        "culture and leisure",
    ),
    "analytics": (
        "аналитика",
        "мнения",
        "мнение",
        "колонки",
        "интервью",
        "эксклюзив",
        "обзор",
        "талдау",
        "сараптама",
        "пікір",
        "сұхбат",
        "analytics",
        "analysis",
        "opinion",
        "opinions",
        "interview",
        "op-ed",
        "editorial",
        "features",
    ),
    "sport": ("спорт", "sport", "sports", "футбол", "хоккей", "football", "олимпиада"),
    "world": (
        "в мире",
        "мир",
        "международные новости",
        "зарубежье",
        "за рубежом",
        "бывший ссср",
        "снг",
        "центральная азия",
        "международная панорама",
        "әлем",
        "халықаралық",
        "шетел",
        "world",
        "international",
        "foreign",
        "central asia",
        "region",
        "world news",
        "global",
    ),
    "incidents": (
        "происшествия",
        "проишествия",
        "инциденты",
        "криминал",
        "чп",
        "суд",
        "суды",
        "право",
        "закон",
        "безопасность",
        "армия",
        "силовые структуры",
        "оқиғалар",
        "оқиға",
        "төтенше жағдай",
        "құқық",
        "incidents",
        "incident",
        "crime",
        "accidents",
        "law",
        "security",
        "emergencies",
    ),
    "regions": (
        "регионы",
        "регион",
        "города",
        "астана",
        "алматы",
        "шымкент",
        "аймақтар",
        "аймақ",
        "өңірлер",
        "regions",
        "cities",
    ),
    "science": ("наука", "наука и техника", "ғылым", "science", "космос", "space"),
    "health": (
        "здоровье",
        "медицина",
        "здравоохранение",
        "коронавирус",
        "денсаулық",
        "медицина и здоровье",
        "health",
        "medicine",
        "healthcare",
    ),
    "technology": (
        "технологии",
        "технология",
        "hi-tech",
        "it",
        "интернет и сми",
        "цифровизация",
        "гаджеты",
        "технологиялар",
        "technology",
        "tech",
        "digital",
        "internet",
        "интернет",
        "наука и технологии",
    ),
    "other": ("другое", "разное", "басқа", "other", "misc"),
}

_PUNCT = re.compile(r"[\s\"'«»“”„.,:;!?()\[\]{}_*#]+")


def fold(value: str) -> str:
    """The matching form of a label or category: case-folded, ё→е, punctuation as spaces."""
    value = value.casefold().replace("ё", "е")
    return _PUNCT.sub(" ", value).strip()


def _build_alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for key, labels in LABELS.items():
        table[fold(key)] = key
        for label in labels.values():
            table.setdefault(fold(label), key)
    for key, names in _ALIASES.items():
        for name in names:
            table.setdefault(fold(name), key)
    return table


ALIASES: dict[str, str] = _build_alias_table()
_SPLIT = re.compile(r"\s*(?:/|>|\||»|\\|·)\s*")


def label(key: str, language: str = "ru") -> str:
    """The label of a rubric key in ``language`` (the key itself if unknown)."""
    labels = LABELS.get(key)
    if labels is None:
        return key
    return labels.get(language) or labels["en"]


def resolve(name: str, extra: Mapping[str, str] | None = None) -> str | None:
    """The rubric key a label, key or alias names, or None.  ``extra`` folded keys first."""
    folded = fold(name)
    if not folded:
        return None
    if extra and folded in extra:
        return extra[folded]
    return ALIASES.get(folded)


def fold_aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    """Config ``[rubrics]`` aliases in matching form."""
    return {fold(raw): key for raw, key in aliases.items()}


def classify(
    categories: Iterable[str],
    extra: Mapping[str, str] | None = None,
    default: str | None = None,
) -> tuple[str, ...]:
    """Rubric keys for an item's raw categories, primary first.

    Each category is tried whole, then by its parts ("Новости / Политика").  What maps
    nowhere falls back to the feed's ``default`` rubric, else ``other``.
    """
    keys: list[str] = []
    for raw in categories:
        key = resolve(raw, extra)
        if key is None:
            for part in _SPLIT.split(raw):
                key = resolve(part, extra)
                if key is not None:
                    break
        if key is not None and key not in keys:
            keys.append(key)
    if not keys:
        keys.append(default or "other")
    return tuple(keys)


def sort_key(key: str) -> tuple[int, str]:
    """Order rubrics as the site does: known keys by ORDER, unknown ones next, `other` last."""
    if key == "other":
        return (len(ORDER), "")
    if key in LABELS:
        return (ORDER.index(key), "")
    return (len(ORDER) - 1, key)
