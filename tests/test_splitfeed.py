"""The byte-level split of a feed into its items (`splitfeed.py`): splitting and parsing the
pieces gives what parsing the whole gives (the update's use of it: tests/test_steady.py)."""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kzfeed.model import FeedSpec
from kzfeed.parse import parse_bytes
from kzfeed.splitfeed import rejoin, split
from kzfeed.update import parse_job

from .conftest import CORPUS, REPO

REAL = sorted(CORPUS.glob("*.xml"))  # the real Russian-language feeds (corpus/real)
EXAMPLES = sorted((REPO / "examples" / "feeds").glob("*.xml"))
FEEDPARSER_TESTS = REPO.parent / "shared" / "corpus" / "feedparser-tests"
FEEDPARSER = sorted(FEEDPARSER_TESTS.rglob("*.xml"))


def records(body: bytes) -> list[dict[str, object]]:
    spec = FeedSpec(name="f", url="https://example.kz/rss")
    parsed = parse_job(spec, body, (), "2026-11-24T12:00:00+00:00", spec.url, "Asia/Almaty", {})
    assert parsed.error is None, parsed.error
    return [dict(item.to_record(), first_seen="") for item in parsed.items]


@pytest.mark.parametrize("path", REAL + EXAMPLES, ids=lambda p: p.name)
def test_the_pieces_parse_as_the_whole(path: Path) -> None:
    body = path.read_bytes()
    parts = split(body)
    if parts is None:  # cp1251, KOI8-R without a declaration: parsed whole, always
        assert b"encoding" not in body[:100].lower() or b"utf-8" not in body[:100].lower()
        return
    assert (
        parts.head
        + b"".join(item + gap for item, gap in zip(parts.items, (*parts.gaps, b""), strict=True))
        + parts.tail
        == body
    )
    assert records(rejoin(parts, range(len(parts.items)))) == records(body)


def test_the_real_utf8_feeds_split() -> None:
    split_ones = [p.name for p in REAL + EXAMPLES if split(p.read_bytes()) is not None]
    assert len(split_ones) >= 10 and "unian_md5-guid_2020.xml" in split_ones


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_choice_of_items_parses_as_those_items_of_the_whole(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from([p for p in REAL + EXAMPLES if split(p.read_bytes())]))
    body = path.read_bytes()
    parts = split(body)
    assert parts is not None
    keep = data.draw(st.sets(st.integers(0, len(parts.items) - 1)))
    whole = records(rejoin(parts, range(len(parts.items))))
    chosen = records(rejoin(parts, keep))

    # identity keys are worked out over the batch (a GUID shared by two items is not
    # trusted): compare what the items say, not how they are keyed
    def said(found: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(r["title"], r["url"], r["summary"], r["published"]) for r in found]

    assert set(said(chosen)) <= set(said(whole))
    assert len(chosen) == len({n for n in keep}) or len(chosen) <= len(keep)


def test_bodies_that_must_be_parsed_whole_are_not_split() -> None:
    item = b"<item><title>t</title><link>https://x.kz/1</link></item>"
    rss = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
    assert split(rss + item + item + b"</channel></rss>") is not None
    assert split(rss.replace(b"utf-8", b"windows-1251") + item + b"</channel></rss>") is None
    assert (
        split(b'<!DOCTYPE rss [<!ENTITY e "x">]>' + rss[38:] + item + b"</channel></rss>") is None
    )
    assert split(rss + item + b"<!-- ad -->" + item + b"</channel></rss>") is None  # between
    assert split(rss + item + b"</channel>") is None  # cut short: not well-formed
    assert split(rss + b"</channel></rss>") is None  # no items
    assert (
        split("<rss><channel><item><title>Ё</title></item></channel></rss>".encode("cp1251"))
        is None
    )


@pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(), reason="../shared/corpus is not beside the repo")
def test_the_feedparser_suite_pieces_parse_as_the_whole() -> None:
    compared = 0
    for path in FEEDPARSER[::3]:
        body = path.read_bytes()
        parts = split(body)
        if parts is None:
            continue
        try:
            whole = parse_bytes(body, {})
        except Exception:  # refused whole: the pieces are refused too, by the same code
            continue
        pieces = parse_bytes(rejoin(parts, range(len(parts.items))), {})
        assert [(e.get("title"), e.get("link"), e.get("id")) for e in pieces.entries] == [
            (e.get("title"), e.get("link"), e.get("id")) for e in whole.entries
        ], path
        compared += 1
    assert compared > 100


