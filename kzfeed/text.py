"""Cleaning untrusted text: control and bidi characters out, HTML to plain text (pure)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# C0 controls except TAB and LF, DEL, C1 controls (0x80-0x9f, e.g. 0x9b CSI),
# bidi embeddings/overrides/isolates and marks, the BOM and other invisible formatters
# that change how a terminal lays out the text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ufeff\ufff9-\ufffb]"
)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean_text(value: str) -> str:
    """Remove terminal control and bidi characters; keep newlines and visible text."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", value)


def clean_line(value: str) -> str:
    """One line of clean text: controls out, every run of white space made one space."""
    value = clean_text(value).replace("\n", " ")
    return _SPACES.sub(" ", value).strip()


_BLOCK = frozenset(
    "p div section article header footer h1 h2 h3 h4 h5 h6 ul ol table tr "
    "blockquote pre figure figcaption dl dt dd hr address aside".split()
)
_SKIP = frozenset("script style head title noscript template iframe object svg math".split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n\n• ")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK or tag == "li":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


_LOOKS_LIKE_HTML = re.compile(r"<(?:p|br|div|a|b|i|strong|em|img|span|ul|li)\b[^>]*>|</\w+>", re.I)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: paragraphs kept as blank-line-separated blocks.

    Feeds that escape their HTML twice (``&lt;p&gt;`` inside CDATA) are unwrapped once more.
    The result never contains markup: only text, cleaned of control characters.
    """
    text = _extract(markup)
    if _LOOKS_LIKE_HTML.search(text):
        text = _extract(text)
    return text


def _extract(markup: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; never let odd markup kill an item
        return clean_line(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    raw = clean_text("".join(parser.parts))
    paragraphs = []
    for block in re.split(r"\n\s*\n", raw):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary to at most ``limit`` characters, adding an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-—") + "…"
