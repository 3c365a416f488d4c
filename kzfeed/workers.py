"""Worker processes for parsing: every job under a deadline, no worker outliving kzfeed.

Parsing is CPU work on hostile bytes, and nothing bounds the time a parser may take on
them but a clock.  Each worker is a forked process with a pipe of its own; a job still
running when its budget is spent has its worker killed (SIGKILL) and replaced, and comes
back as a `JobFailed` that names the reason — the feed fails, the run goes on.

Workers die with kzfeed: on Linux the kernel kills them when the process that forked them
ends (``PR_SET_PDEATHSIG``), however it ends (``timeout 60 kzfeed update`` from cron, a
SIGKILL, a crash); elsewhere an idle worker leaves when its pipe closes.  They ignore
SIGINT: Ctrl-C is for kzfeed itself, which then ends them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
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
    """A worker's life: run jobs from the pipe until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent_pid)
    # fresh stream objects: a thread of kzfeed's may have held the old ones' locks at the
    # fork (a replacement worker is forked mid-run), and a warning must not wait on them
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's life
    for fd in siblings:  # kzfeed's ends of the other workers' pipes, inherited by the fork:
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


class _Watchdog:
    """One thread that runs what is due when a job's budget is spent (kills its worker),
    instead of a timer thread started for every job (500 of them cost 50 ms of CPU)."""

    def __init__(self) -> None:
        self._due = threading.Condition()
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> int:
        with self._due:
            token = next(self._count)
            when = time.monotonic() + seconds
            first = min((w for w, _a in self._armed.values()), default=None)
            self._armed[token] = (when, action)
            if self._thread is None or not self._thread.is_alive():
                # started here, not at import: a process forked later has no such thread
                self._thread = threading.Thread(
                    target=self._watch, name="kzfeed-parse-watchdog", daemon=True
                )
                self._thread.start()
            elif first is None or when < first:
                self._due.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._due:
            self._armed.pop(token, None)

    def _watch(self) -> None:
        while True:
            with self._due:
                now = time.monotonic()
                due = [t for t, (when, _a) in self._armed.items() if when <= now]
                actions = [self._armed.pop(t)[1] for t in due]
                if not actions:
                    first = min((w for w, _a in self._armed.values()), default=now + 60)
                    self._due.wait(max(first - now, 0.001))
                    continue
            for action in actions:
                action()


_WATCHDOG = _Watchdog()


