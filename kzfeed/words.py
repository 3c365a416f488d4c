"""The interface's own words in ru, kk and en: labels, and counts with the right plural form
(CLDR's rules, through Babel: 1 новость, 2 новости, 5 новостей; 1 жаңалық; 1 item, 5 items)."""

from __future__ import annotations

import functools
from collections.abc import Callable

NOUNS: dict[str, dict[str, dict[str, str]]] = {
    "item": {
        "ru": {"one": "новость", "few": "новости", "many": "новостей", "other": "новости"},
        "kk": {"one": "жаңалық", "other": "жаңалық"},
        "en": {"one": "item", "other": "items"},
    },
    "feed": {
        "ru": {"one": "лента", "few": "ленты", "many": "лент", "other": "ленты"},
        "kk": {"one": "арна", "other": "арна"},
        "en": {"one": "feed", "other": "feeds"},
    },
}

LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "feed": "лента",
        "status": "статус",
        "http": "http",
        "new": "новых",
        "updated": "изменено",
        "note": "заметка",
        "items": "новостей",
        "newest": "свежая",
        "last ok": "успешно",
        "fails": "сбоев",
        "id": "id",
        "source": "источник",
        "time": "время",
        "rubrics": "рубрики",
        "categories": "категории",
        "link": "ссылка",
        "also": "также",
        "estimated": "оценка: лента не дала даты",
        "none": "Нет новостей по этому запросу.",
        "more": "ещё {n}",
        "window": "С {start} по {end}: 7 дней до последней новости с датой",
        "rubric": "рубрика",
        "key": "ключ",
        "day": "день",
        "total": "всего",
        "max/day": "макс./день",
        "summary": "новых: {new}, изменено: {updated}, сбоев: {errors}",
    },
    "kk": {
        "feed": "арна",
        "status": "күйі",
        "http": "http",
        "new": "жаңа",
        "updated": "өзгерді",
        "note": "ескерту",
        "items": "саны",
        "newest": "соңғысы",
        "last ok": "сәтті",
        "fails": "қате",
        "id": "id",
        "source": "дереккөз",
        "time": "уақыты",
        "rubrics": "айдарлар",
        "categories": "санаттар",
        "link": "сілтеме",
        "also": "сондай-ақ",
        "estimated": "шамамен: арна күнін бермеді",
        "none": "Бұл сұрау бойынша жаңалық жоқ.",
        "more": "тағы {n}",
        "window": "{start}–{end}: күні бар соңғы жаңалыққа дейін 7 күн",
        "rubric": "айдар",
        "key": "кілт",
        "day": "күн",
        "total": "барлығы",
        "max/day": "ең көп/күн",
        "summary": "жаңа: {new}, өзгерді: {updated}, қате: {errors}",
    },
    "en": {
        "feed": "feed",
        "status": "status",
        "http": "http",
        "new": "new",
        "updated": "updated",
        "note": "note",
        "items": "items",
        "newest": "newest",
        "last ok": "last ok",
        "fails": "fails",
        "id": "id",
        "source": "source",
        "time": "time",
        "rubrics": "rubrics",
        "categories": "categories",
        "link": "link",
        "also": "also in",
        "estimated": "estimated: the feed gave no usable date",
        "none": "No items match.",
        "more": "+{n} more",
        "window": "{start}–{end}: the 7 days up to the newest dated story",
        "rubric": "rubric",
        "key": "key",
        "day": "day",
        "total": "total",
        "max/day": "max/day",
        "summary": "{new} new, {updated} updated, {errors} failed",
    },
}


MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "failed": "с ошибкой: {feeds}; остальные сохранены",
        "marked_read": "отмечено прочитанными: {items}",
        "marked_unread": "отмечено непрочитанными: {items}",
        "empty": "база пуста: запустите `kzfeed update`, чтобы загрузить ленты",
        "wrote": "записан {file}: {items}",
        "nothing_unread": "непрочитанных нет",
    },
    "kk": {
        "failed": "қатемен: {feeds}; қалғандары сақталды",
        "marked_read": "оқылды деп белгіленді: {items}",
        "marked_unread": "оқылмады деп белгіленді: {items}",
        "empty": "дерекқор бос: арналарды жүктеу үшін `kzfeed update` іске қосыңыз",
        "wrote": "{file} жазылды: {items}",
        "nothing_unread": "оқылмаған жаңалық жоқ",
    },
    "en": {
        "failed": "failed: {feeds}; the others were stored",
        "marked_read": "marked read: {items}",
        "marked_unread": "marked unread: {items}",
        "empty": "the database is empty: run `kzfeed update` to fetch the feeds",
        "wrote": "wrote {file}: {items}",
        "nothing_unread": "nothing unread",
    },
}


def message(key: str, lang: str, **values: object) -> str:
    """One of kzfeed's messages in ``lang``, with its values filled in."""
    table = MESSAGES.get(lang, MESSAGES["en"])
    return (table.get(key) or MESSAGES["en"][key]).format(**values)


def label(key: str, lang: str) -> str:
    """A label of the interface in ``lang`` (English when the language has none)."""
    return LABELS.get(lang, LABELS["en"]).get(key) or LABELS["en"].get(key, key)


@functools.cache
def _plural_rule(lang: str) -> Callable[[int], str]:
    from babel import Locale

    rule: Callable[[int], str] = Locale.parse(lang).plural_form
    return rule


def plural(n: int, noun: str, lang: str) -> str:
    """The noun's form for ``n`` in ``lang``: новость / новости / новостей."""
    forms = NOUNS[noun].get(lang, NOUNS[noun]["en"])
    return (
        forms.get(_plural_rule(lang if lang in ("ru", "kk", "en") else "en")(n)) or forms["other"]
    )


def count(n: int, noun: str, lang: str) -> str:
    """ "1 новость", "5 новостей", "2 жаңалық", "1 item"."""
    return f"{n} {plural(n, noun, lang)}"
