"""The term index (terms.sqlite): kept by the store's write path, answers searches the way
reading every partition does, and gives story grouping the window's features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kzfeed.cli import app
from kzfeed.dates import from_iso
from kzfeed.grouping import record_features
from kzfeed.model import StoredItem
from kzfeed.store.termindex import NAME, TermIndex
from kzfeed.terms import terms

from .conftest import FeedServer, rss, write_config
from .test_storylines import ART, ASTANA_TIMES, KAZINFORM, TENGRI

runner = CliRunner()
QUERIES = [
    "Мирзиёев",
    "мирзиеевым",
    "Tokayev",
    "Тоқаев",
    "ставка 16,5",
    '"базовую ставку"',
    "ставка -Нацбанк",
    "title:землетрясение",
    "землетрясение OR выставка",
    "feed:tengrinews Мирзиёев",
    "lang:en talks",
    "rubric:экономика",
    "и",
    "Касым-Жомарт",
    "нет-такого-слова",
]


def kz(*args: str, config: Path) -> Any:
    return runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)


@pytest.fixture
def wire(server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KZFEED_NOW", "2026-11-25T09:00:00+00:00")
    feeds = [
        {"name": "kazinform", "url": server.add("/k.xml", rss([*KAZINFORM, ART])), "lang": "ru"},
        {"name": "tengrinews", "url": server.add("/t.xml", rss(TENGRI, "Tengrinews"))},
        {"name": "at", "url": server.add("/a.xml", rss(ASTANA_TIMES, "TAT", "en")), "lang": "en"},
    ]
    config = write_config(tmp_path / "config.toml", feeds, allow_private=True)
    assert kz("update", config=config).exit_code == 0
    return config


def found(config: Path, query: str) -> list[str]:
    result = kz("latest", "--json", "-n", "100", "--search", query, config=config)
    assert result.exit_code == 0, result.output
    return [item["id"] for item in json.loads(result.stdout)]


def test_an_update_keeps_the_index_and_searches_answer_as_a_full_read_does(wire: Path) -> None:
    data = wire.parent / "data"
    index = TermIndex.open(data)
    assert index is not None and index.count() == 8
    index.close()
    with_index = {q: found(wire, q) for q in QUERIES}
    assert with_index["Мирзиёев"] and with_index["Tokayev"] == with_index["Тоқаев"]
    assert with_index["нет-такого-слова"] == []
    (data / NAME).unlink()  # without it every partition is read
    assert {q: found(wire, q) for q in QUERIES} == with_index
    assert "8" in kz("db", "reindex", config=wire).stdout
    assert {q: found(wire, q) for q in QUERIES} == with_index


def test_a_stale_or_damaged_index_is_never_trusted(wire: Path, server: FeedServer) -> None:
    data = wire.parent / "data"
    expected = found(wire, "Мирзиёев")
    (data / NAME).write_bytes(b"not a database at all" * 100)
    assert found(wire, "Мирзиёев") == expected
    later = {**ART, "title": "Мирзиёев прилетел в Алматы", "guid": "late", "link": "https://x.kz/l"}
    server.add("/k.xml", rss([later, *KAZINFORM, ART]))
    assert kz("update", config=wire).exit_code == 0  # the damaged file is rebuilt
    index = TermIndex.open(data)
    assert index is not None and index.count() == 9
    index.close()
    assert len(found(wire, "Мирзиёев")) == len(expected) + 1


def record(
    item_id: str, title: str, summary: str = "", published: str = "2026-11-24T04:00:00+00:00"
) -> StoredItem:
    return {
        "id": item_id,
        "feed": "f",
        "title": title,
        "summary": summary,
        "published": published,
        "lang": "ru",
    }


def q(word: str, field: str = "") -> list[list[list[str]]]:
    return [[[field + term for term in terms(word)]]]


def test_edits_forgets_and_pruning_leave_no_stale_terms(tmp_path: Path) -> None:
    index = TermIndex.open(tmp_path, create=True)
    assert index is not None
    first = record("a" * 16, "Токаев провел переговоры", "Мирзиёев в Астане")
    index.put([first, record("b" * 16, "Курс доллара", published="2026-10-01T04:00:00+00:00")])
    assert list(index.matching(q("Токаев")) or []) == [(first["published"], "a" * 16)]
    index.put([{**first, "title": "Смаилов провел переговоры"}])  # an edit
    assert list(index.matching(q("Токаев")) or []) == []
    assert list(index.matching(q("Смаилов", "title:")) or []) == [(first["published"], "a" * 16)]
    assert len(list(index.matching(q("доллара")) or [])) == 1
    index.forget_before("2026-11-01")
    assert list(index.matching(q("доллара")) or []) == [] and index.count() == 1
    index.forget(["a" * 16])
    assert index.count() == 0 and list(index.matching(q("Мирзиёев")) or []) == []
    index.close()


def test_the_window_features_are_those_grouping_computes(tmp_path: Path) -> None:
    index = TermIndex.open(tmp_path, create=True)
    assert index is not None
    item = record("c" * 16, "Тоқаев и Мирзиёев обсудили торговлю", "Ставка 16,5% и транзит-2026")
    index.put([item])
    (kept,) = index.features(["2026-11-24"]).values()
    fresh = record_features(item)
    assert kept == fresh and kept.figures and kept.anchors  # the figures too
    assert kept.published == from_iso(item["published"])
    index.close()


def test_a_commit_interrupted_before_the_index_is_caught_up_by_the_next(
    wire: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partitions are written, then the index: a commit stopped in between (Ctrl-C, a
    kill) must not leave an edited title's old terms in the index for good."""
    from kzfeed.store import termindex

    edited = {
        **ART,
        "title": "В Алматы открылся фестиваль уличного театра",
        "description": "На площади выступают труппы из пяти городов.",
    }
    server.add("/k.xml", rss([*KAZINFORM, edited]))

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(termindex, "keep", killed)
    assert runner.invoke(app, ["--config", str(wire), "update"]).exit_code != 0
    monkeypatch.undo()
    monkeypatch.setenv("KZFEED_NOW", "2026-11-25T09:00:00+00:00")
    assert len(found(wire, "фестиваль")) == 1  # meanwhile: the partitions are read
    assert kz("update", config=wire).exit_code == 0  # nothing new, nothing edited
    assert not (wire.parent / "data" / termindex.PENDING).exists()
    index = TermIndex.open(wire.parent / "data")
    assert index is not None
    assert len(list(index.matching(q("фестиваль")) or [])) == 1
    assert list(index.matching(q("выставка")) or []) == []
    index.close()
    assert len(found(wire, "фестиваль")) == 1
