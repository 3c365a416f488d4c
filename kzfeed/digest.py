"""Digests: the data (SPEC's JSON shape) and its writers (pure: data -> text).

Every string that came from a feed is escaped for the format it lands in, and only http(s)
links are ever emitted as links (`normalize.http_url`).  The digest's data is SPEC's JSON
shape; every other format is rendered from that same dict, so they always agree.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any
from xml.etree import ElementTree as ET

from . import rubrics
from .dates import from_iso, to_utc_iso
from .model import display_source, listing_order, public
from .normalize import http_url
from .query import Record, StoryLine, collapse, group_by_day, group_by_rubric
from .sanitize import clean_line, clean_text, clean_tree
from .words import count, tr

FORMATS = ("md", "html", "json", "txt", "atom")


def _words(lang: str) -> dict[str, str]:
    """The digest's own words, in the digest's language (from the catalogs)."""
    return {
        "digest": tr("Digest", lang),
        "also": tr("also in", lang),
        "period": tr("Period", lang),
        "generated": tr("Generated", lang),
        "none": tr("No items in this period.", lang),
        "by": tr("by rubric", lang),
        "since-last": tr("since the last digest, {when}", lang),
        "first": tr("first digest: the last 24 hours", lang),
        "top": tr("Top stories", lang),
    }


TOP_STORIES = 5  # at most, a day: the stories most agencies carried (two at least)


# ---------------------------------------------------------------------------- the data


def build_digest(
    records: Sequence[Record],
    *,
    tz: tzinfo,
    lang: str,
    generated: datetime,
    since: str | None,
    until: str | None,
    sources: Mapping[str, str],
    full: bool = False,
    basis: str | None = None,
    preferred: Sequence[str] = (),
) -> dict[str, Any]:
    """SPEC's digest object: groups by local date (newest first), then rubric (SPEC order),
    items newest first, each story once under its primary rubric — its lead version (the
    preferred agency's, else the earliest) with every other agency in ``also_in``.  Each
    day opens with ``top``: the stories most agencies carried that day (two at least).

    ``sources`` maps feed names to display titles, for ``also_in`` entries.
    """
    lines = collapse(records, preferred, sources)
    versions = {line.lead["id"]: line for line in lines}
    ordered = [line.lead for line in lines]
    ordered.sort(key=listing_order, reverse=True)
    groups = []
    counts: dict[str, int] = {}
    for day, day_records in group_by_day(ordered, tz):
        sections = []
        made: dict[str, dict[str, Any]] = {}
        for key, items in group_by_rubric(day_records):
            counts[key] = counts.get(key, 0) + len(items)
            shaped = [_item(r, tz, sources, full, versions.get(r["id"])) for r in items]
            made.update((item["id"], item) for item in shaped)
            sections.append({"rubric": key, "label": rubrics.label(key, lang), "items": shaped})
        carried = [(_agencies(versions[r["id"]]), r) for r in day_records if r["id"] in versions]
        top = sorted(
            ((n, r) for n, r in carried if n >= 2),
            key=lambda nr: (-nr[0], nr[1].get("published", "")),
        )[:TOP_STORIES]
        groups.append(
            {
                "date": day.isoformat(),
                "top": [made[r["id"]] for _n, r in top],
                "rubrics": sections,
            }
        )
    return {
        "generated": to_utc_iso(generated),
        "since": since,
        "until": until,
        "basis": basis,  # why this window: date | explicit | since-last | first
        "timezone": getattr(tz, "key", str(tz)),
        "language": lang,
        "count": len(ordered),
        "rubric_counts": [
            {"rubric": k, "label": rubrics.label(k, lang), "count": counts[k]}
            for k in sorted(counts, key=rubrics.sort_key)
        ],
        "groups": groups,
    }


def _agencies(line: StoryLine) -> int:
    """How many agencies carried a story: its sources by name, an agency's several feeds
    ("Kazinform", "Kazinform · Политика", "Kazinform (қаз)") counted once."""
    names = [display_source(line.lead), *line.sources]
    return len({re.split(r" · | \(", name, maxsplit=1)[0].strip().casefold() for name in names})


def _item(
    record: Record,
    tz: tzinfo,
    sources: Mapping[str, str],
    full: bool,
    story: StoryLine | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = clean_tree(public(record))  # also what an older kzfeed stored
    if full:  # the article text kept by `show --full`, else the feed's own longer text
        text = record.get("full_text") or record.get("text")
        if text:
            item["text"] = clean_text(str(text))
    item["url"] = http_url(item.get("url"))
    item["also_in"] = [
        {
            "feed": a.get("feed"),
            "url": http_url(a.get("url")),
            "source": sources.get(str(a.get("feed")), str(a.get("feed"))),
        }
        for a in record.get("also_in", [])
    ]
    for version in story.versions if story is not None else ():
        if version["id"] == record["id"]:
            continue
        for entry in (
            {"feed": version.get("feed"), "url": version.get("url")},
            *version.get("also_in", []),
        ):
            name = str(entry.get("feed"))
            if any(a["feed"] == name for a in item["also_in"]) or name == record.get("feed"):
                continue
            source = display_source(version) if name == version.get("feed") else name
            item["also_in"].append(
                {
                    "feed": name,
                    "url": http_url(entry.get("url")),
                    "source": clean_line(sources.get(name, source)),
                }
            )
    item["local_time"] = from_iso(record["published"]).astimezone(tz).strftime("%H:%M")
    return item


def _items(digest: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [i for g in digest["groups"] for s in g["rubrics"] for i in s["items"]]


def _period(digest: Mapping[str, Any], tz: tzinfo) -> str:
    def local(value: str | None) -> str:
        return from_iso(value).astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "…"

    period = f"{local(digest['since'])} – {local(digest['until'])}"
    basis = digest.get("basis")
    if basis in ("since-last", "first"):  # say why the window starts where it does
        since = from_iso(digest["since"]).astimezone(tz).strftime("%d.%m %H:%M")
        period += f" ({_words(digest['language'])[basis].format(when=since)})"
    return period


def _date_heading(day: str, lang: str) -> str:
    from datetime import date

    from .render import date_words

    return date_words(date.fromisoformat(day), lang)


def _paragraphs(item: Mapping[str, Any]) -> list[str]:
    """The item's full text (digest --full) as paragraphs; none without it."""
    return [p for p in (clean_line(x) for x in str(item.get("text") or "").split("\n\n")) if p]


def _also(item: Mapping[str, Any]) -> list[str]:
    return [clean_line(str(a.get("source") or a.get("feed"))) for a in item.get("also_in", [])]


# ---------------------------------------------------------------------------- json


def to_json(digest: Mapping[str, Any]) -> str:
    return json.dumps(digest, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------- markdown

# CommonMark lets any ASCII punctuation be backslash-escaped; Telegram's MarkdownV2 requires
# exactly these to be.  Escaping all of them keeps feed text literal in both, and in GitHub.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~=&])")


def md_escape(value: object) -> str:
    """A feed string as literal Markdown text: one line, every special character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean_line(str(value or "")))


def _md_url(url: str) -> str:
    """A URL for `[text](url)`: characters that could end or break the link percent-encoded."""
    return "".join(f"%{ord(c):02X}" if c in "()<>\\ `\"'[]" else c for c in url)


def to_markdown(digest: Mapping[str, Any], tz: tzinfo) -> str:
    lang = digest["language"]
    w = _words(lang)
    lines = [f"# {md_escape(w['digest'])} · {md_escape(_period(digest, tz))}", ""]
    lines.append(
        md_escape(
            f"{count(digest['count'], 'item', lang)}: "
            + ", ".join(f"{c['label']} {c['count']}" for c in digest["rubric_counts"])
        )
        if digest["count"]
        else md_escape(w["none"])
    )
    for group in digest["groups"]:
        lines += ["", f"## {md_escape(_date_heading(group['date'], lang))}"]
        sections = [(w["top"], group.get("top") or [], False)]
        sections += [(s["label"], s["items"], True) for s in group["rubrics"]]
        for heading, items, full in sections:
            if not items:
                continue
            lines += ["", f"### {md_escape(heading)} \\({len(items)}\\)", ""]
            for item in items:
                title = md_escape(item["title"])
                link = f"[{title}]({_md_url(item['url'])})" if item["url"] else title
                line = f"- {md_escape(item['local_time'])} · {md_escape(item['source'])} · {link}"
                also = _also(item)
                if also:
                    line += (
                        f" \\({md_escape(w['also'])}: {', '.join(md_escape(a) for a in also)}\\)"
                    )
                lines.append(line)
                for paragraph in _paragraphs(item) if full else ():
                    lines += ["", f"  {md_escape(paragraph)}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- html

_CSS = """
:root {
  color-scheme: light dark;
  --bg: #fff; --fg: #1b1f24; --muted: #5b6470; --line: #e3e6ea; --link: #0b57d0;
  --accent: #0e7c86;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111417; --fg: #e6e9ec; --muted: #9aa4ae; --line: #2a3036; --link: #8ab4f8;
    --accent: #5cc8d0;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
}
main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
header { border-bottom: 2px solid var(--accent); margin-bottom: 1rem; }
h1 { font-size: 1.4rem; margin: .2rem 0; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .4rem; color: var(--accent); }
h3 {
  font-size: 1rem; margin: 1rem 0 .3rem; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted);
}
.meta, .counts { color: var(--muted); font-size: .9rem; margin: .2rem 0; }
ul { list-style: none; padding: 0; margin: 0; }
li { padding: .45rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.time { font-variant-numeric: tabular-nums; color: var(--muted); margin-right: .4rem; }
.source { font-weight: 600; margin-right: .4rem; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
.lead { margin: .2rem 0 0; color: var(--muted); font-size: .92rem; }
.also { color: var(--muted); font-size: .85rem; }
.text p { margin: .4rem 0; }
"""
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _h(value: object) -> str:
    return html.escape(clean_line(str(value or "")), quote=True)


def to_html(digest: Mapping[str, Any], tz: tzinfo) -> str:
    lang = digest["language"]
    w = _words(lang)
    title = f"{w['digest']} · {_period(digest, tz)}"
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{_h(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_h(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        f"<header><h1>{_h(title)}</h1>",
    ]
    if digest["count"]:
        counts = ", ".join(f"{_h(c['label'])} {c['count']}" for c in digest["rubric_counts"])
        total = _h(count(digest["count"], "item", digest["language"]))
        out.append(f'<p class="counts">{total}: {counts}</p>')
    else:
        out.append(f'<p class="counts">{_h(w["none"])}</p>')
    out.append("</header>")
    for group in digest["groups"]:
        out.append(f"<section><h2>{_h(_date_heading(group['date'], lang))}</h2>")
        sections = [(w["top"], group.get("top") or [], False)]
        sections += [(s["label"], s["items"], True) for s in group["rubrics"]]
        for heading, items, full in sections:
            if not items:
                continue
            out.append(f"<h3>{_h(heading)} · {len(items)}</h3><ul>")
            for item in items:
                out.append(f"<li>{_html_item(item, w, full)}</li>")
            out.append("</ul>")
        out.append("</section>")
    out.append(f'<p class="meta">{_h(w["generated"])} {_h(digest["generated"])} · kzfeed</p>')
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def _html_item(item: Mapping[str, Any], w: Mapping[str, str], full: bool = True) -> str:
    from .sanitize import shorten

    head = f'<span class="time">{_h(item["local_time"])}</span>'
    head += f'<span class="source">{_h(item["source"])}</span>'
    if item["url"]:
        href = html.escape(item["url"], quote=True)
        head += f'<a href="{href}" rel="noopener noreferrer">{_h(item["title"])}</a>'
    else:
        head += _h(item["title"])
    also = ", ".join(_h(a) for a in _also(item))
    if also:
        head += f' <span class="also">({_h(w["also"])}: {also})</span>'
    if not full:  # a headline only (the top stories; the story follows in its rubric)
        return head
    paragraphs = _paragraphs(item)
    if paragraphs:
        head += '<div class="text">' + "".join(f"<p>{_h(p)}</p>" for p in paragraphs) + "</div>"
    elif item.get("summary"):
        head += f'<p class="lead">{_h(shorten(item["summary"], 280))}</p>'
    return head


# ---------------------------------------------------------------------------- plain text

WIDTH = 78


def to_text(digest: Mapping[str, Any], tz: tzinfo) -> str:
    """Plain text for an e-mail body: wrapped at 78 columns, each URL on its own line."""
    lang = digest["language"]
    w = _words(lang)
    title = f"{w['digest']} · {_period(digest, tz)}"
    lines = [title, "=" * min(len(title), WIDTH)]
    if digest["count"]:
        summary = f"{count(digest['count'], 'item', digest['language'])}: " + ", ".join(
            f"{c['label']} {c['count']}" for c in digest["rubric_counts"]
        )
        lines += textwrap.wrap(summary, WIDTH)
    else:
        lines.append(w["none"])
    for group in digest["groups"]:
        heading = _date_heading(group["date"], lang)
        lines += ["", heading, "-" * len(heading)]
        sections = [(w["top"], group.get("top") or [], False)]
        sections += [(s["label"], s["items"], True) for s in group["rubrics"]]
        for label, items, full in sections:
            if not items:
                continue
            lines += ["", f"{label.upper()} ({len(items)})", ""]
            for item in items:
                source, title = clean_line(item["source"]), clean_line(item["title"])
                text = f"{item['local_time']}  {source}: {title}"
                also = _also(item)
                if also:
                    text += f" ({w['also']}: {', '.join(also)})"
                lines += textwrap.wrap(
                    text,
                    WIDTH,
                    subsequent_indent="       ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                if item["url"]:
                    lines.append(f"       {item['url']}")
                for paragraph in _paragraphs(item) if full else ():
                    lines.append("")
                    lines += textwrap.wrap(
                        paragraph, WIDTH, initial_indent="       ", subsequent_indent="       "
                    )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- atom

ATOM = "http://www.w3.org/2005/Atom"


def feed_id(flt: Any, lang: str) -> str:
    """A stable Atom id for "this selection of the wire": the same filters give the same id
    every morning, whatever the window, so readers see one feed."""
    import hashlib

    key = json.dumps(
        [sorted(flt.rubrics), sorted(flt.feeds), flt.lang, flt.search, flt.unread, lang],
        ensure_ascii=False,
    )
    return f"urn:kzfeed:digest:{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def to_atom(digest: Mapping[str, Any], tz: tzinfo, feed_id: str) -> str:
    """An Atom 1.0 feed of the digest's stories, one entry each, rubrics as categories."""
    ET.register_namespace("", ATOM)
    lang = digest["language"]
    w = _words(lang)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        # every value, links and ids too, reduced to what XML 1.0 can carry
        clean = {key: _XML_BAD.sub("", value) for key, value in attrs.items()}
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", clean)
        if text is not None:
            element.text = _XML_BAD.sub("", text)
        return element

    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})
    sub(feed, "id", feed_id)
    sub(feed, "title", f"kzfeed · {w['digest']} · {_period(digest, tz)}")
    sub(feed, "updated", digest["generated"])
    author = sub(feed, "author")
    sub(author, "name", "kzfeed")
    sub(feed, "generator", "kzfeed")
    seen: set[str] = set()
    for item in _items(digest):
        if item["id"] in seen:
            continue
        seen.add(item["id"])
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:kzfeed:item:{item['id']}")
        sub(entry, "title", xml_text(item["title"]))
        if item["url"]:
            sub(entry, "link", rel="alternate", type="text/html", href=item["url"])
        for also in item.get("also_in", []):
            if also.get("url"):
                sub(entry, "link", rel="related", href=also["url"], title=xml_text(also["source"]))
        sub(entry, "published", item["published"])
        sub(entry, "updated", item["published"])
        entry_author = sub(entry, "author")
        sub(entry_author, "name", xml_text(item["source"]))
        for key in item.get("rubrics", []):
            sub(entry, "category", term=key, label=rubrics.label(key, lang))
        if item.get("summary"):
            sub(entry, "summary", xml_text(item["summary"]), type="text")
        if item.get("text"):
            sub(entry, "content", _xml_text_block(item["text"]), type="text")
    body = ET.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text_block(value: object) -> str:
    """Paragraphs for an Atom text construct: each cleaned, blank lines between."""
    paragraphs = (_XML_BAD.sub("", clean_line(p)) for p in str(value or "").split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry (ElementTree escapes markup but not invalid characters)."""
    return _XML_BAD.sub("", clean_line(str(value or "")))


# ---------------------------------------------------------------------------- templates


def render_template(source: str, name: str, digest: Mapping[str, Any]) -> str:
    """A user's Jinja2 template over the digest data (sandboxed; HTML/XML autoescaped)."""
    try:
        from jinja2.sandbox import SandboxedEnvironment
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        from .errors import KzfeedError

        raise KzfeedError(tr("--template needs Jinja2: pip install 'kzfeed[templates]'")) from exc
    markup = name.rsplit(".", 1)[-1].lower() in ("html", "htm", "xml", "atom")
    env = SandboxedEnvironment(autoescape=markup, keep_trailing_newline=True)
    env.filters["http_url"] = http_url
    return env.from_string(source).render(**digest, digest=digest)
