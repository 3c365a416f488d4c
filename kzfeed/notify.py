"""Sending alerts: a command of the user's (an argument list, never a shell) and Apprise URLs.

``settings.notify = ["notify-send", "kzfeed: {rule}", "{title}"]`` runs once per alerted
item, up to ``settings.notify_max`` a run, then once more with a summary of the rest.  In
each argument, ``{title} {url} {feed} {source} {rubric} {rule} {id}`` are replaced by the
alert's values — cleaned of control and bidi characters, newlines made spaces — in one
pass, so a title that itself says "{url}" stays as written.  Whatever a title holds
(``$(rm -rf ~)``, ``; reboot``, ``--option``), it reaches the program as the one argument
it was put in: no shell ever sees it.  ``settings.notify_urls`` sends the same through
Apprise (Telegram, ntfy, e-mail …) when the optional ``kzfeed[notify]`` is installed.

A failing notifier is reported (a line each) and never fails the update.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping, Sequence

from . import rubrics
from .config import Settings
from .rules import Alert
from .sanitize import clean_line
from .words import tr

PLACEHOLDER = re.compile(r"\{(title|url|feed|source|rubric|rule|id)\}")
TIMEOUT = 15.0


class Unrunnable(str):
    """A problem every message would meet (the program is missing or cannot be run): the
    rest are not tried.  Told apart by its type, not its words, which are translated."""


def values(alert: Alert, lang: str) -> dict[str, str]:
    """An alert's placeholder values, each one clean line."""
    raw = {
        "title": alert.title,
        "url": alert.url or "",
        "feed": alert.feed,
        "source": alert.source,
        "rubric": rubrics.label(alert.rubric, lang) if alert.rubric else "",
        "rule": alert.rule,
        "id": alert.id,
    }
    return {key: clean_line(value) for key, value in raw.items()}


def command(template: Sequence[str], filled: Mapping[str, str]) -> list[str]:
    """The argument list: each placeholder replaced inside its own argument."""
    return [PLACEHOLDER.sub(lambda m: filled[m.group(1)], arg) for arg in template]


def summary(rest: int, lang: str) -> dict[str, str]:
    """The values of the one message that stands for the alerts past ``notify_max``."""
    text = tr("and {n} more alerts: kzfeed alerts").format(n=rest)
    return {
        "title": text,
        "url": "",
        "feed": "",
        "source": "kzfeed",
        "rubric": "",
        "rule": "",
        "id": "",
    }


def send(
    settings: Settings,
    alerts: Sequence[Alert],
    *,
    run: Callable[[list[str]], str | None] | None = None,
) -> list[str]:
    """Send the alerts; the problems met, one line each.  ``run`` executes one argument
    list and returns a problem or None (a subprocess by default)."""
    if not alerts or not (settings.notify or settings.notify_urls):
        return []
    lang = settings.language
    limit = settings.notify_max
    messages = [values(alert, lang) for alert in alerts[:limit]]
    if len(alerts) > limit:
        messages.append(summary(len(alerts) - limit, lang))
    problems: list[str] = []
    if settings.notify:
        execute = run or _run
        for filled in messages:
            problem = execute(command(settings.notify, filled))
            if problem is not None:
                problems.append(problem)
                if isinstance(problem, Unrunnable):
                    break  # the same for every message
    if settings.notify_urls:
        problems.extend(_apprise(settings.notify_urls, messages))
    return problems


def _run(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(  # an argument list: no shell, whatever the text holds
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        return Unrunnable(tr("notify: {program} not found").format(program=argv[0]))
    except OSError as exc:
        return Unrunnable(
            tr("notify: cannot run {program}: {reason}").format(
                program=argv[0], reason=exc.strerror or exc
            )
        )
    except subprocess.TimeoutExpired:
        return tr("notify: {program} did not finish in {seconds} s").format(
            program=argv[0], seconds=f"{TIMEOUT:g}"
        )
    if done.returncode != 0:
        said = clean_line(done.stderr.decode("utf-8", "replace"))[:200]
        return tr("notify: {program} exited with {code}: {said}").format(
            program=argv[0], code=done.returncode, said=said
        )
    return None


def _apprise(urls: Sequence[str], messages: Sequence[Mapping[str, str]]) -> list[str]:
    try:
        import apprise  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return [tr("notify: settings.notify_urls needs Apprise: pip install 'kzfeed[notify]'")]
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            # the scheme only: the rest of an Apprise URL is often a token
            shown = url.split("://", 1)[0] + "://…" if "://" in url else "…"
            return [tr("notify: Apprise cannot use {url}").format(url=shown)]
    problems = []
    for filled in messages:
        body = " ".join(part for part in (filled["source"], filled["url"]) if part)
        if not sender.notify(title=filled["title"], body=body or filled["title"]):
            problems.append(
                tr("notify: Apprise could not send {title}").format(title=filled["title"])
            )
    return problems
