"""The term index (terms.sqlite): kept by the store's write path, answers searches the way
reading every partition does, and gives story grouping the window's features."""

from __future__ import annotations

import functools
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
from .test_storylines import ART, ASTANA_TIMES, KAZINFORM, TENGRI, kz

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


@pytest.mark.parametrize("batch", [1000, 2])
def test_items_of_one_second_sharing_their_ids_first_24_bits_get_rows_of_their_own(
    tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row is the second and 24 bits of the id: items that share both, put at once or
    one after another, each take the next free row, and each is found — also when the
    rows are inserted a few items at a time (a clash across two batches)."""
    import kzfeed.store.termindex

    monkeypatch.setattr(kzfeed.store.termindex, "PUT_BATCH", batch)
    index = TermIndex.open(tmp_path, create=True)
    assert index is not None
    ids = [f"abcdef{n:010x}" for n in range(6)]
    index.put([record(i, f"Землетрясение номер {n}") for n, i in enumerate(ids[:3])])
    index.put([record(i, f"Землетрясение номер {n + 3}") for n, i in enumerate(ids[3:])])
    assert sorted(i for _, i in index.matching(q("Землетрясение")) or []) == ids
    assert index.count() == 6
    index.put([record(ids[1], "Наводнение")])  # an edit takes a row again
    assert [i for _, i in index.matching(q("Наводнение")) or []] == [ids[1]]
    assert index.count() == 6
    index.close()


def test_a_clash_moves_past_rows_the_index_already_holds(tmp_path: Path) -> None:
    """Two new items want the same row while the index holds the row after it (an item of
    the same second whose id's 24 bits are one more): the second goes past it, nothing is
    lost, and the rows stay in publication order."""
    index = TermIndex.open(tmp_path, create=True)
    assert index is not None
    held = "abcdf0" + "0" * 10  # the row just after the one "abcdef…" wants
    index.put([record(held, "Паводок номер 0")])
    clash = [f"abcdef{n:010x}" for n in range(2)]
    index.put([record(i, f"Паводок номер {n + 1}") for n, i in enumerate(clash)])
    assert sorted(i for _, i in index.matching(q("Паводок")) or []) == sorted([held, *clash])
    rows = dict(index.db.execute("SELECT id, row FROM items"))
    assert rows[held] == rows[clash[0]] + 1 and rows[clash[1]] == rows[held] + 1
    assert index.count() == 3
    index.close()


def test_the_window_features_are_those_grouping_computes(tmp_path: Path) -> None:
    index = TermIndex.open(tmp_path, create=True)
    assert index is not None
    item = record(
        "c" * 16, "Тоқаев и Мирзиёев обсудили торговлю", "Касым-Жомарт, ставка 16,5%, транзит-2026"
    )
    index.put([item])
    window = index.window("2026-11-23T00:00:00+00:00", "2026-11-25T00:00:00+00:00")
    fresh = record_features(item)
    assert window.documents == 1
    assert window.count_terms([*fresh.terms, "нет"]) == dict.fromkeys(fresh.terms, 1)
    assert window.count_anchors([*fresh.anchors, "n:нет"]) == dict.fromkeys(fresh.anchors, 1)
    assert "касым-жомарт" in window.count_terms(terms("Касым-Жомарт"))  # FTS5 splits it
    left = index.window("2026-11-23T00:00:00+00:00", "2026-11-25T00:00:00+00:00", ["c" * 16])
    assert left.documents == 0 and left.count_terms(fresh.terms) == {}  # an item dropped
    assert left.load(["c" * 16]) == {} and left.count_anchors(fresh.anchors) == {}
    (key,) = [k for k in sorted(fresh.anchors) if k.startswith("n:")][:1]
    assert window.stories_with([key, "n:нет-такого"]) == {key: {"c" * 16}}
    ((story, (kept,)),) = window.load(["c" * 16]).items()
    assert story == "c" * 16 and kept == fresh and kept.figures and kept.anchors  # figures too
    assert kept.published == from_iso(item["published"])
    assert index.window("2026-11-25T00:00:00+00:00", "2026-11-26T00:00:00+00:00").documents == 0
    index.close()


def keys_table(index: TermIndex) -> set[tuple[str, str]]:
    """(key, item id) as the keys table holds them — and as each item's own list says."""
    held = set(
        index.db.execute("SELECT k.key, i.id FROM keys k JOIN items i ON i.row = k.row").fetchall()
    )
    listed = {
        (key, item_id)
        for item_id, keys in index.db.execute("SELECT id, keys FROM items")
        for key in keys.split()
    }
    assert held == listed
    count = index.db.execute("SELECT COUNT(*) FROM keys").fetchone()[0]
    assert count == len(held)  # no row left behind by an item gone
    return held


def test_the_story_keys_follow_edits_forgets_and_pruning(tmp_path: Path) -> None:
    index = TermIndex.open(tmp_path, create=True)
    assert index is not None
    first = {**record("a" * 16, "Токаев провел переговоры с Мирзиёевым"), "story": "a" * 16}
    later = {**record("b" * 16, "Мирзиёев прилетел в Астану"), "story": "a" * 16}
    old = record("c" * 16, "Курс доллара", published="2026-10-01T04:00:00+00:00")
    given = {"b" * 16: frozenset({"n:мирзиев", "t:прилетел"})}
    index.put([first, later, old], None, given)
    held = keys_table(index)
    assert {k for k, i in held if i == "b" * 16} == given["b" * 16]  # as grouping made them
    made = {k for k, i in held if i == "a" * 16}  # made here: anchors and heaviest terms
    assert made > record_features(first).anchors and any(k.startswith("t:") for k in made)
    stories = index.db.execute("SELECT DISTINCT grp FROM keys WHERE key = 'n:мирзиев'")
    assert {s for (s,) in stories} == {"a" * 16}  # the story, not the item
    edited = {**first, "title": "Смаилов провел совещание"}
    index.put([edited])  # an edit
    held = keys_table(index)
    assert {k for k, i in held if i == "a" * 16} > record_features(edited).anchors
    assert not {k for k, i in held if i == "a" * 16} & (
        record_features(first).anchors - record_features(edited).anchors
    )
    index.forget_before("2026-11-01")
    assert not {i for _k, i in keys_table(index)} & {"c" * 16}
    index.forget(["a" * 16, "b" * 16])
    assert keys_table(index) == set()
    index.close()


def counting(calls: list[str], original: Any, record: StoredItem) -> Any:
    calls.append(record["id"])
    return original(record)


def test_an_update_groups_through_the_index_as_it_does_from_the_window(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a current index the window's items are not read nor analysed again; without
    one they are — and the stories come out the same."""
    import kzfeed.grouping

    monkeypatch.setenv("KZFEED_NOW", "2026-11-25T09:00:00+00:00")
    later = {
        "title": "Мирзиёев завершил визит в Казахстан",
        "link": "https://tengrinews.kz/kazakhstan_news/mirziyoev-visit-end-590/",
        "guid": "tengri-590",
        "pubDate": "Tue, 24 Nov 2026 16:40:00 +0500",
        "description": "Шавкат Мирзиёев завершил визит в Астану после переговоров с Токаевым"
        " о торговле и транзите.",
    }
    results: list[set[frozenset[str]]] = []
    original = kzfeed.grouping.record_features
    for with_index in (True, False):
        folder = tmp_path / str(with_index)
        folder.mkdir()
        k, t = f"/{with_index}/k.xml", f"/{with_index}/t.xml"
        feeds = [
            {"name": "kazinform", "url": server.add(k, rss([*KAZINFORM, ART])), "lang": "ru"},
            {"name": "tengrinews", "url": server.add(t, rss(TENGRI, "Tengrinews"))},
        ]
        config = write_config(folder / "config.toml", feeds, allow_private=True)
        assert kz("update", config=config).exit_code == 0
        server.add(t, rss([later, *TENGRI], "Tengrinews"))
        if not with_index:
            (folder / "data" / NAME).unlink()
        computed: list[str] = []
        monkeypatch.setattr(
            kzfeed.grouping, "record_features", functools.partial(counting, computed, original)
        )
        assert kz("update", config=config).exit_code == 0
        monkeypatch.undo()
        monkeypatch.setenv("KZFEED_NOW", "2026-11-25T09:00:00+00:00")
        assert bool(computed) is not with_index  # the window: from the index, or read
        items = json.loads(kz("latest", "--json", "-n", "50", config=config).stdout)
        by_title = {i["title"]: i["story"] for i in items}
        assert by_title[later["title"]] == by_title[KAZINFORM[0]["title"]]
        assert by_title[ART["title"]] != by_title[KAZINFORM[0]["title"]]
        results.append(
            {frozenset(t for t, s in by_title.items() if s == story) for story in by_title.values()}
        )
    assert results[0] == results[1]


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


def test_a_whole_build_cut_short_is_built_again_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index of an older version is built again by the next commit, a day per
    transaction; Ctrl-C in the middle leaves it marked as being built: it is never read,
    and the commit after builds it whole (it was kept, part-filled, for good)."""
    import sqlite3
    from datetime import UTC, datetime, timedelta

    from kzfeed import dedup
    from kzfeed.store import Store

    from .test_heads import item as heads_item

    def item(n: int) -> Any:  # 12 days, five hours apart
        return heads_item(n, datetime(2026, 11, 24, 20, 0, tzinfo=UTC) - timedelta(hours=5 * n))

    data = tmp_path / "data"
    with Store(data).writer() as writer:  # 12 days
        writer.apply(dedup.plan([item(n) for n in range(1, 60)], writer.view()))
    db = sqlite3.connect(data / NAME)
    with db:
        db.execute("UPDATE meta SET value = 'older' WHERE key = 'version'")
    db.close()
    whole = TermIndex.put
    calls: list[int] = []

    def cut(self: TermIndex, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        whole(self, *args, **kwargs)

    monkeypatch.setattr(TermIndex, "put", cut)
    with pytest.raises(KeyboardInterrupt), Store(data).writer() as writer:
        writer.apply(dedup.plan([item(60)], writer.view()))
    monkeypatch.undo()
    assert TermIndex.open(data) is None  # part-built: not read
    with Store(data).writer() as writer:
        writer.apply(dedup.plan([item(0)], writer.view()))
    index = TermIndex.open(data)
    assert index is not None
    try:
        assert index.count() == Store(data).item_count() == 61
    finally:
        index.close()
