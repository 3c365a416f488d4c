"""A feed body split into its items at the byte level (pure: bytes in, byte ranges out).

On a live wire a feed changes by an item or two between polls; parsing the whole body again
costs what the feed costs, not what the news costs.  `split` finds where each item (RSS
`<item>`, Atom `<entry>`) begins and ends with expat, which only tracks element boundaries
here — feedparser stays the only thing that interprets a feed.  The update remembers a
fingerprint of the head (everything before the first item) and of each item's bytes, and
next time hands feedparser the head, only the items it has not seen in that form (new or
edited), and the tail, as one small document (`rejoin`).

`normalize` works an item's identity out over the whole feed (a GUID two items share is not
trusted, nor a link every item points to), so the update keeps, per item fingerprint, the
item's identity facts (hashed GUID, link, title) and hands those of the unchanged items to
`normalize` beside the new ones; when the new items would change how an unchanged one is
keyed (a GUID or link becomes shared, or stops being shared), the body is parsed whole.

A body is not split — it is parsed whole, as always — when the shortcut could change what
feedparser makes of it: not UTF-8 (a single-byte feed's decoding may depend on its whole
text), a DOCTYPE (entities may be used inside items), not well-formed, no items, anything
but white space between the items, or items at different depths.  A head that changed
(title, `xml:base`, namespaces) is detected by its fingerprint and parsed whole too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.parsers import expat

ITEMS = frozenset({"item", "entry"})
# a start tag, whose attribute values may hold ">" (never "<")
_START_TAG = re.compile(rb"""<[^\s/>]+(?:[^"'>]|"[^"]*"|'[^']*')*>""")
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", re.I)


@dataclass(frozen=True)
class Split:
    """A body as head + items + tail (the items' bytes, in order, white space between)."""

    head: bytes
    items: tuple[bytes, ...]
    gaps: tuple[bytes, ...]  # the white space after each item but the last
    tail: bytes

    def item_prints(self) -> tuple[str, ...]:
        return tuple(fingerprint(item) for item in self.items)


def fingerprint(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def split(body: bytes) -> Split | None:
    """The body's items, or None when it must be parsed whole (see the module's notes)."""
    start = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    declared = _DECLARED.match(body[start : start + 256])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    parser = expat.ParserCreate(encoding="ISO-8859-1")  # bytes in, offsets kept one to one
    depth = 0
    item_depth: int | None = None
    inside = False
    mixed = False
    spans: list[tuple[int, int]] = []
    doctype = False

    def begin(name: str, _attrs: object) -> None:
        nonlocal depth, item_depth, inside, mixed
        depth += 1
        if inside or name.rsplit(":", 1)[-1] not in ITEMS or depth not in (2, 3):
            return
        if item_depth is not None and depth != item_depth:
            mixed = True  # items at two depths: not a plain list
            return
        item_depth, inside = depth, True
        spans.append((start + parser.CurrentByteIndex, -1))

    def end(_name: str) -> None:
        nonlocal depth, inside
        if inside and depth == item_depth:
            opening = _START_TAG.match(body, spans[-1][0])
            if opening is None or not opening.group().endswith(b"/>"):
                # at its end tag, which has no attributes: its ">" is the first
                close = body.find(b">", start + parser.CurrentByteIndex)
                spans[-1] = (spans[-1][0], close + 1)
            else:  # an empty element, <item/>: expat reports its end past the tag, where
                # "</" may well begin the parent's end (found by a test: the item's bytes ran
                # on into what followed)
                spans[-1] = (spans[-1][0], opening.end())
            inside = False
        depth -= 1

    def saw_doctype(*_args: object) -> None:
        nonlocal doctype
        doctype = True

    parser.StartElementHandler = begin
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = saw_doctype
    try:
        parser.Parse(body[start:], True)
    except expat.ExpatError:
        return None
    if doctype or mixed or not spans or any(stop <= first for first, stop in spans):
        return None
    gaps = tuple(body[spans[n][1] : spans[n + 1][0]] for n in range(len(spans) - 1))
    if any(gap.strip() for gap in gaps):
        return None  # something between the items: parsed whole
    return Split(
        head=body[: spans[0][0]],
        items=tuple(body[first:stop] for first, stop in spans),
        gaps=gaps,
        tail=body[spans[-1][1] :],
    )


def rejoin(parts: Split, keep: Iterable[int]) -> bytes:
    """The head, the items numbered ``keep`` (in order), the tail: one document."""
    chosen = sorted(set(keep))
    return parts.head + b"\n".join(parts.items[n] for n in chosen) + parts.tail
