"""The built-in selectors of HTML list sources, by preset (pure data).

Kept apart from :mod:`kzfeed.htmlsource` so that reading the config, which checks a
source's preset name, does not import the HTML parser and the date parsers.
"""

from __future__ import annotations

#: Built-in selectors, by preset name, written against what public material says the
#: agencies' list pages look like (../shared/sites/README.md, checked 2025-2026).  Each key is
#: a list of alternatives, the first that gives something wins; "sel@attr" reads an
#: attribute, "@attr" the block's own.  When a site changes its markup, override any key
#: under [feeds.select]; when they all match nothing, kzfeed finds the list itself.
PRESETS: dict[str, dict[str, str]] = {
    # www.inform.kz/lenta/ (ru) and en.inform.kz/lenta/: 2025 cards (high confidence), and
    # the 2026 "news-card" variant one source shows (low)
    "kazinform": {
        "item": "div.allNewsCard, a.news-card",
        "title": ".allNewsCard_title, .allNewsCard__title, .card-title",
        "link": "a@href, @href",
        "date": "time@datetime, .allNewsCard_time, time.meta-date",
    },
    # www.zakon.kz/news/ (medium): "Сегодня, 13:51", "13:51, 15 августа 2025"; older cards
    # carry time[datetime]
    "zakon": {
        "item": ".newscard, a.newscard_link, .zmainCard_item",
        "title": ".newscard__title, .zmainCard_title, .newscard_title",
        "link": "a.newscard_link@href, a@href, @href",
        "date": ".newscard__date, time@datetime, .zmainCard_date",
    },
    # informburo.kz/novosti (medium-high): day headings between time-only items
    "informburo": {
        "item": "ul.uk-nav.uk-nav-default > li",
        "title": ".uk-width-expand > a",
        "link": ".uk-width-expand > a@href",
        "date": "time.article-time@datetime, time.article-time",
        "day": "h2.date-heading",
    },
    # 24.kz/ru/news (high)
    "24kz": {
        "item": ".itemsContainerWrap > .entry-content",
        "title": "h3 > a",
        "link": "h3 > a@href",
        "date": "time@datetime, time",
    },
    # vlast.kz/novosti (medium-high)
    "vlast": {
        "item": ".news-inline-item",
        "title": "a > b",
        "link": "a@href",
        "date": "time@datetime, time",
    },
    # kazpravda.kz front page (medium): a time alone, the day in .news-feed__body__date
    "kazpravda": {
        "item": ".news-feed__item",
        "title": ".news-feed__title",
        "link": ".news-feed__title a@href, a@href",
        "date": "time@datetime, time, .news-feed__time",
        "day": ".news-feed__body__date",
    },
}

#: The sites each preset is for (a host or its subdomains), to suggest one to `kzfeed add`.
PRESET_SITES = {
    "kazinform": "inform.kz",
    "zakon": "zakon.kz",
    "informburo": "informburo.kz",
    "24kz": "24.kz",
    "vlast": "vlast.kz",
    "kazpravda": "kazpravda.kz",
}


def preset_for(url: str) -> str | None:
    """The preset written for the site of ``url``, if there is one."""
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    for name, site in PRESET_SITES.items():
        if host == site or host.endswith("." + site):
            return name
    return None
