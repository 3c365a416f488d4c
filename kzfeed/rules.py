"""`[[rules]]`: what a rule does to an item, and which alerts a batch raises (pure).

A rule matches an item when its query (the search syntax, `search.py`) holds and the item
is in one of its feeds, rubrics and its language (each only when given).  Its actions:

    hide    muted: out of every list and digest unless --all
    read    marked read
    star    starred (`latest --starred`)
    tag     tagged ``tag`` (`latest --tag`)
    alert   listed at the end of `update`, by `kzfeed alerts`, and sent (`notify.py`)

An alert is raised once per story: a story already alerted (by any rule) raises none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config import Rule
from .model import StoredItem, carrying_feeds, display_source, primary_rubric, story_of
from .search import matches, parse


def applies(rule: Rule, record: Mapping[str, Any], titles: Mapping[str, str]) -> bool:
    """Whether ``rule`` matches a stored item."""
    if rule.feeds and not set(rule.feeds) & set(carrying_feeds(record)):
        return False
    if rule.rubrics and not set(rule.rubrics) & set(record.get("rubrics") or ()):
        return False
    if rule.lang and (record.get("lang") or "") != rule.lang:
        return False
    return not rule.query.strip() or matches(parse(rule.query), record, titles)


@dataclass(frozen=True)
class Effect:
    """What the rules do to one item: the fields to set, and the alerting rule (if any)."""

    fields: dict[str, Any]
    alert: str | None = None


def effect(
    record: StoredItem, rules: Sequence[Rule], titles: Mapping[str, str], *, fresh: bool
) -> Effect:
    """The rules' effect on an item.  ``fresh``: a new item (read and star are set, and an
    alert may be raised); otherwise (`rules apply`) hidden and tags are worked out again
    from the rules as they are now, read and star only ever added."""
    hidden = False
    tags: list[str] = []
    fields: dict[str, Any] = {}
    alert = None
    for rule in rules:
        if not applies(rule, record, titles):
            continue
        for action in rule.actions:
            if action == "hide":
                hidden = True
            elif action == "read":
                fields["read"] = True
            elif action == "star":
                fields["starred"] = True
            elif action == "tag" and rule.tag and rule.tag not in tags:
                tags.append(rule.tag)
            elif action == "alert" and alert is None and fresh:
                alert = rule.name
    if hidden or record.get("hidden"):
        fields["hidden"] = hidden
    if tags or record.get("tags"):
        fields["tags"] = tags
    changed = {k: v for k, v in fields.items() if record.get(k) != v}
    return Effect(changed, alert)


@dataclass(frozen=True)
class Alert:
    """One alerted item (SPEC-style JSON: `update --json` "alerts", `kzfeed alerts`)."""

    rule: str
    id: str
    title: str
    url: str | None
    feed: str
    source: str
    rubric: str
    story: str
    at: str  # ISO UTC, when it was raised
    published: str = ""  # ISO UTC, the item's

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "feed": self.feed,
            "source": self.source,
            "rubric": self.rubric,
            "story": self.story,
            "at": self.at,
            "published": self.published,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        def text(key: str) -> str:
            return str(data.get(key) or "")

        url = data.get("url")
        return cls(
            rule=text("rule"),
            id=text("id"),
            title=text("title"),
            url=str(url) if url else None,
            feed=text("feed"),
            source=text("source"),
            rubric=text("rubric"),
            story=text("story"),
            at=text("at"),
            published=text("published"),
        )


def alerts(
    raised: Iterable[tuple[StoredItem, str]],
    alerted_stories: set[str],
    at: str,
    preferred: Sequence[str] = (),
) -> list[Alert]:
    """The alerts of a batch, (item, rule) in order: one per story — its version from the
    first of the ``preferred`` feeds that has one, else its first — none for a story
    alerted before (``alerted_stories``, updated)."""
    rank = {name: i for i, name in enumerate(preferred)}
    listed = list(raised)
    first: dict[str, int] = {}
    for n, (record, _rule) in enumerate(listed):
        first.setdefault(story_of(record), n)
    listed.sort(
        key=lambda hit: (
            first[story_of(hit[0])],
            rank.get(hit[0]["feed"], len(rank)),
            hit[0]["published"],
        )
    )
    out = []
    for record, rule in listed:
        story = story_of(record)
        if story in alerted_stories:
            continue
        alerted_stories.add(story)
        out.append(
            Alert(
                rule=rule,
                id=record["id"],
                title=str(record.get("title") or ""),
                url=record.get("url"),
                feed=record["feed"],
                source=display_source(record),
                rubric=primary_rubric(record),
                story=story,
                at=at,
                published=record["published"],
            )
        )
    return out
