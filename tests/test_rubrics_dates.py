from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kzfeed import rubrics
from kzfeed.dates import parse_human_date, parse_when
from kzfeed.errors import UsageError

ALMATY = ZoneInfo("Asia/Almaty")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Политика", "politics"),
        ("ПОЛИТИКА", "politics"),
        ("Саясат", "politics"),
        ("Politics", "politics"),
        ("Қоғам", "society"),
        ("Общество", "society"),
        ("Экономика", "economy"),
        ("Бизнес", "economy"),
        ("Мәдениет", "culture"),
        ("Аналитика", "analytics"),
        ("Талдау", "analytics"),
        ("Спорт", "sport"),
        ("В мире", "world"),
        ("Әлем", "world"),
        ("Бывший СССР", "world"),
        ("Происшествия", "incidents"),
        ("Оқиғалар", "incidents"),
        ("Наука", "science"),
        ("Ғылым", "science"),
        ("Здоровье", "health"),
        ("Денсаулық", "health"),
        ("Технологии", "technology"),
        ("«Политика»", "politics"),
        ("Новости / Экономика", "economy"),
    ],
)
def test_builtin_aliases_map_agency_categories(raw: str, key: str) -> None:
    assert rubrics.classify([raw]) == (key,)


def test_every_spec_rubric_has_three_labels() -> None:
    for key in (
        "politics",
        "society",
        "economy",
        "culture",
        "analytics",
        "sport",
        "world",
        "incidents",
        "science",
        "health",
        "technology",
        "other",
    ):
        assert set(rubrics.LABELS[key]) == {"ru", "kk", "en"}
        for label in rubrics.LABELS[key].values():
            assert rubrics.resolve(label) == key


def test_config_aliases_win_and_unmapped_falls_back_to_feed_default_then_other() -> None:
    extra = rubrics.fold_aliases({"Казахстан": "regions"})
    assert rubrics.classify(["Казахстан"], extra) == ("regions",)
    assert rubrics.classify(["Казахстан"]) == ("society",)
    assert rubrics.classify(["Гороскоп"], default="culture") == ("culture",)
    assert rubrics.classify(["Гороскоп"]) == ("other",)
    assert rubrics.classify([]) == ("other",)


def test_primary_rubric_is_the_first_and_keys_are_unique() -> None:
    assert rubrics.classify(["Экономика", "Политика", "Бизнес"]) == ("economy", "politics")


def test_rubric_order_follows_the_site() -> None:
    keys = ["sport", "other", "zzz", "politics", "world", "society"]
    assert sorted(keys, key=rubrics.sort_key) == [
        "politics",
        "society",
        "sport",
        "world",
        "zzz",
        "other",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 февраля 2023 10:00", "2023-02-03T04:00:00+00:00"),  # Almaty UTC+6 then
        ("03.02.2023 10:00", "2023-02-03T04:00:00+00:00"),
        ("21:38, 18 Августа 2026", "2026-08-18T16:38:00+00:00"),  # UTC+5 since 2024-03-01
        ("1 августа 2026 года", "2026-07-31T19:00:00+00:00"),
        ("2023 жылғы 3 ақпан 10:00", "2023-02-03T04:00:00+00:00"),
        ("3 ақпан 2023", "2023-02-02T18:00:00+00:00"),
        ("пятница, 3 февраля 2023, 10:00 +0300", "2023-02-03T07:00:00+00:00"),
    ],
)
def test_russian_and_kazakh_dates(text: str, expected: str) -> None:
    parsed = parse_human_date(text, ALMATY)
    assert parsed is not None
    assert parsed.astimezone(UTC).isoformat() == expected


def test_date_without_year_is_the_most_recent_one_not_after_now() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert parse_human_date("18апреля 9:09", ALMATY, now) == datetime(
        2025, 4, 18, 9, 9, tzinfo=ALMATY
    )
    assert parse_human_date("02марта 6:57", ALMATY, now) == datetime(
        2026, 3, 2, 6, 57, tzinfo=ALMATY
    )


