"""Sending alerts: a command of the user's (an argument list, never a shell) and Apprise URLs.

``settings.notify = ["notify-send", "kzfeed: {rule}", "{title}"]`` runs once per alerted
item, up to ``settings.notify_max`` a run, then once more with a summary of the rest.  In
each argument, ``{title} {url} {feed} {source} {rubric} {rule} {id}`` are replaced by the
alert's values — cleaned of control and bidi characters, newlines made spaces — in one
pass, so a title that itself says "{url}" stays as written.  Whatever a title holds
(``$(rm -rf ~)``, ``; reboot``, ``--option``), it reaches the program as the one argument
it was put in: no shell ever sees it.  ``settings.notify_urls`` sends the same through
Apprise (Telegram, ntfy, e-mail …) when the optional ``kzfeed[notify]`` is installed.

A failing notifier is reported (a line each) and never fails the update; what it did not
take is sent again by the next run (`outbox.py`).
"""

from __future__ import annotations

import errno
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

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


#: The ways an alert goes out: settings.notify (a command) and settings.notify_urls (Apprise)
COMMAND, APPRISE = "command", "apprise"


def channels(settings: Settings) -> tuple[str, ...]:
    """The ways alerts go out with these settings (none: alerts are only listed)."""
    ways = []
    if settings.notify:
        ways.append(COMMAND)
    if settings.notify_urls:
        ways.append(APPRISE)
    return tuple(ways)


@dataclass
class Sent:
    """What sending did: the problems met (one line each) and, per channel, whether each
    alert got through (past ``notify_max``: whether the summary standing for it did), or
    None when that channel cannot work as configured (a missing program, Apprise not
    installed, a URL it cannot use): sending again would meet the same problem."""

    problems: list[str] = field(default_factory=list)
    delivered: dict[str, list[bool] | None] = field(default_factory=dict)


def send(
    settings: Settings,
    alerts: Sequence[Alert],
    *,
    run: Callable[[list[str]], str | None] | None = None,
) -> list[str]:
    """Send the alerts every configured way; the problems met, one line each.  ``run``
    executes one argument list and returns a problem or None (a subprocess by default)."""
    return dispatch(settings, {way: alerts for way in channels(settings)}, run=run).problems


def dispatch(
    settings: Settings,
    alerts: Mapping[str, Sequence[Alert]],
    *,
    run: Callable[[list[str]], str | None] | None = None,
) -> Sent:
    """Send each channel its alerts (``alerts``: channel -> alerts); what got through."""
    sent = Sent()
    lang = settings.language
    limit = settings.notify_max
    for way, chosen in alerts.items():
        if not chosen or way not in channels(settings):
            continue
        messages = [values(alert, lang) for alert in chosen[:limit]]
        if len(chosen) > limit:
            messages.append(summary(len(chosen) - limit, lang))
        if way == COMMAND:
            ok = _commands(settings.notify, messages, run or _run, sent.problems)
        else:
            ok = _apprise(settings.notify_urls, messages, sent.problems)
        if ok is None:
            sent.delivered[way] = None
        else:  # the alerts past the limit went as the summary, the last message
            sent.delivered[way] = [ok[min(n, len(ok) - 1)] for n in range(len(chosen))]
    return sent


def _commands(
    template: Sequence[str],
    messages: Sequence[Mapping[str, str]],
    execute: Callable[[list[str]], str | None],
    problems: list[str],
) -> list[bool] | None:
    """Run the command once per message; whether each ran well (None: it cannot run)."""
    ok = []
    for filled in messages:
        problem = execute(command(template, filled))
        if problem is not None:
            problems.append(problem)
            if isinstance(problem, Unrunnable):
                return None  # the same for every message
        ok.append(problem is None)
    return ok


_NEVER_RUNS = frozenset(
    {errno.EACCES, errno.EPERM, errno.ENOEXEC, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}
    | {errno.ENAMETOOLONG}
)


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
        said = tr("notify: cannot run {program}: {reason}").format(
            program=argv[0], reason=exc.strerror or exc
        )
        # not a program, or not one kzfeed may run: the same for every message; anything
        # else (no memory or processes to spare, a message too long) may pass
        return Unrunnable(said) if exc.errno in _NEVER_RUNS else said
    except subprocess.TimeoutExpired:
        return tr("notify: {program} did not finish in {seconds} s").format(
            program=argv[0], seconds=f"{TIMEOUT:g}"
        )
    if done.returncode != 0:
        said = clean_line(done.stderr.decode("utf-8", "replace"))[:200]
        if not said:  # a program that says nothing: no dangling colon
            return tr("notify: {program} exited with {code}").format(
                program=argv[0], code=done.returncode
            )
        return tr("notify: {program} exited with {code}: {said}").format(
            program=argv[0], code=done.returncode, said=said
        )
    return None


def _apprise(
    urls: Sequence[str], messages: Sequence[Mapping[str, str]], problems: list[str]
) -> list[bool] | None:
    """Send each message through Apprise; whether each got through (None: it cannot)."""
    try:
        import apprise  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        problems.append(
            tr("notify: settings.notify_urls needs Apprise: pip install 'kzfeed[notify]'")
        )
        return None
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            # the scheme only: the rest of an Apprise URL is often a token
            shown = url.split("://", 1)[0] + "://…" if "://" in url else "…"
            problems.append(tr("notify: Apprise cannot use {url}").format(url=shown))
            return None
    ok = []
    for filled in messages:
        body = " ".join(part for part in (filled["source"], filled["url"]) if part)
        ok.append(bool(sender.notify(title=filled["title"], body=body or filled["title"])))
        if not ok[-1]:
            problems.append(
                tr("notify: Apprise could not send {title}").format(title=filled["title"])
            )
    return ok
