"""The interface's words: gettext catalogs that are complete, compiled and consistent with
the code, plural forms by CLDR, and whole commands speaking the configured language."""

from __future__ import annotations

import importlib.util
import re
import string
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from kzfeed import words
from kzfeed.cli import app

from .conftest import REPO, write_config

runner = CliRunner()


def _catalogs_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalogs", REPO / "tools" / "catalogs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _catalogs_tool()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_every_message_in_the_code_is_translated_and_the_compiled_catalog_is_current(
    tool: ModuleType, lang: str
) -> None:
    """A message added to the code without a translation, or a .po edited without
    compiling, fails here (`tools/catalogs.py` fixes both)."""
    pot = tool.template()
    catalog = tool.updated(lang, pot)
    assert len(pot) > 150
    assert tool.untranslated(catalog) == []
    assert tool.po_path(lang).with_suffix(".mo").read_bytes() == tool.compiled(lang)
    assert tool.entries(tool.on_disk(lang)) == tool.entries(catalog)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_translations_keep_every_placeholder_and_nothing_but_them(
    tool: ModuleType, lang: str
) -> None:
    catalog = tool.updated(lang, tool.template())
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert _fields(text) == _fields(ids[0]), (message.id, text)
            assert "\n" not in text


def test_the_catalogs_plural_rules_are_cldrs() -> None:
    """The Plural-Forms rule of each catalog (written by Babel) picks the form CLDR names
    for every number a count shows."""
    from babel import Locale

    ru_forms = {"one": "новость", "few": "новости", "many": "новостей"}
    for n in [*range(0, 26), *range(101, 126), 1011, 2_000_001]:
        category = Locale.parse("ru").plural_form(n)
        assert words.count(n, "item", "ru") == f"{n} {ru_forms[category]}"
        assert words.count(n, "item", "kk") == f"{n} жаңалық"
        assert words.count(n, "item", "en") == f"{n} item{'' if n == 1 else 's'}"
        feed = {"one": "лента", "few": "ленты", "many": "лент"}[category]
        assert words.count(n, "feed", "ru") == f"{n} {feed}"


def test_the_language_before_the_config_is_the_environments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for value, expected in [
        ("ru_RU.UTF-8", "ru"),
        ("kk_KZ.UTF-8", "kk"),
        ("en_US.UTF-8", "en"),
        ("C.UTF-8", "en"),
    ]:
        monkeypatch.setenv("LC_ALL", value)
        assert words.environment_language() == expected
    monkeypatch.delenv("LC_ALL")
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv("LANG", raising=False)
    assert words.environment_language() == "en"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", "kzfeed: ошибка: неизвестная лента 'nope'"),
        ("kk", "kzfeed: қате: белгісіз арна 'nope'"),
        ("en", "kzfeed: error: unknown feed 'nope'"),
    ],
)
def test_errors_speak_the_configured_language(tmp_path: Path, lang: str, expected: str) -> None:
    cfg = write_config(tmp_path / "config.toml", [], language=lang)
    result = runner.invoke(app, ["--config", str(cfg), "latest", "--feed", "nope"])
    assert result.exit_code == 2
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("locale", "expected"), [("ru_RU.UTF-8", "ошибка"), ("kk_KZ.UTF-8", "қате"), ("C", "error")]
)
def test_an_error_in_the_config_itself_speaks_the_environments_language(
    tmp_path: Path, locale: str, expected: str
) -> None:
    """Before the config is read its language is unknown: the locale's is used."""
    broken = tmp_path / "config.toml"
    broken.write_text("[settings\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "kzfeed", "--config", str(broken), "latest"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LC_ALL": locale},
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.startswith(f"kzfeed: {expected}: "), result.stderr
    assert "Traceback" not in result.stderr


def test_a_russian_session_has_no_english_words_in_its_messages(tmp_path: Path) -> None:
    """Everyday commands on an empty Russian setup: every message is Russian."""
    cfg = write_config(tmp_path / "config.toml", [], language="ru")
    outputs = []
    for args in (["update"], ["latest"], ["read"], ["next"], ["db", "check"], ["prune"]):
        result = runner.invoke(app, ["--config", str(cfg), *args])
        outputs.append(result.stdout + result.stderr)
    text = "\n".join(outputs)
    # commands, options, paths and setting names stay as typed; the words around them not
    leftover = re.sub(
        r"`[^`]*`|\(kzfeed [^)]*\)|--?[a-z][a-z-]*|\S*/\S*|\$?[A-Z_]{3,}|[a-z_]+\.[a-z_]+", "", text
    )
    english = set(re.findall(r"\b[a-z]{3,}\b", leftover)) - {"kzfeed", "http", "latest"}
    assert english == set(), (english, text)
