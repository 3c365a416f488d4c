"""kzfeed's one exception tree.  Each class carries the exit code the CLI returns."""

from __future__ import annotations

from .words import ntr, tr


def describe(exc: BaseException, limit: int = 300) -> str:
    """An unexpected exception as one short line: its type and the first line of its text."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}"[:limit]


class KzfeedError(Exception):
    """Any error kzfeed reports to the user as one line."""

    exit_code = 1


class ConfigError(KzfeedError):
    """The config file is missing, unreadable or invalid."""


class ConfigNotFound(ConfigError):
    """No config file exists where kzfeed looked."""


class StoreError(KzfeedError):
    """The database is unreadable, corrupt or locked."""


class LockTimeout(StoreError):
    """Another kzfeed holds the database lock for too long."""


class NotFound(KzfeedError):
    """An item or feed the user named does not exist."""


class AmbiguousId(KzfeedError):
    """An id prefix matches several items."""

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        shown = ", ".join(candidates[:10])
        if len(candidates) > 10:
            more = len(candidates) - 10
            message = ntr(
                "id prefix {prefix} is ambiguous: {ids} and {n} more",
                "id prefix {prefix} is ambiguous: {ids} and {n} more",
                more,
            ).format(prefix=repr(prefix), ids=shown, n=more)
        else:
            message = tr("id prefix {prefix} is ambiguous: {ids}").format(
                prefix=repr(prefix), ids=shown
            )
        super().__init__(message)
        self.candidates = candidates


class UsageError(KzfeedError):
    """A value the user gave on the command line is not valid (exit 2)."""

    exit_code = 2


class FeedError(KzfeedError):
    """One feed failed (fetch, parse); reported for that feed, never fatal to a run."""


class UpdateFailed(KzfeedError):
    """`update` finished but at least one feed failed (exit 3)."""

    exit_code = 3
