"""Story grouping on plain data: re-told, translated copies join; look-alikes do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kzfeed.stories import Grouping, assign, features

T0 = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)

ITEMS = [
    # one event in three languages and four agencies
    (
        "talks-ru",
        0,
        "Токаев провел переговоры с Мирзиёевым в Астане",
        "Глава государства Касым-Жомарт Токаев провел переговоры с Президентом Узбекистана Шавкатом Мирзиёевым.",
        "ru",
    ),
    (
        "talks-kk",
        1,
        "Тоқаев Мирзиёевпен Астанада келіссөз жүргізді",
        "Мемлекет басшысы Қасым-Жомарт Тоқаев Өзбекстан Президенті Шавкат Мирзиёевпен келіссөз жүргізді.",
        "kk",
    ),
    (
        "talks-en",
        3,
        "Tokayev, Mirziyoyev Discuss Water and Energy Cooperation in Astana",
        "President Kassym-Jomart Tokayev held talks with Uzbek President Shavkat Mirziyoyev in Astana.",
        "en",
    ),
    (
        "talks-tengri",
        2,
        "Мирзиёев прибыл в Астану: о чем договорились президенты",
        "Шавкат Мирзиёев и Касым-Жомарт Токаев обсудили водно-энергетическое сотрудничество.",
        "ru",
    ),
    # the rate decision, ru and en
    (
        "rate-ru",
        0,
        "Нацбанк сохранил базовую ставку на уровне 16,5%",
        "Национальный банк Казахстана сохранил базовую ставку на уровне 16,5% годовых.",
        "ru",
    ),
    (
        "rate-en",
        2,
        "National Bank of Kazakhstan Keeps Base Rate at 16.5%",
        "The National Bank of Kazakhstan kept its base rate at 16.5 percent.",
        "en",
    ),
    # look-alikes: the daily dollar rate on two days, two earthquakes
    (
        "usd-24",
        0,
        "Курс доллара в обменниках Алматы 24 ноября",
        "Средний курс покупки доллара в обменниках Алматы составил 512,40 тенге.",
        "ru",
    ),
    (
        "usd-25",
        24,
        "Курс доллара в обменниках Алматы 25 ноября",
        "Средний курс покупки доллара в обменниках Алматы составил 514,10 тенге.",
        "ru",
    ),
    (
        "quake-kg",
        0,
        "Землетрясение магнитудой 5,1 произошло в Киргизии",
        "Эпицентр находился в 40 км от Оша, сообщили сейсмологи.",
        "ru",
    ),
    (
        "quake-cn",
        10,
        "Землетрясение магнитудой 4,6 произошло в Китае",
        "Эпицентр находился в Синьцзяне, сообщили сейсмологи.",
        "ru",
    ),
]


def group(threshold: float | None = None) -> dict[str, str]:
    grouping = Grouping()
    feats = [
        features(key, T0 + timedelta(hours=hours), title, summary, lang)
        for key, hours, title, summary, lang in ITEMS
    ]
    placed: dict[str, str] = {}
    for start in range(0, len(feats), 3):  # three updates' worth at a time: incremental
        placed.update(assign(grouping, feats[start : start + 3]))
    return placed


def test_retold_and_translated_copies_are_one_story_and_look_alikes_are_not() -> None:
    story = group()
    talks = {story[k] for k in ("talks-ru", "talks-kk", "talks-en", "talks-tengri")}
    assert len(talks) == 1
    # ru and en share "16.5", Kazakhstan, and through the glossary bank, base, rate
    assert story["rate-ru"] == story["rate-en"] and story["rate-ru"] not in talks
    assert story["usd-24"] != story["usd-25"]
    assert story["quake-kg"] != story["quake-cn"]


def test_two_days_apart_is_never_one_story() -> None:
    grouping = Grouping()
    a = features("a", T0, "Токаев провел переговоры с Мирзиёевым", "", "ru")
    b = features("b", T0 + timedelta(hours=60), "Токаев провел переговоры с Мирзиёевым", "", "ru")
    placed = assign(grouping, [a, b])
    assert placed["a"] != placed["b"]
