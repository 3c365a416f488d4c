"""The store's files: atomic writes, reading JSON that may be damaged, TinyDB on top."""

from __future__ import annotations

import contextlib
import os
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage

from ..errors import StoreError
from ..words import tr


def restore_hint() -> str:
    """What a message about a damaged file ends with (translated when the message is made)."""
    return " " + tr("(`kzfeed db restore` brings back the last good copy)")


def doc_id(item_id: str) -> int:
    return int(item_id, 16)


#: How much of a file is read (or checked) at once where a file is read in pieces
CHUNK = 1 << 20

#: Above this size, a file is decoded by the standard library's json: orjson's decoder
#: holds about twelve times the input while it works (a 46 MB day peaked at 667 MB, against
#: 177 MB), and is hardly faster on big files (0.28 s against 0.30 s for that day)
BIG_JSON = 1 << 20


def loads(raw: bytes) -> Any:
    """JSON bytes decoded: by orjson when small, by the standard library when big — as
    strictly: the bytes must be UTF-8 (given bytes, `json` lets invalid UTF-8 through), and
    a file with escaped surrogates (which kzfeed never writes: a lone one is damage) goes to
    orjson, which refuses a lone one."""
    if len(raw) > BIG_JSON and _SURROGATE_ESCAPE.search(raw) is None:
        import codecs
        import json

        check = codecs.getincrementaldecoder("utf-8")()  # strict, a megabyte at a time:
        view = memoryview(raw)  # the text is not held beside the bytes
        for at in range(0, len(raw), CHUNK):
            check.decode(view[at : at + CHUNK])
        check.decode(b"", final=True)
        return json.loads(raw)
    return orjson.loads(raw)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


def stamp(path: Path) -> list[int] | None:
    """A file's size and modification time (ns): every atomic write makes a new one."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def load_json(path: Path) -> Any:
    raw = read_store_file(path)
    return None if raw is None else decode_store_file(path, raw)


def read_store_file(path: Path) -> bytes | None:
    """A store file's bytes; None when there is none."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(
            tr("{path}: cannot read the database file: {reason}").format(
                path=path, reason=exc.strerror
            )
        ) from exc


