"""Config: where it lives, reading and validating it, and comment-preserving edits."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import rubrics
from .errors import ConfigError, ConfigNotFound
from .model import FeedSpec
from .presets import PRESETS as _html_presets
from .words import tr

APP = "kzfeed"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FEED_TYPES = ("feed", "html")
PRESETS = tuple(_html_presets)
SELECT_KEYS = ("item", "title", "link", "date", "lead", "rubric", "day")


@dataclass(frozen=True)
class Settings:
    timezone: str = "Asia/Almaty"
    language: str = "ru"
    jobs: int = 8
    per_host: int = 2
    timeout: float = 20.0
    retention_days: int = 180
    data_dir: Path | None = None
    lock_timeout: float = 60.0
    max_feed_bytes: int = 16 * 1024 * 1024
    mark_read_on_show: bool = True
    mark_read_on_list: bool = False
    pager: bool = True
    allow_private: bool = False
    max_feed_items: int = 10_000
    parse_timeout: float = 30.0
    stories: bool = False  # `latest` shows one line per story (--stories / --items)
    parse_changed_only: bool = True  # a changed feed: only its new or edited items parsed
    preferred_feeds: tuple[str, ...] = ()  # whose version leads a story's line
    notify: tuple[str, ...] = ()  # an argument list run for each alert (never a shell)
    notify_max: int = 10  # alerts sent one by one a run; the rest in one summary
    notify_urls: tuple[str, ...] = ()  # Apprise URLs (kzfeed[notify])


RULE_ACTIONS = ("hide", "read", "star", "tag", "alert")


@dataclass(frozen=True)
class Rule:
    """A `[[rules]]` entry: items matching ``query`` (and the optional feeds, rubrics,
    language) get ``actions``."""

    name: str
    query: str
    actions: tuple[str, ...]
    feeds: tuple[str, ...] = ()
    rubrics: tuple[str, ...] = ()
    lang: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings = field(default_factory=Settings)
    aliases: dict[str, str] = field(default_factory=dict)  # folded raw -> key
    feeds: tuple[FeedSpec, ...] = ()
    rules: tuple[Rule, ...] = ()

    def feed(self, name: str) -> FeedSpec | None:
        return next((f for f in self.feeds if f.name == name), None)

    @property
    def data_dir(self) -> Path:
        return resolve_data_dir(self.settings.data_dir)


def user_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--config PATH` > `$KZFEED_CONFIG` > the platform's user config dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("KZFEED_CONFIG")
    if env:
        return Path(env).expanduser()
    return user_config_path()


def resolve_data_dir(configured: Path | None) -> Path:
    """`settings.data_dir` > `$KZFEED_DATA` > the platform's user data dir."""
    if configured is not None:
        return configured
    env = os.environ.get("KZFEED_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def example_text() -> str:
    from importlib import resources  # only `init` needs it: keep it off the start-up path

    return resources.files("kzfeed").joinpath("config.example.toml").read_text("utf-8")


def init_config(path: Path) -> Path:
    """Write the commented starter config; refuse to overwrite anything."""
    if path.exists():
        raise ConfigError(
            tr("{path}: already exists; kzfeed init never overwrites a config").format(path=path)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(example_text())
    return path


def load_config(path: Path) -> Config:
    if not path.exists():
        raise ConfigNotFound(
            tr(
                "no config file at {path}; create one with `kzfeed init` "
                "(or pass --config PATH / set KZFEED_CONFIG)"
            ).format(path=path)
        )
    try:
        raw = path.read_bytes().decode("utf-8")
        data = tomllib.loads(raw)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            tr("{path}: not UTF-8 text ({reason} at byte {position})").format(
                path=path, reason=exc.reason, position=exc.start
            )
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            tr("{path}: not valid TOML: {reason}").format(path=path, reason=exc)
        ) from exc
    except OSError as exc:
        raise ConfigError(
            tr("{path}: cannot read: {reason}").format(path=path, reason=exc.strerror)
        ) from exc
    return parse_config(data, path)


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}")

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, tr("must be a table"))
        return value

    def string(self, data: dict[str, Any], key: str, where: str, default: str | None = None) -> Any:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(
                f"{where}{key}",
                tr("must be a string, not {kind}").format(kind=type(value).__name__),
            )
        return value

    def number(
        self, data: dict[str, Any], key: str, default: float, lo: float, hi: float, integer: bool
    ) -> Any:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            problem = (
                tr("must be a whole number, not {value}")
                if integer
                else tr("must be a number, not {value}")
            )
            raise self.fail(f"settings.{key}", problem.format(value=repr(value)))
        if not lo <= value <= hi:
            raise self.fail(
                f"settings.{key}",
                tr("must be between {low} and {high}, not {value}").format(
                    low=f"{lo:g}", high=f"{hi:g}", value=value
                ),
            )
        return value

    def strings(
        self, data: dict[str, Any], key: str, where: str, one: bool = True
    ) -> tuple[str, ...]:
        """A string or a list of strings (empty when absent); ``one`` false: a list only."""
        value = data.get(key, [])
        if isinstance(value, str) and not one:
            raise self.fail(
                f"{where}{key}",
                tr(
                    'must be a list: the program and its arguments, e.g. ["notify-send", '
                    '"{title}", "{url}"] (it is never given to a shell)'
                ),
            )
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}{key}", tr("must be a string or a list of strings"))
        return tuple(value)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Validate a parsed TOML document; every message names the file, the key and the fault."""
    chk = _Checker(path)
    known_top = {"settings", "rubrics", "feeds", "rules"}
    for key in data:
        if key not in known_top:
            raise chk.fail(
                key,
                tr("unknown section (expected one of {known})").format(
                    known=", ".join(sorted(known_top))
                ),
            )
    settings = _parse_settings(chk, chk.table(data, "settings"), path)
    aliases: dict[str, str] = {}
    for raw, key in chk.table(data, "rubrics").items():
        if not isinstance(key, str) or key not in rubrics.LABELS:
            raise chk.fail(
                f"rubrics.{raw!r}",
                tr("{key} is not a rubric key ({known})").format(
                    key=repr(key), known=", ".join(rubrics.ORDER)
                ),
            )
        aliases[rubrics.fold(raw)] = key
    feeds_raw = data.get("feeds", [])
    if not isinstance(feeds_raw, list):
        raise chk.fail("feeds", tr("must be an array of tables ([[feeds]])"))
    feeds: list[FeedSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(feeds_raw):
        spec = _parse_feed(chk, entry, i, path.parent)
        if spec.name in seen:
            raise chk.fail(
                f"feeds[{i}].name",
                tr("{name} is used by another feed").format(name=repr(spec.name)),
            )
        seen.add(spec.name)
        feeds.append(spec)
    rules_raw = data.get("rules", [])
    if not isinstance(rules_raw, list):
        raise chk.fail("rules", tr("must be an array of tables ([[rules]])"))
    rules = [_parse_rule(chk, entry, i, seen) for i, entry in enumerate(rules_raw)]
    names = [rule.name for rule in rules]
    for name in names:
        if names.count(name) > 1:
            raise chk.fail("rules", tr("{name} is used by another rule").format(name=repr(name)))
    return Config(
        path=path, settings=settings, aliases=aliases, feeds=tuple(feeds), rules=tuple(rules)
    )


def _parse_rule(chk: _Checker, entry: Any, i: int, feed_names: set[str]) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(entry, dict):
        raise chk.fail(where, tr("must be a table"))
    allowed = {"name", "query", "action", "feeds", "rubrics", "lang", "tag"}
    for key in entry:
        if key not in allowed:
            raise chk.fail(f"{where}.{key}", tr("unknown key"))
    name = chk.string(entry, "name", where + ".") or f"rule-{i + 1}"
    query = chk.string(entry, "query", where + ".") or ""
    actions = chk.strings(entry, "action", where + ".")
    if not actions:
        raise chk.fail(
            f"{where}.action",
            tr("is required: one or a list of {known}").format(known=", ".join(RULE_ACTIONS)),
        )
    for action in actions:
        if action not in RULE_ACTIONS:
            raise chk.fail(
                f"{where}.action",
                tr("unknown action {action} (known: {known})").format(
                    action=repr(action), known=", ".join(RULE_ACTIONS)
                ),
            )
    tag = chk.string(entry, "tag", where + ".")
    if "tag" in actions and not (tag and tag.strip()):
        raise chk.fail(f"{where}.tag", tr("is required by the action tag"))
    feeds = chk.strings(entry, "feeds", where + ".")
    for feed in feeds:
        if feed not in feed_names:
            raise chk.fail(f"{where}.feeds", tr("unknown feed {feed}").format(feed=repr(feed)))
    rubric_keys = []
    for value in chk.strings(entry, "rubrics", where + "."):
        key = rubrics.resolve(value)
        if key is None:
            raise chk.fail(
                f"{where}.rubrics",
                tr("{key} is not a rubric key ({known})").format(
                    key=repr(value), known=", ".join(rubrics.ORDER)
                ),
            )
        rubric_keys.append(key)
    lang = _language(chk, entry, where)
    if not query.strip() and not feeds and not rubric_keys and not lang:
        raise chk.fail(f"{where}.query", tr("a rule needs a query, feeds, rubrics or lang"))
    return Rule(
        name=name,
        query=query,
        actions=tuple(dict.fromkeys(actions)),
        feeds=feeds,
        rubrics=tuple(rubric_keys),
        lang=lang,
        tag=tag.strip() if tag else None,
    )


def _language(chk: _Checker, entry: dict[str, Any], where: str) -> str | None:
    """A feed's or a rule's ``lang`` as the code items carry ("kz", "қаз", "ru-RU" → kk,
    ru): the same spelling a feed's items and ``--lang`` are read in."""
    lang = chk.string(entry, "lang", f"{where}.")
    if lang is None:
        return None
    from .language import language_code

    known = language_code(lang)
    if known is None and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", lang):
        raise chk.fail(
            f"{where}.lang",
            tr("{lang} is not a language code such as ru, kk, en").format(lang=repr(lang)),
        )
    return known or lang


