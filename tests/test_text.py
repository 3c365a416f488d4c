from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kzfeed.htmltext import html_to_text
from kzfeed.sanitize import clean_line, clean_text, shorten

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def test_clean_text_removes_escape_sequences_and_bidi_but_keeps_the_letters() -> None:
    hostile = (
        "\x1b[31mКрасный\x1b[0m \x9b2J \u202eevil\u202c \u2066iso\u2069 \x1b]52;c;SGVsbG8=\x07"
    )
    cleaned = clean_text(hostile)
    assert not UNSAFE.search(cleaned)
    assert "Красный" in cleaned and "evil" in cleaned and "iso" in cleaned
    # the visible remains of the sequence are shown literally, not interpreted
    assert "[31m" in cleaned


def test_clean_line_folds_whitespace_and_newlines() -> None:
    assert clean_line("  Токаев\n провел\t\u00a0переговоры  ") == "Токаев провел переговоры"


@given(st.text())
def test_clean_text_never_leaves_a_control_or_bidi_character(value: str) -> None:
    assert not UNSAFE.search(clean_text(value))
    assert not UNSAFE.search(clean_line(value))


@given(st.text())
def test_html_to_text_never_leaves_a_control_character(value: str) -> None:
    assert not UNSAFE.search(html_to_text(value))


def test_html_to_text_keeps_paragraphs_lists_and_drops_markup() -> None:
    markup = (
        "<p>АСТАНА. KAZINFORM – Первый абзац.</p><p>Второй <b>абзац</b> &amp; ещё.</p>"
        "<ul><li>один</li><li>два</li></ul><script>alert(1)</script><style>p{}</style>"
    )
    text = html_to_text(markup)
    assert text.split("\n\n") == [
        "АСТАНА. KAZINFORM – Первый абзац.",
        "Второй абзац & ещё.",
        "• один",
        "• два",
    ]
    assert "alert" not in text and "<" not in text


def test_html_to_text_unwraps_double_escaped_html() -> None:
    # ukranews' yandex:full-text: entity-escaped HTML inside CDATA
    assert html_to_text("&lt;p&gt;Первый&lt;/p&gt;&lt;p&gt;Второй&lt;/p&gt;") == "Первый\n\nВторой"


def test_shorten_cuts_at_a_word_boundary() -> None:
    text = "Глава государства провел переговоры с президентом"
    short = shorten(text, 30)
    assert len(short) <= 30 and short.endswith("…")
    assert text.startswith(short[:-1])
    assert shorten("коротко", 30) == "коротко"


SIMPLE_TAGS = st.sampled_from(
    ["p", "P", "div", "br", "BR", "li", "ul", "ol", "h2", "b", "i", "em", "strong", "span"]
)
SIMPLE_TOKENS = st.one_of(
    st.builds(lambda t, sp: f"<{t}{sp}>", SIMPLE_TAGS, st.sampled_from(["", " ", "\n"])),
    st.builds(lambda t, sp: f"</{t}{sp}>", SIMPLE_TAGS, st.sampled_from(["", " "])),
    st.builds(lambda t, sp: f"<{t}{sp}/>", SIMPLE_TAGS, st.sampled_from(["", " "])),
    st.text(max_size=12).filter(lambda t: "<" not in t),
    st.sampled_from(
        ["&amp;", "&lt;p&gt;", "&#171;", "&nbsp;", "&", "&amp", "\ue000", "\u202e", "Қазақ", "ё"]
    ),
)


@given(st.lists(SIMPLE_TOKENS, max_size=14), st.booleans())
@settings(max_examples=800)
def test_simple_markup_shortcut_agrees_with_the_parser(tokens: list[str], links: bool) -> None:
    """Paragraph/list/emphasis markup skips html.parser; the text must be the parser's."""
    from kzfeed.htmltext import _extract, _parsed, _simple_parts

    markup = "".join(tokens)
    assert _simple_parts(markup) is not None
    assert _extract(markup, links) == _parsed(markup, links)
