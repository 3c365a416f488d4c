"""The search query on plain records: word forms, folding, phrases, exclusion, fields, OR."""

from __future__ import annotations

from typing import Any

import pytest

from kzfeed.search import matches, parse


def record(title: str, summary: str = "", **kw: Any) -> dict[str, Any]:
    return {"id": "x", "feed": "kazinform-ru", "title": title, "summary": summary, **kw}


ELECTIONS = record(
    "ЦИК подвел итоги выборов акимов",
    "Выборы прошли в 45 сельских округах, сообщает Kazinform.",
    rubrics=["politics"],
    lang="ru",
    source="Kazinform",
)
RATE_KK = record(
    "Ұлттық банк базалық мөлшерлемені 16,5% деңгейінде сақтады",
    feed="kazinform-kk",
    rubrics=["economy"],
    lang="kk",
)
TALKS_EN = record(
    "Tokayev, Mirziyoyev Discuss Water and Energy Cooperation",
    feed="astanatimes",
    rubrics=["politics"],
    lang="en",
)


@pytest.mark.parametrize(
    ("query", "item", "expected"),
    [
        ("выборы", ELECTIONS, True),  # выборов in the title, Выборы in the summary
        ("выборы акимы", ELECTIONS, True),  # every word, any form
        ("выборы депутатов", ELECTIONS, False),
        ('"итоги выборов"', ELECTIONS, True),
        ('"выборов итоги"', ELECTIONS, False),  # a phrase keeps its order
        ("выборы -акимов", ELECTIONS, False),
        ("-погода", ELECTIONS, True),
        ("title:акимы", ELECTIONS, True),
        ("title:округах", ELECTIONS, False),  # only in the summary
        ("rubric:Саясат", ELECTIONS, True),  # a label in any language
        ("rubric:economy", ELECTIONS, False),
        ("lang:рус", ELECTIONS, True),
        ("feed:kazinform-ru", ELECTIONS, True),
        ("feed:Kazinform", ELECTIONS, True),  # the source's shown name
        ("feed:tengrinews", ELECTIONS, False),
        ("Токаев", TALKS_EN, True),  # Latin names read as Cyrillic
        ("Тоқаев OR Назарбаев", TALKS_EN, True),
        ("Назарбаев OR Масимов", TALKS_EN, False),
        ("ставка 16,5", RATE_KK, True),  # the Kazakh word for rate, the number one way
        ("16.5%", RATE_KK, True),
        ("http://x.kz/?a=1", ELECTIONS, False),  # a colon that names no field: a word
    ],
)
def test_queries(query: str, item: dict[str, Any], expected: bool) -> None:
    assert matches(parse(query), item, {}) is expected


def test_feed_by_its_shown_title() -> None:
    assert matches(parse("feed:Tengrinews"), record("x", feed="tengri"), {"tengri": "Tengrinews"})


def test_parse_groups_or_with_its_neighbours() -> None:
    query = parse('a OR b c -"d e" title:f')
    assert [[atom.text for atom in clause] for clause in query.clauses] == [
        ["a", "b"],
        ["c"],
        ["d e"],
        ["f"],
    ]
    assert query.clauses[2][0].negated and query.clauses[2][0].phrase
    assert query.clauses[3][0].field == "title"


def test_a_glossary_word_finds_its_own_language_and_the_russian() -> None:
    kk = {"title": "Алматыда өрт шықты", "summary": "", "lang": "kk"}
    ru = {"title": "В Алматы произошел пожар", "summary": "", "lang": "ru"}
    en = {"title": "New school opens in Astana", "summary": "", "lang": "en"}
    ru_school = {"title": "В Астане открылась новая школа", "summary": "", "lang": "ru"}
    fire, school = parse("өрт"), parse("school")
    assert matches(fire, kk, {}) and matches(fire, ru, {})
    assert matches(school, en, {}) and matches(school, ru_school, {})
    assert not matches(parse("школа"), kk, {}) and not matches(fire, en, {})


def test_spans_mark_every_form_and_phrase_not_the_excluded() -> None:
    from kzfeed.search import spans

    text = "Тоқаев и Мирзиёев обсудили торговлю; Токаева встретили в Астане, выборы выборов"

    def marked(query: str) -> list[str]:
        return [text[a:b] for a, b in spans(parse(query), text, "ru")]

    assert marked("Tokayev") == ["Тоқаев", "Токаева"]
    assert marked("выборы") == ["выборы", "выборов"]
    assert marked('"обсудили торговлю"') == ["обсудили торговлю"]
    assert marked("Мирзиёев -Астана") == ["Мирзиёев"]
    assert marked("feed:kazinform lang:ru") == []


def test_a_phrase_is_whole_words() -> None:
    record = {"title": "Нацбанк сохранил базовую ставку, сообщили в Нацбанке", "summary": ""}
    assert matches(parse('"базовую ставку"'), record, {})
    assert matches(parse('"нацбанк сохранил"'), record, {})
    assert not matches(parse('"Нацбан"'), record, {})  # the start of a word is no word
