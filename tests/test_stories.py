"""Story grouping on plain data: re-told, translated copies join; look-alikes do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kzfeed.stories import Grouping, assign, features, similarity

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


def one_update(*items: tuple[str, int, str, str, str]) -> dict[str, str]:
    """The items grouped in one update, with the other news of `ITEMS` around them (the
    weight of a word is how rare it is among the items grouped)."""
    feats = [
        features(key, T0 + timedelta(hours=hours), title, summary, lang)
        for key, hours, title, summary, lang in [*ITEMS, *items]
    ]
    return assign(Grouping(), feats)


def test_a_figure_is_one_figure_however_it_is_written() -> None:
    ru = features("ru", T0, "Урожай зерна составил 4,1 млн тонн", "", "ru")
    en = features("en", T0, "Grain harvest reached 4.1 million tons", "", "en")
    kk = features("kk", T0, "Астық өнімі 4,1 миллион тоннаға жетті", "", "kk")
    assert "#:4100000" in ru.anchors & en.anchors & kk.anchors
    thousands = features("t", T0, "Kazakhstan exported 290,000 tons", "", "en")
    assert "#:290000" in thousands.anchors
    assert "d:11-16" in features("d", T0, "On Nov. 16 the bank said", "", "en").anchors
    assert "d:11-16" in features("d", T0, "16 ноября банк сообщил", "", "ru").anchors


def test_a_rounded_figure_agrees_and_a_different_one_does_not() -> None:
    story = one_update(
        (
            "opec-ru",
            0,
            "Казахстан превысил квоту ОПЕК+ почти на 300 тысяч баррелей",
            "Превышение квоты в октябре составило почти 300 тысяч баррелей в сутки.",
            "ru",
        ),
        (
            "opec-en",
            2,
            "Kazakhstan Overshoots OPEC+ Quota by 290,000 Barrels a Day",
            "Kazakhstan produced more oil than its OPEC+ quota in October.",
            "en",
        ),
        (
            "kase-1",
            0,
            "Тенге ослаб до 521,34 за доллар на KASE",
            "Средневзвешенный курс доллара на KASE составил 521,34 тенге.",
            "ru",
        ),
        (
            "kase-2",
            20,
            "Тенге укрепился до 518,90 за доллар на KASE",
            "Средневзвешенный курс доллара на KASE составил 518,90 тенге.",
            "ru",
        ),
    )
    assert story["opec-ru"] == story["opec-en"]
    assert story["kase-1"] != story["kase-2"]


def test_two_earthquakes_a_day_apart_are_not_one_story() -> None:
    story = one_update(
        (
            "q1",
            0,
            "Землетрясение магнитудой 4,8 произошло вблизи Алматы",
            "Эпицентр находился в 32 километрах южнее Алматы.",
            "ru",
        ),
        (
            "q2",
            22,
            "Землетрясение магнитудой 5,6 ощутили в Алматы",
            "Эпицентр находился на территории Кыргызстана.",
            "ru",
        ),
    )
    assert story["q1"] != story["q2"]


def test_a_kazakh_and_a_russian_report_of_one_fire_are_one_story() -> None:
    story = one_update(
        (
            "fire-ru",
            0,
            "Пожар на рынке в Шымкенте: эвакуированы 300 человек",
            "Пожар на шымкентском рынке потушили, пострадавших нет.",
            "ru",
        ),
        (
            "fire-kk",
            1,
            "Шымкенттегі базарда өрт шықты: 300 адам эвакуацияланды",
            "Өрт сөндірілді, зардап шеккендер жоқ.",
            "kk",
        ),
    )
    assert story["fire-ru"] == story["fire-kk"]


def test_reports_naming_nobody_in_common_join_when_their_words_agree() -> None:
    story = one_update(
        (
            "ban-1",
            0,
            "Правительство РФ продлило запрет на экспорт бензина",
            "Запрет на экспорт бензина продлен до конца года.",
            "ru",
        ),
        (
            "ban-2",
            3,
            "Запрет на экспорт бензина из России продлен до конца года",
            "Поставки бензина по межправительственным соглашениям запрет не затрагивает.",
            "ru",
        ),
    )
    assert story["ban-1"] == story["ban-2"]


def test_an_earlier_update_keeps_its_story_ids() -> None:
    grouping = Grouping()
    news = [
        features(key, T0 + timedelta(hours=hours), title, summary, lang)
        for key, hours, title, summary, lang in ITEMS
        if not key.startswith("rate")
    ]
    first = assign(
        grouping,
        [*news, features("a", T0, "Нацбанк сохранил базовую ставку на уровне 16,5%", "", "ru")],
    )
    second = assign(
        grouping,
        [
            features(
                "b",
                T0 + timedelta(hours=1),
                "National Bank of Kazakhstan Keeps Base Rate at 16.5%",
                "",
                "en",
            )
        ],
    )
    assert second["b"] == first["a"] == grouping.story_of["a"]


def test_items_three_days_apart_are_not_similar() -> None:
    a = features("a", T0, "Токаев провел переговоры с Мирзиёевым", "", "ru")
    b = features("b", T0 + timedelta(days=3), "Токаев провел переговоры с Мирзиёевым", "", "ru")
    idf = {term: 1.0 for term in a.terms}
    assert similarity(a, b, idf) == 0.0
    near = features("c", T0 + timedelta(hours=3), "Токаев провел переговоры с Мирзиёевым", "", "ru")
    assert similarity(a, near, idf) > 0.5


def test_the_fixture_stories_group_exactly_as_labelled() -> None:
    """Golden: the whole partition, not only the pairs above."""
    story = group()
    found = sorted(sorted(k for k in story if story[k] == s) for s in set(story.values()))
    assert found == sorted(
        [
            ["talks-en", "talks-kk", "talks-ru", "talks-tengri"],
            ["rate-en", "rate-ru"],
            ["usd-24"],
            ["usd-25"],
            ["quake-kg"],
            ["quake-cn"],
        ]
    )


def test_features_and_items_come_back_from_a_worker_as_they_went() -> None:
    """The parse workers pickle every new item and its features; both have a pickled form of
    their own (cheaper to read back): what comes back is equal, of the same types, with the
    derived fields kept."""
    import pickle
    from dataclasses import MISSING, fields
    from multiprocessing.reduction import ForkingPickler

    from kzfeed.model import AlsoIn, Item

    found = features("a", T0, "Токаев: 521,3 млрд тенге 16 ноября", "Астана, 3 000 человек", "ru")
    back = ForkingPickler.loads(ForkingPickler.dumps(found))
    assert back == found and type(back.terms) is type(found.terms)
    assert dict(back.terms) == dict(found.terms) and sum(found.terms.values()) > 0
    assert (back.every, back.titled, back.stamp) == (found.every, found.titled, found.stamp)
    assert back.figures and back.anchors == found.anchors
    item = Item(
        "i1", "f", "Kazinform", "Заголовок", None, "2026-11-24T05:00:00Z", False,
        ("politics",), ("Саясат",), "kk", "Мәтін", guid="g", also_in=(AlsoIn("g", None),),
        text="Толық мәтін", read=True, feed_key="fk", link_key="lk", content_hash="h",
        first_seen="2026-11-24T05:01:00Z",
    )  # fmt: skip
    assert all(getattr(item, f.name) != f.default for f in fields(Item) if f.default is not MISSING)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(item, protocol)) == item
