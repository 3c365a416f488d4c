"""Who may import what.  The heavy and the stateful libraries each stay in the one module
that holds their job, so the commands that do not need them never load them, and a
library's way of doing things does not leak across the code."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from .conftest import REPO, FeedServer

PACKAGE = REPO / "kzfeed"

#: library -> the modules (paths in kzfeed/; a folder: every module in it) allowed to import it
ALLOWED = {
    "tinydb": {"store/files.py", "store/writer.py", "store/__init__.py"},  # the store only
    "textual": {"browse.py"},  # the full-screen reader
    "rich": {"render.py", "cli.py", "browse.py"},  # the faces: not the digest writers
    "httpx": {"fetch.py", "transport.py"},
    "httpcore": {"transport.py"},
    "feedparser": {"parse.py"},  # feeds only: not HTML decoding
    "trafilatura": {"article.py"},
    "selectolax": {"htmlsource.py", "article.py"},
    "jinja2": {"digest.py"},
    "typer": {"cli.py"},
    "Stemmer": {"terms.py"},
    "sqlite3": {"store/termindex.py", "store/identity.py", "store/derived.py"},  # derived indexes
    "apprise": {"notify.py"},  # the notify extra
    "filelock": {"store/lockfile.py"},  # only where flock is missing (Windows, some mounts)
}


def imported_packages(path: str) -> set[str]:
    tree = ast.parse(PACKAGE.joinpath(path).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_each_library_is_imported_only_where_its_job_is(library: str) -> None:
    modules = [path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")]
    importers = {path for path in modules if library in imported_packages(path)}
    assert importers <= ALLOWED[library], importers - ALLOWED[library]
    assert importers, f"nothing imports {library}: drop it from the rules and the dependencies"


def _modules_loaded_by(argv: list[str], tmp_config: str, whole: bool = False) -> set[str]:
    """The packages (``whole``: the modules) a kzfeed command run in a fresh process loads."""
    return _run_loading(argv, tmp_config, whole)[0]


def _run_loading(argv: list[str], tmp_config: str, whole: bool = False) -> tuple[set[str], str]:
    """What `_modules_loaded_by` says, and what the command printed."""
    code = (
        "import sys\n"
        "from kzfeed.cli import main\n"
        f"sys.argv = ['kzfeed', '--config', {tmp_config!r}, *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        # an entry set to None is a module barred from loading (kzfeed/__init__.py), not one
        "loaded = {m for m, module in sys.modules.items() if module is not None}\n"
        f"names = loaded if {whole!r} else {{m.split('.')[0] for m in loaded}}\n"
        "print(' '.join(sorted(names)), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LC_ALL": "C.UTF-8"},
        check=False,
    )
    return set(result.stderr.strip().splitlines()[-1].split()), result.stdout


@pytest.mark.parametrize(
    ("argv", "never"),
    [
        # pydantic: Typer 0.29 imports it for every command (~0.1 s); pyproject keeps 0.28
        (
            ["latest"],
            {"httpx", "httpcore", "feedparser", "textual", "trafilatura", "jinja2", "pydantic"},
        ),
        (["feeds"], {"httpx", "feedparser", "textual", "trafilatura", "pydantic"}),
        (
            ["--help"],
            {"httpx", "feedparser", "textual", "tinydb", "trafilatura", "rich", "pydantic"},
        ),
        # from cron and scripts: the summary is JSON, no bar and no table
        (
            ["update", "--json"],
            {"rich", "feedparser", "textual", "trafilatura", "jinja2", "pydantic"},
        ),
    ],
)
def test_commands_load_only_the_libraries_they_use(
    argv: list[str], never: set[str], tmp_path: object
) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{Path(str(tmp_path)) / "data"}"\n', encoding="utf-8"
    )
    loaded = _modules_loaded_by(argv, str(config))
    assert "kzfeed" in loaded
    assert not loaded & never, loaded & never


@pytest.mark.parametrize("argv", [["latest"], ["show", "1"], ["feeds"]])
def test_readers_do_not_load_the_writer(argv: list[str], tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{Path(str(tmp_path)) / "data"}"\n', encoding="utf-8"
    )
    loaded = _modules_loaded_by(argv, str(config), whole=True)
    assert "kzfeed.store" in loaded
    writing = {"kzfeed.store.writer", "kzfeed.dedup", "kzfeed.store.termindex"}
    assert not loaded & writing, loaded & writing


@pytest.mark.parametrize("argv", [["latest"], ["latest", "--group", "rubric"], ["feeds"]])
def test_showing_stored_text_loads_no_html_parser(argv: list[str], tmp_path: object) -> None:
    """Stored text is clean already: listing it (a store with items, a config with a news
    list) needs neither html.parser (with its ~20 regular expressions) nor the HTML list
    sources' code, nor Rich's Table (issue 15: start-up)."""
    from pathlib import Path

    from typer.testing import CliRunner

    from kzfeed.cli import app

    from .conftest import rss, write_config

    root = Path(str(tmp_path))
    (root / "wire.xml").write_text(
        rss(
            [
                {
                    "title": f"Новость номер {n}",
                    "link": f"https://www.inform.kz/ru/{n}",
                    "pubDate": f"Mon, 23 Nov 2026 0{n}:00:00 +0000",
                    "description": f"<p>Текст <b>новости</b> {n}</p>",
                }
                for n in range(1, 4)
            ]
        ),
        encoding="utf-8",
    )
    feeds: list[dict[str, object]] = [{"name": "wire", "url": str(root / "wire.xml")}]
    stored = write_config(root / "update.toml", feeds)
    result = CliRunner().invoke(app, ["--config", str(stored), "update"])
    assert result.exit_code == 0, result.output
    news_list = {"name": "kazinform", "url": "https://www.inform.kz/lenta/", "type": "html"}
    config = write_config(root / "read.toml", [*feeds, {**news_list, "preset": "kazinform"}])
    loaded, shown = _run_loading(argv, str(config), whole=True)
    assert ("Новость номер 3" in shown) if argv[0] == "latest" else ("wire" in shown), shown
    parsing = {"html.parser", "kzfeed.htmltext", "kzfeed.htmlsource", "rich.table"}
    assert not loaded & parsing, loaded & parsing


def test_httpx_comes_without_its_command_line_client(tmp_path: object) -> None:
    """httpx imports its CLI (rich.syntax, pygments: ~35 ms) when those are installed;
    kzfeed bars it, and a fetch through httpx still works (a local file here)."""
    from pathlib import Path

    feed = Path(str(tmp_path)) / "feed.xml"
    feed.write_text(
        "<rss><channel><title>t</title><item><title>Жаңалық</title>"
        "<link>https://example.kz/1</link></item></channel></rss>",
        encoding="utf-8",
    )
    config = Path(str(tmp_path)) / "config.toml"
    config.write_text(
        f'[settings]\ndata_dir = "{Path(str(tmp_path)) / "data"}"\n\n'
        f'[[feeds]]\nname = "local"\nurl = "{feed}"\n',
        encoding="utf-8",
    )
    loaded = _modules_loaded_by(["update"], str(config))
    assert {"httpx", "httpcore"} <= loaded
    assert "pygments" not in loaded


def test_requests_go_without_anyio(tmp_path: object, server: FeedServer) -> None:
    """httpcore takes its connection lock through anyio, whose asyncio layer takes 14 ms to
    import and a trip round the event loop at each acquire; kzfeed's transport gives each
    connection an asyncio lock instead.  Two feeds on one server: a kept connection reused."""
    from pathlib import Path

    from .conftest import rss

    for name in ("a", "b"):
        server.add(
            f"/{name}.xml", rss([{"title": f"Жаңалық {name}", "link": f"https://x.kz/{name}"}])
        )
    config = Path(str(tmp_path)) / "config.toml"
    feeds = "".join(
        f'[[feeds]]\nname = "{n}"\nurl = "{server.url(f"/{n}.xml")}"\n\n' for n in ("a", "b")
    )
    config.write_text(
        f'[settings]\ndata_dir = "{Path(str(tmp_path)) / "data"}"\n\n{feeds}', encoding="utf-8"
    )
    loaded = _modules_loaded_by(["update", "--json"], str(config), whole=True)
    assert "kzfeed.transport" in loaded and "httpcore" in loaded
    assert "anyio._backends._asyncio" not in loaded
    assert len(server.hits("/a.xml")) == len(server.hits("/b.xml")) == 1
    # the items were stored under the data dir's lock: flock, without filelock's imports
    assert "kzfeed.store.lockfile" in loaded and "kzfeed.store.writer" in loaded
    if sys.platform != "win32":
        assert "filelock" not in loaded