@pytest.mark.parametrize("text", ["", "вчера", "30 февраля 2023", "32 марта 2023", "10:00"])
def test_unusable_dates_give_none(text: str) -> None:
    assert parse_human_date(text, ALMATY) is None


def test_kazakhstan_moved_to_utc_plus_5_on_2024_03_01() -> None:
    before = datetime(2024, 2, 29, 12, tzinfo=ALMATY)
    after = datetime(2024, 3, 2, 12, tzinfo=ALMATY)
    assert before.utcoffset() is not None and before.utcoffset().total_seconds() == 6 * 3600
    assert after.utcoffset() is not None and after.utcoffset().total_seconds() == 5 * 3600


NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # 25 Nov 03:00 in Almaty


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("24h", False, "2026-11-23T22:00:00+00:00"),
        ("7d", False, "2026-11-17T22:00:00+00:00"),
        ("2w", False, "2026-11-10T22:00:00+00:00"),
        ("today", False, "2026-11-24T19:00:00+00:00"),  # local 25 Nov 00:00
        ("yesterday", False, "2026-11-23T19:00:00+00:00"),
        ("2023-02-03", False, "2023-02-02T18:00:00+00:00"),  # UTC+6 then
        ("2023-02-03", True, "2023-02-03T17:59:59.999999+00:00"),
        ("2026-02-03", False, "2026-02-02T19:00:00+00:00"),  # UTC+5 now
        ("2023-02-03T10:00", False, "2023-02-03T04:00:00+00:00"),
        # 29 Feb 2024 lasted 25 hours in Almaty: 00:00 at +6 to 24:00 at +5
        ("2024-02-29", False, "2024-02-28T18:00:00+00:00"),
        ("2024-02-29", True, "2024-02-29T18:59:59.999999+00:00"),
        ("2024-03-01", False, "2024-02-29T19:00:00+00:00"),
    ],
)
def test_time_grammar(value: str, end: bool, expected: str) -> None:
    assert parse_when(value, ALMATY, NOW, end=end).isoformat() == expected


@pytest.mark.parametrize("value", ["soon", "7x", "2023-13-01", ""])
def test_time_grammar_rejects_garbage(value: str) -> None:
    with pytest.raises(UsageError, match="cannot read time"):
        parse_when(value, ALMATY, NOW)


@pytest.mark.parametrize(
    ("typed", "local"),
    [
        ("24.11.2026", "2026-11-24 00:00"),
        ("24.11", "2026-11-24 00:00"),
        ("28.11", "2025-11-28 00:00"),  # no year: the most recent such day
        ("23 ноября", "2026-11-23 00:00"),
        ("23 ноября 2026", "2026-11-23 00:00"),
        ("23 қараша", "2026-11-23 00:00"),
        ("23 ноября 10:00", "2026-11-23 10:00"),
        ("вчера", "2026-11-26 00:00"),
        ("кеше", "2026-11-26 00:00"),
        ("yesterday", "2026-11-26 00:00"),
        ("сегодня", "2026-11-27 00:00"),
        ("бүгін", "2026-11-27 00:00"),
        ("7д", "2026-11-20 13:00"),
        ("24ч", "2026-11-26 13:00"),
        ("7d", "2026-11-20 13:00"),
        ("3 days", "2026-11-24 13:00"),
        ("3 дня", "2026-11-24 13:00"),
        ("2 недели", "2026-11-13 13:00"),
        ("30 минут", "2026-11-27 12:30"),
    ],
)
def test_dates_as_people_type_them(typed: str, local: str) -> None:
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 13:00 in Almaty
    assert parse_when(typed, ALMATY, now).astimezone(ALMATY).strftime("%Y-%m-%d %H:%M") == local


def test_an_inverted_window_is_a_usage_error(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from kzfeed.cli import app

    from .conftest import write_config

    cfg = write_config(tmp_path / "c.toml", [])
    result = CliRunner().invoke(
        app, ["--config", str(cfg), "latest", "--since", "today", "--until", "yesterday"]
    )
    assert result.exit_code == 2 and "ends before it starts" in result.stderr
