"""Worker processes for parsing: every job under a deadline, no worker outliving kzfeed.

Parsing is CPU work on hostile bytes, and nothing bounds the time a parser may take on
them but a clock.  Each worker is a forked process with a socket pair of its own; a job
still running when its budget is spent has its worker killed (SIGKILL) and replaced, and
comes back as a `JobFailed` that names the reason — the feed fails, the run goes on.

kzfeed's side of every worker lives on the event loop: jobs are written and answers read
by the loop itself (non-blocking sockets, multiprocessing's own framing, which the worker
reads and writes with a plain `Connection`), and a job's budget is a timer of the loop.  No
thread of kzfeed's waits on a worker: when threads did, each hand-over between them and
the loop cost the loop the interpreter lock for up to a switch interval — in the steady
poll the fetching loop spent 0.2 s so, waiting to get the lock back after inflating bodies
and sending requests, and the threads' own CPU was 0.13 s of its 0.6 s.

Workers die with kzfeed: on Linux the kernel kills them when the process that forked them
ends (``PR_SET_PDEATHSIG``), however it ends (``timeout 60 kzfeed update`` from cron, a
SIGKILL, a crash); elsewhere an idle worker leaves when its socket closes.  They ignore
SIGINT: Ctrl-C is for kzfeed itself, which then ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import struct
import sys
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

from .errors import describe
from .words import tr

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class JobFailed(Exception):
    """A job did not come back: over its time budget, or its worker died."""


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent ended before the line above took effect
        os._exit(0)


def _serve(conn: Connection, parent_pid: int, siblings: list[int]) -> None:
    """A worker's life: run jobs from its socket until kzfeed closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent_pid)
    # fresh stream objects: a thread of kzfeed's may have held the old ones' locks at the
    # fork (a replacement worker is forked mid-run), and a warning must not wait on them
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's life
    for fd in siblings:  # kzfeed's ends of the other workers' sockets, inherited by the fork:
        with contextlib.suppress(OSError):  # held open here, they would never see EOF
            os.close(fd)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as exc:  # a job's failure is its answer
            reply = ("error", describe(exc))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            os._exit(0)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send(("error", tr("result not sendable: {reason}").format(reason=describe(exc))))


# multiprocessing's framing (Connection.send_bytes / recv_bytes): a signed 4-byte length,
# or -1 and an 8-byte length for a message over 2 GiB
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")
_READ = 256 * 1024


class _Job:
    """A job sent to a worker: where its answer goes, and its budget's timer once it runs."""

    __slots__ = ("answer", "sent", "timer")

    def __init__(self, answer: asyncio.Future[tuple[str, Any]]) -> None:
        self.answer = answer
        self.sent = False  # written whole into the socket: the worker may have run it
        self.timer: asyncio.TimerHandle | None = None