def _parse_settings(chk: _Checker, raw: dict[str, Any], path: Path) -> Settings:
    allowed = set(Settings.__dataclass_fields__)
    for key in raw:
        if key not in allowed:
            raise chk.fail(f"settings.{key}", tr("unknown setting"))
    tz = chk.string(raw, "timezone", "settings.", "Asia/Almaty")
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(tz)
    except Exception as exc:
        raise chk.fail(
            "settings.timezone", tr("unknown timezone {zone}").format(zone=repr(tz))
        ) from exc
    language = chk.string(raw, "language", "settings.", "ru")
    if language not in rubrics.LANGUAGES:
        raise chk.fail(
            "settings.language",
            tr("must be ru, kk or en, not {language}").format(language=repr(language)),
        )
    data_dir = chk.string(raw, "data_dir", "settings.")
    data_path = None
    if data_dir:
        data_path = Path(data_dir).expanduser()
        if not data_path.is_absolute():
            data_path = (path.parent / data_path).resolve()
    flags = {}
    for key, default in (
        ("mark_read_on_show", raw.get("mark_read_on_view", True)),  # its first name
        ("mark_read_on_list", False),
        ("pager", True),
        ("allow_private", False),
        ("stories", False),
        ("parse_changed_only", True),
    ):
        flags[key] = raw.get(key, default)
        if not isinstance(flags[key], bool):
            raise chk.fail(f"settings.{key}", tr("must be true or false"))
    return Settings(
        timezone=tz,
        language=language,
        jobs=chk.number(raw, "jobs", 8, 1, 64, True),
        per_host=chk.number(raw, "per_host", 2, 1, 16, True),
        timeout=float(chk.number(raw, "timeout", 20, 1, 600, False)),
        retention_days=chk.number(raw, "retention_days", 180, 0, 100_000, True),
        data_dir=data_path,
        lock_timeout=float(chk.number(raw, "lock_timeout", 60, 0, 86_400, False)),
        max_feed_bytes=chk.number(raw, "max_feed_bytes", 16 * 1024 * 1024, 1024, 1 << 31, True),
        mark_read_on_show=flags["mark_read_on_show"],
        mark_read_on_list=flags["mark_read_on_list"],
        pager=flags["pager"],
        allow_private=flags["allow_private"],
        max_feed_items=chk.number(raw, "max_feed_items", 10_000, 1, 10_000_000, True),
        parse_timeout=float(chk.number(raw, "parse_timeout", 30, 0.1, 3600, False)),
        stories=flags["stories"],
        parse_changed_only=flags["parse_changed_only"],
        preferred_feeds=chk.strings(raw, "preferred_feeds", "settings."),
        notify=chk.strings(raw, "notify", "settings.", one=False),
        notify_max=chk.number(raw, "notify_max", 10, 0, 1000, True),
        notify_urls=chk.strings(raw, "notify_urls", "settings."),
    )


