"""The data dir's lock file, held with ``flock`` where there is one.

`filelock` took 9–22 ms to import (it brings `secrets`, `decimal`, `hashlib` …) in every
command that writes, for a call kzfeed makes once.  On a POSIX system the lock is
``fcntl.flock`` on ``kzfeed.lock`` — what `filelock` itself uses there, so the two see each
other's locks — and `filelock` is only imported where ``flock`` is missing (Windows, or
ENOSYS from the file system), to take the lock its own way.

A forked child (a parse worker) closes its copy of the descriptor: the lock is the
parent's, and a child that outlived it must not keep it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from pathlib import Path
from typing import Any

POLL = 0.05  # seconds between tries while another process holds the lock
# what flock says when another process holds the lock (EACCES on some file systems, as
# filelock knows)
BUSY = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES})

_held: set[int] = set()  # descriptors this process holds a lock on


class Busy(Exception):
    """Another process held the lock for the whole wait."""


def _close_in_child() -> None:
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


def _open(path: Path) -> tuple[int, bool]:
    """The lock file opened, made if missing (read and write for all, less the umask, as
    filelock makes it); and whether it was made here."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666), True
    except FileExistsError:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666), False


class LockFile:
    """An exclusive lock on ``path`` between processes (not re-entrant)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._fallback: Any = None  # a filelock.FileLock where flock cannot be used

    def acquire(self, timeout: float) -> None:
        """Take the lock, trying for up to ``timeout`` seconds (0: once); Busy if not."""
        if self._fallback is None and not self._try_flock_until(time.monotonic() + timeout):
            raise Busy(str(self.path))
        if self._fallback is not None:
            from filelock import Timeout

            try:
                self._fallback.acquire(timeout=timeout)
            except Timeout:
                raise Busy(str(self.path)) from None

    def _try_flock_until(self, deadline: float) -> bool:
        """True when held; False when another process held it until ``deadline``; where
        flock cannot be used, sets up the `filelock` fallback and returns True (not yet
        held)."""
        try:
            import fcntl
        except ImportError:  # Windows
            return self._fall_back()
        fd, made = _open(self.path)
        held = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno == errno.ENOSYS:  # no flock here: filelock's own way,
                        if made:  # which takes a lock file that exists as held
                            with contextlib.suppress(OSError):
                                if os.path.samestat(os.fstat(fd), os.lstat(self.path)):
                                    os.unlink(self.path)
                        break
                    if exc.errno not in BUSY:  # as filelock, which raised it too
                        raise
                    if time.monotonic() >= deadline:  # another process holds it
                        return False
                    time.sleep(POLL)
                    continue
                held = True
                self._fd = fd
                _held.add(fd)
                return True
        finally:
            if not held:
                os.close(fd)
        return self._fall_back()

    def _fall_back(self) -> bool:
        from filelock import FileLock

        self._fallback = FileLock(str(self.path))
        return True

    def release(self) -> None:
        if self._fallback is not None:
            self._fallback.release()
            return
        fd, self._fd = self._fd, None
        if fd is None or fd not in _held:  # none, or a forked child's (closed at the fork)
            return
        _held.discard(fd)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
