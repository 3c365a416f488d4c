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

# Tengrinews' sections and sub-brands as its feed names them (../shared/sites, 2026-09).
_ALIASES_TENGRI: dict[str, tuple[str, ...]] = {
    "sport": ("tengri sport", "tengrisport", "спорт tengri"),
    "world": ("ближний восток", "россия и снг", "мир tengri", "в мире tengri"),
    "society": ("tengri life", "новости казахстана", "события", "город", "дороги"),
    "technology": ("авто", "автоновости", "tengri auto", "автомобили", "техника"),
    "culture": ("рецепты", "tengri travel", "путешествия", "еда", "кино", "шоу-бизнес"),
    "economy": ("личные финансы", "tengri money", "финансы tengri"),
    "health": ("здоровый образ жизни", "tengri health", "healthy"),
    "incidents": ("криминал tengri", "чп", "дтп", "аварии"),
    "other": ("любопытное", "курьезы"),
}
for _key, _names in _ALIASES_TENGRI.items():
    _ALIASES[_key] = (*_ALIASES[_key], *_names)

# A link's host or path section, for items that carry no category: Tengrinews' sections
# (/crime/, /world_news/ …), its sport sub-site, and the common section words of the others.
LINK_SECTIONS: dict[str, str] = {
    "kazakhstan_news": "society",
    "world_news": "world",
    "russia": "world",
    "near_east": "world",
    "crime": "incidents",
    "accidents": "incidents",
    "incidents": "incidents",
    "proisshestviya": "incidents",
    "autonews": "technology",
    "autoroads": "society",
    "events": "society",
    "healthy": "health",
    "health": "health",
    "recipes": "culture",
    "private_finance": "economy",
    "curious": "other",
    "politics": "politics",
    "politika": "politics",
    "economy": "economy",
    "ekonomika": "economy",
    "business": "economy",
    "finance": "economy",
    "society": "society",
    "obshchestvo": "society",
    "sport": "sport",
    "culture": "culture",
    "kultura": "culture",
    "world": "world",
    "mir": "world",
    "tech": "technology",
    "science": "science",
    "regions": "regions",
}
LINK_HOSTS: dict[str, str] = {"tengrisport.kz": "sport", "sport.tengrinews.kz": "sport"}


def from_link(url: str | None) -> str | None:
    """The rubric a story's link names by its host or its first path section, or None."""
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host in LINK_HOSTS:
        return LINK_HOSTS[host]
    first = parts.path.strip("/").split("/", 1)[0].lower()
    if first in ("ru", "kz", "kk", "en") and "/" in parts.path.strip("/"):
        first = parts.path.strip("/").split("/")[1].lower()
    return LINK_SECTIONS.get(first)


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
    link: str | None = None,
) -> tuple[str, ...]:
    """Rubric keys for an item's raw categories, primary first.

    Each category is tried whole, then by its parts ("Новости / Политика").  What maps
    nowhere falls back to the rubric the ``link`` names (its host or section), then the
    feed's ``default`` rubric, else ``other``.
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
        keys.append(from_link(link) or default or "other")
    return tuple(keys)


def sort_key(key: str) -> tuple[int, str]:
    """Order rubrics as the site does: known keys by ORDER, unknown ones next, `other` last."""
    if key == "other":
        return (len(ORDER), "")
    if key in LABELS:
        return (ORDER.index(key), "")
    return (len(ORDER) - 1, key)