class _Worker:
    """One worker process and kzfeed's end of its socket pair, served by the event loop.
    Up to ``DEPTH`` jobs are sent to it at once: the next one waits in the socket while the
    worker runs the current one, so the worker goes from one job straight to the next
    instead of waiting for kzfeed to hear its answer and send another.  Answers come back in
    the order the jobs went; the first job waiting is the one running, and its budget counts
    from the moment it began (the answer before it sent)."""

    def __init__(self, context: Any, siblings: list[int]) -> None:
        ours, theirs = socket.socketpair()
        # blocking in the worker whatever socket.setdefaulttimeout() says (found by review:
        # a non-blocking end made an idle worker's read fail, and every job fork a worker)
        theirs.setblocking(True)
        child = Connection(theirs.detach())
        try:
            self.process = context.Process(
                target=_serve,
                args=(child, os.getpid(), [*siblings, ours.fileno()]),
                daemon=True,
                name="kzfeed-parse",
            )
            self.process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            child.close()
        self.sock = ours
        self.jobs: deque[_Job] = deque()
        self.gone = False  # failed, killed or closed: no job is sent to it again
        self.killed_for: _Job | None = None  # the job whose budget ended the worker
        self._loop: asyncio.AbstractEventLoop | None = None
        self._budget = 0.0
        self._inbox = bytearray()
        # what waits to be written, each message's last piece with its job
        self._outbox: deque[tuple[memoryview, _Job | None]] = deque()
        self._writing = False

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    async def call(
        self, fn: Callable[..., Any], args: tuple[Any, ...], budget: float
    ) -> tuple[str, Any]:
        """Run one job; returns (status, value): ok, error (the job raised, or it or its
        answer cannot be pickled), timeout, unsent (the worker was gone before the job ran,
        or it was killed for the budget of the job before it: it may be run elsewhere),
        died (it went during the job)."""
        try:  # pickled before anything is sent: a failure costs this job only
            message = ForkingPickler.dumps((fn, args))
        except Exception as exc:
            return ("error", describe(exc, 200))
        if self.gone:
            return ("unsent", None)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # the first job of this event loop
            self._loop = loop
            self.sock.setblocking(False)
            loop.add_reader(self.sock.fileno(), self._readable)
        self._budget = budget
        job = _Job(loop.create_future())
        self.jobs.append(job)
        if len(self.jobs) == 1:  # the worker is idle: the job runs from now
            self._arm(job)
        size = len(message)
        head = _SHORT.pack(size) if size <= 0x7FFFFFFF else _SHORT.pack(-1) + _LONG.pack(size)
        if size <= _READ:  # one write for a small job (a steady poll's: ~12 KB)
            self._outbox.append((memoryview(head + message), job))
        else:
            self._outbox.append((memoryview(head), None))
            self._outbox.append((memoryview(message), job))
        del message
        self._flush()
        try:
            return await job.answer
        except asyncio.CancelledError:
            if self.jobs and self.jobs[0] is job:  # running: stopped, with its worker
                self._lost(None)
            # waiting behind another: it runs in its turn and its answer is dropped, and
            # the job ahead of it is left be (found by review: it was killed with it)
            raise

    def _arm(self, job: _Job) -> None:
        assert self._loop is not None
        job.timer = self._loop.call_later(self._budget, self._expire, job)

    def _expire(self, job: _Job) -> None:
        """The running job's budget is spent: its worker is killed — unless its answer has
        begun to arrive.  Then the worker is done with it and only waits for kzfeed to read
        (a big answer does not fit in the socket, and the loop may have been busy storing
        and committing meanwhile: found by review), and the job gets its budget again to be
        read."""
        if not (self.jobs and self.jobs[0] is job):
            return
        self._readable()  # what came while the loop was busy
        if not (self.jobs and self.jobs[0] is job):  # answered whole, or the worker is gone
            return
        if self._inbox:
            self._arm(job)
            return
        self.killed_for = job
        self._lost(None)

    def _flush(self) -> None:
        """Write what waits to be written, as far as the socket takes it now; the rest when
        the loop says it is writable."""
        try:
            while self._outbox:
                view, job = self._outbox[0]
                try:
                    sent = self.sock.send(view)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except (ConnectionResetError, BrokenPipeError):  # the worker died
                    self._readable()  # what it answered before, then its end
                    self._lost(None)
                    return
                if sent < len(view):
                    self._outbox[0] = (view[sent:], job)
                    if not self._writing and self._loop is not None:
                        self._loop.add_writer(self.sock.fileno(), self._flush)
                        self._writing = True
                    return
                self._outbox.popleft()
                if job is not None:
                    job.sent = True
            if self._writing and self._loop is not None:
                self._loop.remove_writer(self.sock.fileno())
                self._writing = False
        except Exception as exc:  # the socket is gone or in an unknown state
            self._lost(describe(exc, 200))

    def _readable(self) -> None:
        if self._loop is None:  # let go of already
            return
        try:
            while True:
                try:
                    chunk = self.sock.recv(_READ)
                except (BlockingIOError, InterruptedError):
                    break
                except (ConnectionResetError, BrokenPipeError):
                    chunk = b""  # the worker died (the OOM killer): as end of file
                if not chunk:  # end of file: the worker is gone, after what it sent whole
                    self._take()
                    self._lost(None)
                    return
                self._inbox += chunk
                if len(chunk) < _READ:
                    break
            self._take()
        except Exception as exc:  # an answer that cannot be read (MemoryError …)
            self._lost(describe(exc, 200))

    def _take(self) -> None:
        """Every whole answer in the inbox, to the jobs they belong to, in order."""
        while len(self._inbox) >= _SHORT.size:
            (size,) = _SHORT.unpack_from(self._inbox)
            start = _SHORT.size
            if size == -1:
                if len(self._inbox) < start + _LONG.size:
                    return
                (size,) = _LONG.unpack_from(self._inbox, start)
                start += _LONG.size
            if len(self._inbox) < start + size or not self.jobs:
                return
            job = self.jobs.popleft()  # read whole: its budget no longer matters
            if job.timer is not None:
                job.timer.cancel()
            if self.jobs:  # the worker went on to the next one when it sent this answer
                self._arm(self.jobs[0])
            with memoryview(self._inbox) as view:
                try:
                    answer: tuple[str, Any] = ForkingPickler.loads(view[start : start + size])
                except Exception as exc:  # the worker is well, whatever these bytes decode to
                    answer = (
                        "error",
                        tr("answer not readable: {reason}").format(reason=describe(exc, 200)),
                    )
            del self._inbox[: start + size]
            if not self._inbox:  # a big answer's room is given back
                self._inbox = bytearray()
            if not job.answer.done():
                job.answer.set_result(answer)

    def _detach(self) -> None:
        """Let go of the socket: off the loop (while it runs), closed."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(Exception):
                loop.remove_reader(self.sock.fileno())
                loop.remove_writer(self.sock.fileno())
        self._writing = False
        self._outbox.clear()
        self._inbox = bytearray()
        with contextlib.suppress(OSError):
            self.sock.close()

    def _lost(self, reason: str | None) -> None:
        """The worker is killed (if it is not already dead) and every job waiting on it has
        its answer: the running one timed out (its budget) or died; the others never ran."""
        self.gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()
        self._detach()
        jobs, self.jobs = list(self.jobs), deque()
        for n, job in enumerate(jobs):
            if job.timer is not None:
                job.timer.cancel()
            if n == 0 and self.killed_for is job:
                status: tuple[str, Any] = ("timeout", None)
            elif n > 0 or not job.sent:  # it never ran: it may run elsewhere
                status = ("unsent", None)
            else:
                status = ("died", reason)
            if not job.answer.done():
                job.answer.set_result(status)

    def kill(self) -> None:
        self._lost(None)
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            self.process.join(2)

    def close(self) -> None:
        """An idle worker: its socket closed, it leaves on end of file."""
        self.gone = True
        self._detach()


class ParsePool:
    """``workers`` processes, forked at once (before any event loop or thread exists: a
    clean fork), idle until a job comes; `run` is called from the event loop.  Each worker
    has ``DEPTH`` slots (jobs sent to it at once, run one after the other).

    Every slot always goes back to the idle queue: a worker that timed out or died is
    replaced (once, for all its slots), and a place whose replacement could not be forked
    (no memory) is tried again by the next job, which fails with that reason if it still
    cannot; so no job ever waits for a worker that will not come."""

    DEPTH = 2

    def __init__(self, workers: int, budget: float) -> None:
        self.budget = budget
        self._context = multiprocessing.get_context("fork")
        self._places: list[_Worker | None] = []
        for _ in range(max(1, workers)):
            self._places.append(self._fork())
        self._idle: asyncio.Queue[int] | None = None
        self._idle_loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def available() -> bool:
        return "fork" in multiprocessing.get_all_start_methods()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._places if w is not None and w.process.pid]

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker; raises JobFailed when it runs past the budget, dies
        or raises (with the reason)."""
        loop = asyncio.get_running_loop()
        if self._idle is None or self._idle_loop is not loop:  # a queue serves one loop
            self._idle, self._idle_loop = asyncio.Queue(), loop
            for _ in range(self.DEPTH):
                for place in range(len(self._places)):
                    self._idle.put_nowait(place)
        place = await self._idle.get()
        status, value = "unsent", None
        worker: _Worker | None = None
        try:
            for _attempt in range(2):  # a worker found gone before the job ran: once more
                worker = self._places[place]
                if worker is None or worker.gone:
                    self._retire(place, worker)
                    worker = self._places[place] = self._fork()
                status, value = await worker.call(fn, args, self.budget)
                if status in ("ok", "error"):
                    break
                self._retire(place, worker)
                if status != "unsent":
                    break
        except OSError as exc:  # no replacement could be forked
            raise JobFailed(
                tr("cannot start a parser process: {reason}").format(reason=exc)
            ) from None
        except BaseException:  # cancelled (Ctrl-C): the run is ending, no new worker
            if worker is not None and worker.gone:  # it was running: its worker is killed
                self._retire(place, worker)
            raise
        finally:
            self._idle.put_nowait(place)
        if status == "ok":
            return value
        if status == "timeout":
            raise JobFailed(
                tr("parsing took longer than {seconds} s; stopped").format(
                    seconds=f"{self.budget:g}"
                )
            )
        if status in ("died", "unsent"):
            if value:
                raise JobFailed(tr("the parser process died: {reason}").format(reason=value))
            raise JobFailed(tr("the parser process died (out of memory?)"))
        raise JobFailed(tr("parser failed: {reason}").format(reason=value))

    def _fds(self) -> list[int]:
        """kzfeed's ends of the workers' sockets (a new worker closes its copies)."""
        return [w.sock.fileno() for w in self._places if w is not None and w.sock.fileno() >= 0]

    def _fork(self) -> _Worker:
        return _Worker(self._context, self._fds())

    def _retire(self, place: int, worker: _Worker | None) -> None:
        """Kill ``worker`` and free its place (if it still holds it): the next job there
        forks a new one."""
        if worker is None:
            return
        worker.kill()
        if self._places[place] is worker:
            self._places[place] = None

    def shutdown(self) -> None:
        """End every worker: idle ones leave on end of file, a busy one (a cancelled run) is
        killed."""
        workers = [w for w in self._places if w is not None]
        for worker in workers:
            if worker.busy:
                worker.kill()
            else:
                worker.close()
        for worker in workers:
            with contextlib.suppress(OSError, ValueError, AssertionError):
                worker.process.join(0.5)
            if worker.process.is_alive():
                worker.kill()
