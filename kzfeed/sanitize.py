"""Cleaning untrusted text: control and bidi characters out, white space folded (pure).

HTML to plain text is :mod:`kzfeed.htmltext`, kept apart so that the commands that only
show stored text (`latest`, `feeds`) do not import html.parser.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls except TAB and LF, DEL, C1 controls (0x80-0x9f, e.g. 0x9b CSI),
# bidi embeddings/overrides/isolates and marks, the BOM and other invisible formatters
# that change how a terminal lays out the text.
# Also what XML cannot carry (surrogates, U+FFFE, U+FFFF): an export must stay well-formed.
UNSAFE_CHARS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ufeff\ufff9-\ufffb\ud800-\udfff\ufffe\uffff"
)
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
#: a run of white space (no newline): `clean_line` makes each one space
SPACE_RUNS = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def clean_text(value: str) -> str:
    """Remove terminal control and bidi characters; keep newlines and visible text."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", value)


def clean_tree(value: Any) -> Any:
    """``value`` (JSON-like data) with every string in it, keys too, passed through
    `clean_text`: the last word before any output of data a server or feed sent."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_tree(v) for v in value]
    return value


def clean_line(value: str) -> str:
    """One line of clean text: controls out, every run of white space made one space."""
    value = clean_text(value).replace("\n", " ")
    return SPACE_RUNS.sub(" ", value).strip()


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary to at most ``limit`` characters, adding an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-—") + "…"
