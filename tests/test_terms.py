"""Terms as matching sees them: one term for the forms agencies write in ru, kk and en."""

from __future__ import annotations

import pytest

from kzfeed.terms import cyrillic, fold, number, stem, terms, tokens


@pytest.mark.parametrize(
    ("forms", "lang"),
    [
        (["выборы", "выборов", "выборах", "Выборам"], None),
        (["Нацбанк", "Нацбанка", "нацбанком", "НАЦБАНКУ"], None),
        (["Токаев", "Токаева", "Токаевым", "Тоқаев", "Tokayev"], None),
        (["Мирзиёев", "Мирзиеева", "Мирзиёевым", "Mirziyoyev"], None),
        (["Казахстан", "Казахстана", "Қазақстан", "Kazakhstan", "Qazaqstan"], None),
        (["Мирзиёевпен", "Мирзиёевтің", "Мирзиёевке"], "kk"),
        (["Астанада", "Астанаға", "Астананың"], "kk"),
    ],
)
def test_the_forms_of_one_word_are_one_term(forms: list[str], lang: str | None) -> None:
    found = {terms(form, lang)[0] for form in forms}
    assert len(found) == 1, dict(zip(forms, (terms(f, lang) for f in forms), strict=True))
    if lang == "kk":  # the Kazakh forms meet the Russian ones
        assert found == set(terms({"Мирзиёевпен": "Мирзиёев", "Астанада": "Астана"}[forms[0]]))


def test_different_words_stay_different() -> None:
    pairs = [("курс", "курск"), ("мост", "место"), ("ставка", "станция"), ("выборы", "вывод")]
    for a, b in pairs:
        assert stem(fold(a)) != stem(fold(b)), (a, b)


def test_numbers_are_written_one_way() -> None:
    assert terms("16,5%") == terms("16.5 percent")[:1] == ["16.5"]
    assert tokens("1 000 тенге и 2\u00a0500,50") == ["1000", "тенге", "и", "2500.5"]
    assert number("3,0") == "3" and number("120") == "120"


def test_stop_words_and_case_and_kazakh_letters() -> None:
    assert terms("Сообщает агентство: и в на по") == []
    assert fold("ӘҒҚҢӨҰҮҺІ Ёлка") == "агкноуухи елка"
    assert cyrillic("tokayev") == "токаев" and cyrillic("shchuchinsk") == "щучинск"


def test_a_story_in_three_languages_shares_its_names_and_numbers() -> None:
    ru = set(terms("Токаев и Мирзиёев обсудили в Астане ставку 16,5%"))
    kk = set(terms("Тоқаев пен Мирзиёев Астанада 16,5% мөлшерлемені талқылады", "kk"))
    en = set(terms("Tokayev and Mirziyoyev discuss 16.5% rate in Astana"))
    shared = ru & kk & en
    assert {stem("токаев"), stem("мирзиеев"), stem("астана"), "16.5"} <= shared


def test_common_wire_words_of_english_and_kazakh_meet_the_russian_ones() -> None:
    ru = set(terms("Нацбанк сохранил базовую ставку на уровне 16,5%"))
    en = set(terms("National Bank of Kazakhstan Keeps Base Rate at 16.5%", "en"))
    kk = set(terms("Ұлттық банк базалық мөлшерлемені 16,5% деңгейінде сақтады", "kk"))
    assert {stem("ставка"), stem("базовый"), "16.5"} <= ru & en & kk
    assert set(terms("rate", None)) != set(terms("rate", "en"))  # only English is translated


def test_latin_diphthongs_and_soft_vowels_read_as_russian_writes_them() -> None:
    pairs = [
        ("Kairat", "Кайрат"),
        ("Kostanay", "Костанай"),
        ("Semey", "Семей"),
        ("Shaidorov", "Шайдоров"),
        ("Kosherbayev", "Кошербаев"),
        ("Mirziyoyev", "Мирзиёев"),
        ("Mongolia", "Монголия"),
    ]
    for latin, russian in pairs:
        assert terms(latin) == terms(russian), (latin, russian)


def test_an_english_possessive_is_the_name() -> None:
    assert terms("Kazakhstan's", "en") == terms("Kazakhstan", "en") == terms("Казахстан")


def test_kazakh_endings_stack_and_a_root_begins_its_forms() -> None:
    school = terms("школа")
    assert terms("мектеп", "kk") == terms("Мектептерде", "kk") == school
    assert terms("облысының", "kk") == terms("облыс", "kk") == terms("области")
    assert terms("министрлігінің", "kk") == terms("министр")
    # a short root matches only the word less its endings, not any word it begins
    assert terms("өрттің", "kk") == terms("пожар")
    assert terms("қарсы", "kk") != terms("снег")


@pytest.mark.parametrize(
    ("en", "kk", "ru"),
    [
        ("earthquake", "сілкінісі", "землетрясение"),
        ("killed", "қаза", "погибли"),
        ("talks", "келіссөздер", "переговоры"),
        ("school", "мектепте", "школа"),
        ("fire", "өрт", "пожар"),
        ("November", "қараша", "ноябрь"),
    ],
)
def test_wire_words_of_the_three_languages_meet(en: str, kk: str, ru: str) -> None:
    assert terms(en, "en") == terms(kk, "kk") == terms(ru)
