"""The full story: an article page -> its main text, without the site's chrome.

Pages shaped like the agencies' own (Kazinform's ``article__description`` and
``article__body-text``, Nur's ``formatted-body__paragraph``, 24.kz's ``entry__article``,
Kazpravda's and Zakon's article bodies) are read by their markup: the lead, then the body's
paragraphs.  Any other page goes to trafilatura.  Either way, paragraphs that are site
furniture ("Версия для печати", "Последние новости" lists, copyright lines) are dropped.  The
result is plain, cleaned text: untrusted like any feed text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import KzfeedError
from .htmlsource import decode_html
from .sanitize import clean_line
from .words import tr

# Lines that are site chrome on Kazinform and the other agencies' article pages.
_CHROME = re.compile(
    r"^(?:ИП\s+«?KZinform»?|Версия для печати|Последние (?:новости|интервью)|Читайте также|"
    r"Подписывайтесь|Поделиться|Нашли ошибку|Соңғы жаңалықтар|Басып шығару|Latest news|"
    r"Print version|Share|©|Все права защищены|Мнение редакции)",
    re.I,
)


def is_chrome(paragraph: str) -> bool:
    text = paragraph.strip()
    return (
        bool(_CHROME.match(text)) or "Все права защищены" in text or "All rights reserved" in text
    )


#: (lead, body) selectors of the agencies' article pages (../shared/sites, 2025-26); the
#: first whose body holds text wins.  A body's paragraphs are its <p>s, else its own text.
ARTICLE_SHAPES: tuple[tuple[str, str], ...] = (
    ("div.article__description", "div.article__body-text"),  # Kazinform (high)
    ("", ".formatted-body__paragraph"),  # Nur.kz: one element a paragraph (medium)
    ("", "div.entry__article"),  # 24.kz (high)
    ("div.article__lead", "div.article__body"),  # Kazpravda (medium)
    (".content__lead, .article__lead", ".content__text, .article__text"),  # Zakon (low)
)


def site_text(html: str) -> str | None:
    """The lead and body of a page shaped like an agency's article, or None."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for lead_selector, body_selector in ARTICLE_SHAPES:
        bodies = tree.css(body_selector)
        paragraphs: list[str] = []
        for body in bodies:
            for node in body.css("script, style, figure, aside, .share, .tags"):
                node.decompose()
            inner = body.css("p, h2, h3, li, blockquote") or [body]
            paragraphs.extend(clean_line(p.text(separator=" ")) for p in inner)
        paragraphs = [p for p in paragraphs if p and not is_chrome(p)]
        if not paragraphs:
            continue
        lead = tree.css_first(lead_selector) if lead_selector else None
        lead_text = clean_line(lead.text(separator=" ")) if lead is not None else ""
        if lead_text and lead_text not in paragraphs:
            paragraphs.insert(0, lead_text)
        return "\n\n".join(paragraphs)
    return None


def extract_text(body: bytes, headers: Mapping[str, str], url: str) -> str:
    """The main text of an article page as paragraphs separated by blank lines."""
    html = decode_html(body, headers)
    shaped = site_text(html)
    if shaped:
        return shaped
    import trafilatura

    extracted = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        favor_precision=True,
        deduplicate=True,
    )
    if not extracted:
        raise KzfeedError(tr("no article text found at {url}").format(url=url))
    paragraphs = []
    for line in extracted.split("\n"):
        text = clean_line(line)
        if text and not is_chrome(text):
            paragraphs.append(text)
    if not paragraphs:
        raise KzfeedError(tr("no article text found at {url}").format(url=url))
    return "\n\n".join(paragraphs)