_BARE_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24})(?::\d{1,5})?(?:[/?].*)?",
    re.I | re.S,
)
# an address or localhost with a port: a server of one's own, plain http
_BARE_LOCAL = re.compile(r"(?:\d{1,3}(?:\.\d{1,3}){3}|localhost):\d{1,5}(?:[/?].*)?", re.I | re.S)
_FILE_SUFFIXES = frozenset("xml rss atom rdf html htm json txt opml feed toml gz".split())


def bare_domain(url: str) -> bool:
    """Whether ``url`` is a host name without a scheme ("tengrinews.kz", "www.nur.kz/rss"),
    not a file name such as "saved.xml"."""
    match = _BARE_DOMAIN.fullmatch(url)
    return match is not None and match.group(1).lower() not in _FILE_SUFFIXES


def check_url(url: str, base: Path | None) -> str:
    """A feed URL from the config: http(s), file://, or a local path (made absolute).
    A bare host name ("tengrinews.kz") means https://tengrinews.kz/, never a local file; a
    bare address or localhost with a port ("127.0.0.1:8080/feed") means http://.

    Returns the URL to use; raises ValueError with the reason.
    """
    url = url.strip()
    if not url:
        raise ValueError(tr("is empty"))
    if re.match(r"^[|!<>]", url) or re.search(r"[`\x00-\x1f]|\$\(", url):
        raise ValueError(
            tr("{url} looks like a shell command, not a URL or a path").format(url=repr(url[:80]))
        )
    if bare_domain(url) or _BARE_LOCAL.fullmatch(url):
        host, rest = re.match(r"([^/?]+)(.*)", url, re.S).groups()  # type: ignore[union-attr]
        scheme = "http" if _BARE_LOCAL.fullmatch(url) else "https"
        return f"{scheme}://{host.lower()}{rest if rest.startswith('/') else '/' + rest}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ValueError(tr("{url} has no host").format(url=repr(url)))
        return url
    if scheme == "file":
        return url
    if scheme and len(scheme) > 1:  # "C:" is a drive, not a scheme
        raise ValueError(
            tr("{url}: only http, https, file:// or a local path are allowed").format(url=repr(url))
        )
    local = Path(url).expanduser()
    if not local.is_absolute() and base is not None:
        local = (base / local).resolve()
    return str(local)


