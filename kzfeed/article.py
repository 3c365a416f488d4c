"""The full story: an article page -> its main text, without the site's chrome.

The text is extracted with trafilatura (the optional extra ``kzfeed[full]``), then paragraphs
that are site furniture on the agencies' pages ("Версия для печати", "Последние новости" lists,
copyright lines) are dropped.  The result is plain, cleaned text: untrusted like any feed text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import KzfeedError
from .htmlsource import decode_html
from .text import clean_line

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


def extract_text(body: bytes, headers: Mapping[str, str], url: str) -> str:
    """The main text of an article page as paragraphs separated by blank lines."""
    try:
        import trafilatura
    except ImportError as exc:
        raise KzfeedError(
            "show --full needs the article extractor: pip install 'kzfeed[full]'"
        ) from exc
    html = decode_html(body, headers)
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
        raise KzfeedError(f"no article text found at {url}")
    paragraphs = []
    for line in extracted.split("\n"):
        text = clean_line(line)
        if text and not is_chrome(text):
            paragraphs.append(text)
    if not paragraphs:
        raise KzfeedError(f"no article text found at {url}")
    return "\n\n".join(paragraphs)