class _Worker:
    """One worker process and kzfeed's end of its pipe.  Up to ``DEPTH`` jobs are sent to
    it at once: the next one waits in the pipe while the worker runs the current one, so
    the worker goes from one job straight to the next instead of waiting a few
    milliseconds for kzfeed to hear its answer and send another (a cold update's workers
    spent about a third of their time so).  Answers come back in the order the jobs went."""

    def __init__(self, context: Any, siblings: list[int]) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_serve,
            args=(child_end, os.getpid(), [*siblings, parent_end.fileno()]),
            daemon=True,
            name="kzfeed-parse",
        )
        self.process.start()
        child_end.close()
        self.conn: Connection = parent_end
        self._send = threading.Lock()  # one job into the pipe at a time, in ticket order
        self._turn = threading.Condition()
        self._sent = 0  # jobs sent so far
        self._answered = 0  # jobs whose answer was read (or will never be)
        self.gone = False  # failed on a job: none sent after it ever ran
        self.killed_for: int | None = None  # the job whose budget ended the worker

    @property
    def busy(self) -> bool:
        return self._answered < self._sent

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], budget: float) -> tuple[str, Any]:
        """Run one job (in a thread of the pool: it blocks until the answer or the budget).
        The budget counts from the moment the worker is on this job (the answer to the job
        before it read); the watchdog then kills the worker when it is spent, whatever the
        job is doing: computing, or stuck sending or receiving a large message through the
        pipe.  Returns (status, value): ok, error (the job raised, or it or its answer
        cannot be pickled), timeout, unsent (the worker was gone before the job ran, or
        killed for another job's budget: it may be run elsewhere), died (it went during
        the job)."""
        try:  # pickled before anything goes into the pipe: a failure costs this job only
            message = ForkingPickler.dumps((fn, args))
        except Exception as exc:
            return ("error", describe(exc, 200))
        with self._send:
            if self._lost():
                return ("unsent", None)
            ticket = self._sent
            try:
                self.conn.send_bytes(message)
            except Exception:  # the pipe is gone or in an unknown state: not this worker
                self._give_up()
                return ("unsent", None)
            self._sent += 1
        del message
        with self._turn:
            # its turn: the answers before it read (or the worker gone on one of them)
            self._turn.wait_for(lambda: self._answered >= ticket or self.gone)
            if self._lost():  # it failed on an earlier job: this one never ran
                self._answered += 1
                return ("unsent", None)
        read = False  # this job's answer is read whole: its budget no longer matters

        def expire() -> None:
            with self._turn:
                if read:
                    return
                self.killed_for = ticket
                self.gone = True
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self.process.kill()

        status: tuple[str, Any] = ("died", None)
        raw = None
        timer: int | None = None
        try:
            timer = _WATCHDOG.arm(budget, expire)
            if self.conn.poll(budget):
                raw = self.conn.recv_bytes()
                with self._turn:
                    read = True
            else:
                status = ("timeout", None)
        except (EOFError, OSError):
            status = ("timeout" if self.killed_for == ticket else "died", None)
        except Exception as exc:  # the answer cannot be read (MemoryError …)
            status = ("died", describe(exc, 200))
        finally:
            if timer is not None:
                _WATCHDOG.disarm(timer)
            with self._turn:
                if raw is None and self.killed_for is not None and self.killed_for != ticket:
                    status = ("unsent", None)  # killed for another job's budget: run again
                if raw is None:  # no answer: whatever the worker is doing, it is not this
                    self.gone = True
                self._answered += 1
                self._turn.notify_all()
        if raw is None:
            return status
        try:  # read whole: the worker is well, whatever these bytes decode to
            answer: tuple[str, Any] = ForkingPickler.loads(raw)
        except Exception as exc:
            return ("error", tr("answer not readable: {reason}").format(reason=describe(exc, 200)))
        return answer

    def _lost(self) -> bool:
        """Whether the worker is gone — read through a call, so that a type checker does not
        keep the value it saw before a wait (another thread sets it meanwhile)."""
        return self.gone

    def _give_up(self) -> None:
        with self._turn:
            self.gone = True
            self._turn.notify_all()

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()
            self.process.join(2)
        with contextlib.suppress(OSError):
            self.conn.close()


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
        self._threads = concurrent.futures.ThreadPoolExecutor(
            len(self._places) * self.DEPTH, thread_name_prefix="kzfeed-parse-wait"
        )

    @staticmethod
    def available() -> bool:
        return "fork" in multiprocessing.get_all_start_methods()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._places if w is not None and w.process.pid]

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker; raises JobFailed when it runs past the budget, dies
        or raises (with the reason)."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.DEPTH):
                for place in range(len(self._places)):
                    self._idle.put_nowait(place)
        place = await self._idle.get()
        loop = asyncio.get_running_loop()
        status, value = "unsent", None
        worker: _Worker | None = None
        try:
            for _attempt in range(2):  # a worker found gone before the job ran: once more
                worker = self._places[place]
                if worker is None or worker.gone:
                    self._retire(place, worker)
                    worker = self._places[place] = self._fork()
                status, value = await loop.run_in_executor(
                    self._threads, worker.call, fn, args, self.budget
                )
                if status in ("ok", "error"):
                    break
                self._retire(place, worker)
                if status != "unsent":
                    break
        except OSError as exc:  # no replacement could be forked
            raise JobFailed(
                tr("cannot start a parser process: {reason}").format(reason=exc)
            ) from None
        except BaseException:  # cancelled mid-job (Ctrl-C): the run is ending, no new worker
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
        fds = []
        for worker in self._places:
            if worker is not None:
                with contextlib.suppress(OSError, ValueError):
                    fds.append(worker.conn.fileno())
        return fds

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
        """End every worker: idle ones leave on EOF, a busy one (a cancelled run) is killed."""
        workers = [w for w in self._places if w is not None]
        for worker in workers:
            if worker.busy:
                worker.kill()
            else:
                with contextlib.suppress(OSError):
                    worker.conn.close()
        for worker in workers:
            worker.process.join(0.5)
            if worker.process.is_alive():
                worker.kill()
        self._threads.shutdown(wait=True, cancel_futures=True)