def _parse_feed(chk: _Checker, entry: Any, i: int, base: Path) -> FeedSpec:
    where = f"feeds[{i}]"
    if not isinstance(entry, dict):
        raise chk.fail(where, tr("must be a table"))
    allowed = {
        "name",
        "url",
        "title",
        "lang",
        "rubric",
        "type",
        "preset",
        "select",
        "disabled",
        "timezone",
        "full_text",
    }
    for key in entry:
        if key not in allowed:
            raise chk.fail(f"{where}.{key}", tr("unknown key"))
    name = chk.string(entry, "name", f"{where}.")
    if not name:
        raise chk.fail(f"{where}.name", tr("missing"))
    where = f"feeds[{i}] ({name})"
    if not NAME_RE.match(name):
        raise chk.fail(
            f"{where}.name", tr("use lower-case letters, digits, '.', '_' and '-' (at most 64)")
        )
    url = chk.string(entry, "url", f"{where}.")
    if not url:
        raise chk.fail(f"{where}.url", tr("missing"))
    try:
        url = check_url(url, base)
    except ValueError as exc:
        raise chk.fail(f"{where}.url", str(exc)) from exc
    rubric = chk.string(entry, "rubric", f"{where}.")
    if rubric is not None:
        key = rubrics.resolve(rubric)
        if key is None:
            raise chk.fail(
                f"{where}.rubric",
                tr("{rubric} is not a rubric ({known})").format(
                    rubric=repr(rubric), known=", ".join(rubrics.ORDER)
                ),
            )
        rubric = key
    lang = _language(chk, entry, where)
    kind = chk.string(entry, "type", f"{where}.", "feed")
    if kind not in FEED_TYPES:
        raise chk.fail(
            f"{where}.type", tr('must be "feed" or "html", not {kind}').format(kind=repr(kind))
        )
    preset = chk.string(entry, "preset", f"{where}.")
    if preset is not None and preset not in PRESETS:
        raise chk.fail(
            f"{where}.preset",
            tr("unknown preset {preset} (known: {known})").format(
                preset=repr(preset), known=", ".join(PRESETS)
            ),
        )
    select_raw = entry.get("select", {})
    if not isinstance(select_raw, dict):
        raise chk.fail(f"{where}.select", tr("must be a table of CSS selectors"))
    for key, value in select_raw.items():
        if key not in SELECT_KEYS:
            raise chk.fail(
                f"{where}.select.{key}",
                tr("unknown selector (known: {known})").format(known=", ".join(SELECT_KEYS)),
            )
        if not isinstance(value, str) or not value.strip():
            raise chk.fail(f"{where}.select.{key}", tr("must be a non-empty CSS selector string"))
    if (
        kind == "html"
        and preset is None
        and select_raw
        and not {"item", "title", "link"} <= set(select_raw)
    ):
        raise chk.fail(
            f"{where}.select",
            tr(
                "give item, title and link (or a preset, or no selectors at all: kzfeed then "
                "finds the news list itself)"
            ),
        )
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise chk.fail(f"{where}.disabled", tr("must be true or false"))
    full_text = entry.get("full_text", False)
    if not isinstance(full_text, bool):
        raise chk.fail(f"{where}.full_text", tr("must be true or false"))
    feed_tz = chk.string(entry, "timezone", f"{where}.")
    if feed_tz is not None:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(feed_tz)
        except Exception as exc:
            raise chk.fail(
                f"{where}.timezone", tr("unknown timezone {zone}").format(zone=repr(feed_tz))
            ) from exc
    return FeedSpec(
        name=name,
        url=url,
        title=chk.string(entry, "title", f"{where}."),
        lang=lang,
        rubric=rubric,
        type=kind,
        preset=preset,
        select=tuple(sorted(select_raw.items())),
        disabled=disabled,
        timezone=feed_tz,
        full_text=full_text,
    )


