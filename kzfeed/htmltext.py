"""HTML to plain text, for feed and page markup that is hostile (pure)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from .sanitize import SPACE_RUNS, clean_line, clean_text

_BLOCK = frozenset(
    "p div section article header footer h1 h2 h3 h4 h5 h6 ul ol table tr "
    "blockquote pre figure figcaption dl dt dd hr address aside".split()
)
_SKIP = frozenset("script style head title noscript template iframe object svg math".split())


_QUOTE_OPEN, _QUOTE_CLOSE = "\ue000", "\ue001"  # private-use marks, removed from feed text


def _opening(tag: str, empty: bool) -> str:
    """What an opening tag (``empty``: a self-closing one) puts in the text."""
    if tag == "br":
        return "\n"
    if tag == "li":
        return "" if empty else "\n\n• "
    return "\n\n" if tag in _BLOCK else ""


def _closing(tag: str) -> str:
    return "\n\n" if tag in _BLOCK or tag == "li" else ""


class _TextExtractor(HTMLParser):
    def __init__(self, links: bool, base: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.links = links
        self.base = base
        self.anchors: list[tuple[str | None, int]] = []  # (href, index of first text part)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "blockquote" and self.links:
            self.parts.append(f"\n\n{_QUOTE_OPEN}")
        elif tag == "a" and self.links:
            self.anchors.append((dict(attrs).get("href"), len(self.parts)))
        elif text := _opening(tag, empty=False):
            self.parts.append(text)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if text := _opening(tag, empty=True):
            self.parts.append(text)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote" and self.links:
            self.parts.append(f"{_QUOTE_CLOSE}\n\n")
        elif tag == "a" and self.anchors:
            href, first = self.anchors.pop()
            url = _http_link(href, self.base)
            label = clean_line("".join(self.parts[first:]))
            if url and label and url.rstrip("/") != label.rstrip("/"):
                self.parts.append(f" ({url})")
        elif text := _closing(tag):
            self.parts.append(text)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(_data(data))


def _http_link(href: str | None, base: str | None) -> str | None:
    from urllib.parse import urljoin, urlsplit

    if not href:
        return None
    try:
        url = urljoin(base or "", clean_line(href))
        if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
            return None
    except ValueError:
        return None
    return url


# Every pattern here runs in linear time on hostile text: a tag's body is ``[^<>]*`` (it ends
# at the next "<"), never ``[^>]*`` (which, for each of 40,000 unclosed "<p ", scans to the end).
_LOOKS_LIKE_HTML = re.compile(r"<(?:p|br|div|a|b|i|strong|em|img|span|ul|li)\b[^<>]*>|</\w+>", re.I)

# How much markup one field may feed the HTML parser: the kept text is cut at 60,000
# characters anyway (normalize.TEXT_LIMIT), and markup is rarely more than 4x its text.
MARKUP_LIMIT = 256 * 1024

# A "<" that opens no tag: html.parser re-scans the rest of the document from each such "<"
# (120 KB of "&lt;a " took 86 s); escaped, it is the same text, read once.  A tag closes at
# the first ">" before the next "<", or, when an attribute value holds a "<" (alt="x<y",
# onclick="if(a<b)…"), past quoted values: at most 8 pieces and 200 characters a value are
# looked at, so each "<" costs a bounded scan.
_UNCLOSED_LT = re.compile(r"<(?![^<>]*>)(?!(?>[^<>\"']+|\"[^\"]{0,200}\"|'[^']{0,200}'){1,8}>)")
# Comments and marked sections, closed as html.parser closes them.  One that never closes
# is escaped: html.parser would search the rest of the document for its end from each one.
_SECTION_OPEN = re.compile(r"<!--|<!\[")
_COMMENT_CLOSE = re.compile(r"--!?\s*>")
_CDATA_CLOSE = re.compile(r"\]\s*\]\s*>")
_MS_CLOSE = re.compile(r"\]\s*>")
_CDATA_LIKE = re.compile(r"<!\[\s*(?:cdata|temp|ignore|include|rcdata)", re.I)


def defuse(markup: str) -> str:
    """``markup`` with every "<" that cannot start a complete tag, comment or marked section
    escaped as "&lt;", so html.parser reads it in linear time and shows it as text, as it
    would have.  At most ``MARKUP_LIMIT`` characters are kept."""
    if len(markup) > MARKUP_LIMIT:
        markup = markup[:MARKUP_LIMIT]
    parts: list[str] = []
    pos = 0
    unclosed: set[str] = set()  # closers known to be absent from the rest of the text
    while True:
        opening = _SECTION_OPEN.search(markup, pos)
        if opening is None:
            parts.append(_UNCLOSED_LT.sub("&lt;", markup[pos:]))
            return "".join(parts)
        start = opening.start()
        if opening.group(0) == "<!--":
            kind, closer = "comment", _COMMENT_CLOSE
        elif _CDATA_LIKE.match(markup, start):
            kind, closer = "cdata", _CDATA_CLOSE
        else:
            kind, closer = "ms", _MS_CLOSE
        close = None if kind in unclosed else closer.search(markup, opening.end())
        parts.append(_UNCLOSED_LT.sub("&lt;", markup[pos:start]))
        if close is None:
            unclosed.add(kind)
            parts.append("&lt;" + opening.group(0)[1:])
            pos = opening.end()
        else:
            parts.append(markup[start : close.end()])
            pos = close.end()


def html_to_text(markup: str, *, links: bool = False, base: str | None = None) -> str:
    """Plain text of an HTML fragment: paragraphs kept as blank-line-separated blocks, list
    items as "• " lines.

    With ``links``, the reading form for `show`: links become "text (http(s) URL)" (other
    schemes are dropped), block quotes become lines starting with "│ ".  Feeds that escape
    their HTML twice (``&lt;p&gt;`` inside CDATA) are unwrapped once more.  The result never
    contains markup: only text, cleaned of control characters.  At most ``MARKUP_LIMIT``
    characters of ``markup`` are read.
    """
    if len(markup) > MARKUP_LIMIT:
        markup = markup[:MARKUP_LIMIT]
    if "<" not in markup and "&" not in markup:  # plain text already: no parser needed
        return _paragraphs(clean_text(markup))
    text = _extract(markup, links, base)
    if _LOOKS_LIKE_HTML.search(text):
        text = _extract(text, links, base)
    return text


# The markup most agency descriptions carry: paragraphs, line breaks, lists and inline
# emphasis, without attributes.  Such a fragment is turned into text by a regular expression,
# exactly as `_TextExtractor` would turn it (a property test holds the two together), at a
# fraction of html.parser's cost; anything else (links, quotes, attributes, comments, a stray
# "<") takes the parser.
_SIMPLE_TAG = re.compile(
    r"<(?:(/)(p|div|br|li|ul|ol|h[1-6]|b|i|u|s|em|strong|span|small|sub|sup)\s*"
    r"|(p|div|br|li|ul|ol|h[1-6]|b|i|u|s|em|strong|span|small|sub|sup)\s*(/?))>",
    re.I,
)


def _simple_parts(markup: str) -> list[str] | None:
    parts: list[str] = []
    pos = 0
    for match in _SIMPLE_TAG.finditer(markup):
        data = markup[pos : match.start()]
        if "<" in data:
            return None
        if data:
            parts.append(_data(html.unescape(data)))
        closing, opening = match.group(2), match.group(3)
        if closing is not None:
            parts.append(_closing(closing.lower()))
        else:
            parts.append(_opening(opening.lower(), empty=bool(match.group(4))))
        pos = match.end()
    data = markup[pos:]
    if "<" in data:
        return None
    if data:
        parts.append(_data(html.unescape(data)))
    return parts


def _data(text: str) -> str:
    return text.replace(_QUOTE_OPEN, "").replace(_QUOTE_CLOSE, "")


def _extract(markup: str, links: bool = False, base: str | None = None) -> str:
    simple = _simple_parts(markup)
    if simple is not None:
        return _paragraphs(clean_text("".join(simple)))
    return _parsed(markup, links, base)


def _parsed(markup: str, links: bool = False, base: str | None = None) -> str:
    parser = _TextExtractor(links, base)
    markup = defuse(markup)
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; never let odd markup kill an item
        return clean_line(html.unescape(re.sub(r"<[^<>]*>", " ", markup)))
    return _paragraphs(clean_text("".join(parser.parts)))


def _paragraphs(raw: str) -> str:
    """Blank-line separated blocks, white space folded, block quote marks turned into "│ "."""
    paragraphs = []
    depth = 0
    for block in re.split(r"\n\s*\n", raw):
        opens, closes = block.count(_QUOTE_OPEN), block.count(_QUOTE_CLOSE)
        block = block.replace(_QUOTE_OPEN, "").replace(_QUOTE_CLOSE, "")
        quoted = depth + opens > 0
        depth = max(0, depth + opens - closes)
        lines = [SPACE_RUNS.sub(" ", line).strip() for line in block.split("\n")]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append("\n".join(f"│ {line}" if quoted else line for line in lines))
    return "\n\n".join(paragraphs)
