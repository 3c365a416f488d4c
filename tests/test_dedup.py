"""Identity decisions on plain data (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kzfeed import dedup
from kzfeed.dedup import Action, IndexView
from kzfeed.model import Item


def item(
    feed: str = "kazinform-ru",
    key: str = "k1",
    link_key: str | None = "l1",
    h: str = "h1",
    **kw: object,
) -> Item:
    base = Item(
        id=key,
        feed=feed,
        source=feed,
        title="Токаев провел переговоры",
        url=f"https://inform.kz/{key}",
        published="2026-11-24T04:10:00+00:00",
        date_estimated=False,
        rubrics=("politics",),
        categories=("Политика",),
        lang="ru",
        summary="лид",
        feed_key=key,
        link_key=link_key,
        content_hash=h,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


EMPTY = IndexView({}, {})


def test_unknown_item_is_new() -> None:
    assert dedup.decide(item(), EMPTY).action is Action.NEW


def test_same_key_same_content_is_unchanged_and_changed_content_is_an_edit() -> None:
    index = IndexView({"k1": "k1", "l1": "k1"}, {"k1": "h1"})
    assert dedup.decide(item(), index).action is Action.UNCHANGED
    edit = dedup.decide(item(h="h2"), index)
    assert (edit.action, edit.target) == (Action.EDIT, "k1")


def test_another_feed_with_the_same_link_merges_into_the_stored_story() -> None:
    index = IndexView({"k1": "k1", "l1": "k1"}, {"k1": "h1"})
    decision = dedup.decide(item(feed="kazinform-politics", key="k9"), index)
    assert (decision.action, decision.target) == (Action.MERGE, "k1")


def test_changed_guid_with_the_same_link_is_the_same_item() -> None:
    index = IndexView({"k1": "k1", "l1": "k1"}, {"k1": "h1"})
    decision = dedup.decide(item(key="k-new-guid"), index)
    assert (decision.action, decision.target) == (Action.MERGE, "k1")


def test_pruned_items_and_items_older_than_retention_are_skipped() -> None:
    tomb = IndexView({}, {}, {"k1": "2026-11-01"})
    assert dedup.decide(item(), tomb).action is Action.SKIP
    tomb_link = IndexView({}, {}, {"l1": "2026-11-01"})
    assert dedup.decide(item(key="other"), tomb_link).action is Action.SKIP
    assert dedup.decide(item(), EMPTY, cutoff="2026-12-01T00:00:00+00:00").action is Action.SKIP
    undated = item(date_estimated=True)
    assert dedup.decide(undated, EMPTY, cutoff="2026-12-01T00:00:00+00:00").action is Action.NEW


def test_plan_folds_two_entries_of_one_batch_that_name_the_same_story() -> None:
    index = IndexView({"l1": "k1"}, {})
    decisions = dedup.plan([item(key="a"), item(key="b")], index)
    assert [d.action for d in decisions] == [Action.MERGE, Action.UNCHANGED]


def test_merge_record_from_another_feed_adds_also_in_and_rubrics_but_keeps_content() -> None:
    stored = item().to_record()
    stored["read"] = True
    other = item(
        feed="tengrinews",
        key="k2",
        rubrics=("world", "politics"),
        categories=("Мир",),
        title="Другой заголовок",
        url="http://tengrinews.kz/x/",
    )
    merged = dedup.merge_record(stored, other)
    assert merged["title"] == stored["title"]
    assert merged["also_in"] == [{"feed": "tengrinews", "url": "http://tengrinews.kz/x/"}]
    assert merged["rubrics"] == ["politics", "world"]
    assert merged["categories"] == ["Политика", "Мир"]
    assert merged["read"] is True
    again = dedup.merge_record(merged, other)
    assert again["also_in"] == merged["also_in"]


def test_merge_record_from_the_own_feed_is_an_edit_in_place() -> None:
    stored = item().to_record()
    stored["also_in"] = [{"feed": "tengrinews", "url": "https://tengrinews.kz/x"}]
    stored["rubrics"] = ["politics", "world"]
    stored["first_seen"] = "2026-11-24T04:11:00+00:00"
    edited = item(title="Токаев провел переговоры (обновлено)", h="h2", summary="новый лид")
    merged = dedup.merge_record(stored, edited)
    assert merged["title"].endswith("(обновлено)")
    assert merged["summary"] == "новый лид"
    assert merged["also_in"] == stored["also_in"]
    assert merged["rubrics"] == ["politics", "world"]
    assert merged["first_seen"] == "2026-11-24T04:11:00+00:00"
    assert merged["id"] == stored["id"]


def test_an_estimated_date_gives_way_to_a_real_one_but_not_the_reverse() -> None:
    stored = item(date_estimated=True, published="2026-11-24T12:00:00+00:00").to_record()
    merged = dedup.merge_record(stored, item(h="h2"))
    assert merged["published"] == "2026-11-24T04:10:00+00:00" and not merged["date_estimated"]
    real = item().to_record()
    kept = dedup.merge_record(
        real, item(h="h2", date_estimated=True, published="2026-11-25T00:00:00+00:00")
    )
    assert kept["published"] == real["published"]


# ---------------------------------------------------------------- identity over feed versions


def _store_version(data_dir: Any, body: str) -> tuple[int, int]:
    """One poll of a feed, through the real parse worker function, dedup and store."""
    from kzfeed import dedup as dedup_
    from kzfeed.model import FeedSpec
    from kzfeed.store import Store
    from kzfeed.update import parse_job

    spec = FeedSpec("wire", "https://x.kz/rss")
    parsed = parse_job(
        spec, body.encode(), (), "2026-11-24T09:00:00+00:00", "https://x.kz/rss", "UTC", {}
    )
    assert parsed.error is None
    with Store(data_dir).writer() as writer:
        return writer.apply(dedup_.plan(parsed.items, writer.view(), None))


def _version(stories: list[tuple[int, int]]) -> str:
    from .conftest import rss

    return rss(
        [
            {
                "title": f"История {k}, версия {v}",
                "link": f"https://x.kz/news/{k}",
                "guid": f"g{k}",
                "pubDate": f"Tue, 24 Nov 2026 0{k % 9}:00:00 +0000",
            }
            for k, v in stories
        ]
    )


def test_a_story_carried_twice_then_once_is_stored_once(tmp_path: Any) -> None:
    """The poll that said new: 1001 for 1,000 new items: A twice at two positions, then once."""
    assert _store_version(tmp_path, _version([(1, 0), (2, 0), (1, 0)])) == (2, 0)
    assert _store_version(tmp_path, _version([(1, 0), (2, 0)])) == (0, 0)
    assert _store_version(tmp_path, _version([(2, 0), (1, 0), (2, 0)])) == (0, 0)
    from kzfeed.store import Store

    assert len(Store(tmp_path).ids()) == 2


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 5), max_size=8),  # which stories, in what order, repeated
            st.dictionaries(st.integers(0, 5), st.integers(0, 2)),  # each one's title version
        ),
        min_size=1,
        max_size=5,
    )
)
def test_each_story_is_stored_once_and_edits_update_in_place(
    versions: list[tuple[list[int], dict[int, int]]],
) -> None:
    import tempfile
    from pathlib import Path

    from kzfeed.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        latest: dict[int, str] = {}
        for order, titles in versions:
            stories = [(k, titles.get(k, 0)) for k in order]
            _store_version(Path(tmp), _version(stories))
            for k, v in stories:
                latest[k] = f"История {k}, версия {v}"
            store = Store(Path(tmp))
            records = [store.get(i) or {} for i in store.ids()]
            by_guid: dict[str, list[str]] = {}
            for record in records:
                by_guid.setdefault(record["guid"], []).append(record["title"])
            assert by_guid == {f"g{k}": [title] for k, title in latest.items()}


def test_resolve_works_out_every_record_key_and_count_before_anything_is_written() -> None:
    """dedup decides completely: the store gets records, keys and counts to apply, and the
    only thing dedup reads is a stored record by id."""
    stored = {
        "s1": {**item(key="s1", link_key="ls1", h="old").to_record(), "read": True},
        "s2": item(feed="tengrinews", key="s2", link_key="ls2").to_record(),
    }
    reads: list[str] = []

    def get(item_id: str) -> dict[str, Any] | None:
        reads.append(item_id)
        return stored.get(item_id)

    keys = {"s1": "s1", "ls1": "s1", "s2": "s2", "ls2": "s2"}
    index = IndexView(keys, {"s1": "old", "s2": "h1"})
    batch = [
        item(key="n1", link_key="ln1"),  # new
        item(key="s1", link_key="ls1", h="new", title="Токаев провел переговоры (обновлено)"),
        item(key="k9", link_key="ls2"),  # another feed's copy of s2
        item(key="k9", link_key="ls2"),  # the same entry twice in the batch
    ]
    changes = dedup.resolve(dedup.plan(batch, index), keys, get)
    assert (changes.new, changes.updated) == (1, 1)  # a copy from another feed is no edit
    assert set(changes.records) == {"n1", "s1", "s2"}
    edited, before = changes.records["s1"]
    assert edited["title"].endswith("(обновлено)") and edited["read"] is True
    assert before is not None and before["hash"] == "old"
    merged, _ = changes.records["s2"]
    assert merged["also_in"] == [{"feed": "kazinform-ru", "url": "https://inform.kz/k9"}]
    assert changes.keys == {"n1": "n1", "ln1": "n1", "s1": "s1", "k9": "s2"}
    assert changes.seen == {"n1": "h1", "s1": "new", "k9": "h1"}
    assert sorted(reads) == ["s1", "s2"]
    assert stored["s1"]["title"] == "Токаев провел переговоры"  # nothing written back