CASES = [  # a body, and whether it splits
    (
        b'<?xml version="1.0"?><rss><channel><title>c</title><item><title>a</title></item>'
        b"<item><title>b</title></item></channel></rss>",
        True,
    ),
    (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>1</id></entry>'
        b"\n  <entry><id>2</id></entry></feed>",
        True,
    ),
    (b'<rdf:RDF xmlns:rdf="r"><channel/><item about="x"><title>a</title></item></rdf:RDF>', True),
    (b'<rss><channel><item a="&gt;>"/><item><title>b</title></item></channel></rss>', True),
    (
        b"<rss><channel><!-- <item> --><![CDATA[<item>]]><item><description><![CDATA[</item>"
        b"<entry>]]></description></item></channel></rss>",
        True,
    ),
    (
        b"<rss><channel><item><description><![CDATA[</item><item>]]></description></item>"
        b"<item>z</item></channel></rss>",
        True,
    ),
    (
        b"<rss><channel><x:item xmlns:x='u'><title>a</title></x:item><x:item xmlns:x='u'/>"
        b"</channel></rss>",
        True,
    ),
    (b"<rss><channel><a:b:item xmlns:a='u'>x</a:b:item><entry>y</entry></channel></rss>", True),
    (b"<rss><channel><?pi <item>?><item/>  <item/></channel></rss>", True),
    (b"<rss><channel><entryDate/><item/><item/></channel></rss>", True),
    (b"<rss><channel><foo><item/></foo><item/></channel></rss>", True),  # too deep: head
    (b"<rss><channel><item>x</item><item>y</item></channel><foo><item/></foo></rss>", False),
    (b"<rss><channel><item>x</item><foo/><item>y</item></channel></rss>", False),
    (b"<rss><channel><item><item/></item><item>y</item></channel></rss>", True),  # in it
    (b"<rss><channel><item><item>x</item></item><item>y</item></channel></rss>", True),
    (b"<rss><channel><item/><items/><item/></channel></rss>", False),  # something between
    (b"<a><b><c><item>x</item><item>y</item></c></b></a>", False),  # too deep
    (b"<item>x</item>", False),  # the root
]


def elements(body: bytes, spans: tuple[int, ...]) -> list[str] | None:
    """The local name of the one element each span holds (expat on the span alone), or None
    when a span is not one whole element."""
    names = []
    for first, stop in zip(spans[::2], spans[1::2], strict=True):
        found: list[str] = []
        parser = expat.ParserCreate()
        parser.StartElementHandler = lambda name, _attrs, found=found: found.append(name)
        try:
            parser.Parse(body[first:stop], True)
        except expat.ExpatError:
            return None
        names.append(found[0].rsplit(":", 1)[-1])
    return names


def spans_of(body: bytes) -> tuple[int, ...] | None:
    """Where the split puts each item (start, stop, start, stop …); the pieces checked to
    make up the body again."""
    parts = split(body)
    if parts is None:
        return None
    out, at = [], len(parts.head)
    for item, gap in zip(parts.items, (*parts.gaps, b""), strict=True):
        assert body[at : at + len(item)] == item and not gap.strip()
        out += [at, at + len(item)]
        at += len(item) + len(gap)
    assert body[at:] == parts.tail
    return tuple(out)


@pytest.mark.parametrize(("body", "splits"), CASES)
def test_each_piece_is_one_whole_item(body: bytes, splits: bool) -> None:
    """Comments, CDATA sections and processing instructions that hold item tags, prefixes,
    an attribute value with ">", empty items (<item/>: expat reports their end past the
    tag, and their bytes ran on into what followed — found by this test), an item inside
    an item (part of it), items too deep (part of the head or the tail) or with something
    between them."""
    spans = spans_of(body)
    assert (spans is not None) == splits, spans
    if spans is not None:
        assert set(elements(body, spans) or ["not one element"]) <= {"item", "entry"}
        parts = split(body)
        assert parts is not None
        whole = parse_bytes(body, {}).entries
        pieces = parse_bytes(rejoin(parts, range(len(parts.items))), {}).entries
        assert [dict(e) for e in pieces] == [dict(e) for e in whole]


@pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(), reason="../shared/corpus is not beside the repo")
def test_each_piece_of_every_corpus_feed_is_one_whole_item() -> None:
    pieces = 0
    for path in REAL + EXAMPLES + FEEDPARSER:
        body = path.read_bytes()
        spans = spans_of(body)
        if spans is not None:
            assert set(elements(body, spans) or ["not one element"]) <= {"item", "entry"}, path
            pieces += len(spans) // 2
    assert pieces > 1000
