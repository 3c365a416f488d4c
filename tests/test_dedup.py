"""Identity decisions on plain data (no I/O)."""

from __future__ import annotations

from dataclasses import replace

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