def decode_store_file(path: Path, raw: bytes) -> dict[str, Any]:
    """A store file's JSON object; StoreError naming it when it is not one."""
    if not raw.strip():
        raise StoreError(
            tr("{path}: database file is empty (truncated?); it was left untouched").format(
                path=path
            )
            + restore_hint()
        )
    try:
        data = loads(raw)
    except (ValueError, RecursionError) as exc:  # not JSON (orjson's error is a ValueError)
        raise StoreError(
            tr("{path}: database file is corrupt ({reason}); it was left untouched").format(
                path=path, reason=exc
            )
            + restore_hint()
        ) from exc
    if not isinstance(data, dict):
        raise StoreError(
            tr("{path}: database file is not a kzfeed store; it was left untouched").format(
                path=path
            )
            + restore_hint()
        )
    return data


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes ``start``..``end`` of a file open for reading, copied a megabyte at a time
    when written (a patched day's unchanged bytes are never held in memory).  The file
    object stays valid after its path is replaced.  ``crc``: the CRC-32 of its bytes,
    when known; a span that starts the file written is then copied by the kernel."""

    source: BinaryIO
    start: int
    end: int
    crc: int | None = None

    def chunks(self) -> Iterator[bytes]:
        self.source.seek(self.start)
        left = self.end - self.start
        while left > 0:
            chunk = self.source.read(min(CHUNK, left))
            if not chunk:  # the file is shorter than it was: never write a cut copy
                name = getattr(self.source, "name", "a file")
                raise OSError(f"{name}: ended before byte {self.end}")
            left -= len(chunk)
            yield chunk


#: What a file is written from: its bytes, or its bytes in pieces (a patched partition: the
#: old file's unchanged spans and the changed and new records, never joined in memory)
Data = bytes | Sequence[bytes | memoryview | Span]


def write_atomic(path: Path, data: Data) -> int:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file;
    the CRC-32 of the bytes written."""
    crc = 0
    with _replacing(path) as tmp, open(tmp, "wb") as fh:
        pieces = [data] if isinstance(data, bytes) else list(data)
        first = pieces[0] if pieces else None
        if isinstance(first, Span) and first.crc is not None and _copy_span(first, fh):
            crc = first.crc
            pieces = pieces[1:]
        for piece in pieces:
            for part in piece.chunks() if isinstance(piece, Span) else [piece]:
                fh.write(part)
                crc = zlib.crc32(part, crc)
        fh.flush()
        os.fsync(fh.fileno())
    return crc


def _copy_span(span: Span, fh: BinaryIO, ways: Sequence[_Copy] | None = None) -> bool:
    """Copy ``span`` to the start of the empty file ``fh`` in the kernel (copy_file_range,
    else sendfile): no megabyte at a time through Python with its CRC worked out again.
    False when neither copies a byte of these files (nothing was written: the caller goes
    through Python); OSError when a copy stops part-way (the source shorter than the span)."""
    try:
        source, target = span.source.fileno(), fh.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False
    for copy in _KERNEL_COPIES if ways is None else ways:
        at = span.start
        while at < span.end:
            try:
                done = copy(source, target, at, span.end - at)
            except OSError:
                if at != span.start:
                    raise  # part of it copied: the files' error, not the way's
                done = 0  # not for these files (an old kernel, a filesystem): the next way
            if done <= 0:
                break
            at += done
        if at == span.end:
            fh.seek(0, os.SEEK_END)  # the buffered file object, in step with the copy
            return True
        if at != span.start:
            name = getattr(span.source, "name", "a file")
            raise OSError(f"{name}: ended before byte {span.end}")
    return False


def _by_copy_file_range(source: int, target: int, at: int, count: int) -> int:
    return os.copy_file_range(source, target, count, at)


def _by_sendfile(source: int, target: int, at: int, count: int) -> int:
    return os.sendfile(target, source, at, count)


_Copy = Callable[[int, int, int, int], int]  # source fd, target fd, offset, count -> copied

#: the kernel's ways to copy between files this platform has, the fastest first (a new day
#: may share the old day's blocks: the old one goes once the new one is in place)
_KERNEL_COPIES: list[_Copy] = [
    way
    for way, name in ((_by_copy_file_range, "copy_file_range"), (_by_sendfile, "sendfile"))
    if hasattr(os, name)
]
#: ... and those that always write a copy of its own (for the backups)
_OWN_COPIES = [way for way in _KERNEL_COPIES if way is _by_sendfile]


def copy_atomic(source: Path, path: Path) -> None:
    """Copy ``source`` to ``path`` as `write_atomic` writes, the bytes copied by the kernel
    (sendfile), not by Python a megabyte at a time.  Never by copy_file_range: on a
    filesystem that can (btrfs, XFS) that shares the source's blocks, and a backup must be
    a copy of its own."""
    with _replacing(path) as tmp, open(source, "rb") as src, open(tmp, "wb") as fh:
        whole = Span(src, 0, os.fstat(src.fileno()).st_size)
        if not _copy_span(whole, fh, _OWN_COPIES):
            for part in whole.chunks():
                fh.write(part)
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temp file beside ``path`` to write; it replaces ``path`` once written (the rename
    made durable too), and is removed if the writing fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def dumps(data: Any) -> bytes:
    # UTF-8 as is: \uXXXX escapes make Cyrillic text 2.5x larger
    return orjson.dumps(data)


Saver = Callable[[Path, Data], int]  # writes a file; the CRC-32 of what it wrote


class AtomicStorage(Storage):
    """A TinyDB storage that reads its file once, keeps changes in memory, and writes the
    whole file atomically only when `commit` is called and something changed."""

    def __init__(self, path: str | Path, save: Saver | None = None) -> None:
        self.path = Path(path)
        self.save: Saver = save or (lambda path, data: write_atomic(path, data))
        self.crc: int | None = None  # of the bytes the last commit wrote
        self._data: dict[str, Any] | None = None
        self._loaded = False
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._data = load_json(self.path)
            self._loaded = True
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self._loaded = True
        self.dirty = True

    def commit(self) -> bool:
        if not self.dirty or self._data is None:
            return False
        self.crc = self.save(self.path, dumps(self._data))
        self.dirty = False
        return True

    def close(self) -> None:
        pass  # never write implicitly


def open_db(path: Path, save: Saver | None = None) -> tuple[TinyDB, AtomicStorage]:
    storage = AtomicStorage(path, save)
    db = TinyDB(storage=lambda: storage)
    return db, storage