# ---------------------------------------------------------------- comment-preserving edits


def _load_document(path: Path) -> Any:
    import tomlkit

    try:
        return tomlkit.parse(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigNotFound(
            tr("no config file at {path}; create one with `kzfeed init`").format(path=path)
        ) from exc
    except Exception as exc:
        raise ConfigError(
            tr("{path}: cannot edit: {reason}").format(path=path, reason=exc)
        ) from exc


def _save_document(path: Path, doc: Any) -> None:
    import tomlkit

    _replace_config(path, tomlkit.dumps(doc))


def _replace_config(path: Path, text: str) -> None:
    """Validate, then atomically replace the config file (never a config we cannot read)."""
    parse_config(tomllib.loads(text), path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def add_feed(path: Path, spec: FeedSpec) -> None:
    """Append a [[feeds]] table to the config, keeping every comment and the layout."""
    import tomlkit

    doc = _load_document(path)
    feeds = doc.get("feeds")
    if feeds is None:
        feeds = tomlkit.aot()
        doc.append("feeds", feeds)
    for existing in feeds:
        if existing.get("name") == spec.name:
            raise ConfigError(
                tr("{path}: a feed named {name} already exists").format(
                    path=path, name=repr(spec.name)
                )
            )
    table = tomlkit.table()
    table.add("name", spec.name)
    table.add("url", spec.url)
    for key in ("title", "lang", "rubric"):
        value = getattr(spec, key)
        if value:
            table.add(key, value)
    if spec.type != "feed":
        table.add("type", spec.type)
        if spec.preset:
            table.add("preset", spec.preset)
        if spec.select:
            select = tomlkit.table()
            for key, value in spec.select:
                select.add(key, value)
            table.add("select", select)
    feeds.append(table)
    _save_document(path, doc)


def remove_feed(path: Path, name: str) -> None:
    doc = _load_document(path)
    feeds = doc.get("feeds")
    index = None
    if feeds is not None:
        index = next((i for i, t in enumerate(feeds) if t.get("name") == name), None)
    if index is None:
        from .errors import NotFound

        raise NotFound(tr("no feed named {name} in {path}").format(name=repr(name), path=path))
    del feeds[index]
    _save_document(path, doc)


def _toml_string(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML


def append_feeds(path: Path, specs: list[FeedSpec]) -> None:
    """Append many [[feeds]] tables at once (OPML import), leaving the rest of the file as it
    is, byte for byte; the result is validated before it replaces the file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise ConfigNotFound(
            tr("no config file at {path}; create one with `kzfeed init`").format(path=path)
        ) from exc
    blocks = []
    for spec in specs:
        lines = [
            "[[feeds]]",
            f"name = {_toml_string(spec.name)}",
            f"url = {_toml_string(spec.url)}",
        ]
        for key in ("title", "lang", "rubric"):
            value = getattr(spec, key)
            if value:
                lines.append(f"{key} = {_toml_string(value)}")
        blocks.append("\n".join(lines))
    if not blocks:
        return
    joined = text if text.endswith("\n") or not text else text + "\n"
    _replace_config(path, joined + "\n" + "\n\n".join(blocks) + "\n")
