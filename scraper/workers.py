"""Work off the event loop, under a time budget: the only module that knows pebble.

Reading a page, a feed or a sitemap can take long on a big or hostile input (a page
of 200,000 nested elements, a feed of 50,000 items). The daemon hands such work to a
pool of worker processes and only awaits its future, so the loop goes on scheduling,
fetching and committing. A task over its budget is stopped, its worker process is
replaced by a fresh one, and the caller gets :class:`OverBudget`. ``scraper extract
--jsonl --workers N`` uses the same pool from threads, through :meth:`Workers.submit`.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")
# Loaded in each worker before its first task, so no budget is spent on imports (a forked
# worker has them from the daemon already).
DAEMON_MODULES = ("scraper.pipeline",)


class WorkerError(Exception):
    """A task did not finish; the message says why, as one line."""


class OverBudget(WorkerError):
    """The task took longer than the budget; its worker was replaced."""


class PoolBroken(WorkerError):
    """A worker died before pebble knew which task it held, so pebble failed every task
    then under way; the next task starts a new pool. The task may be tried again."""


def _start_worker(warm: Sequence[str]) -> None:
    """Runs in each worker before its first task."""
    # A forked worker inherits the daemon's signal handling: asyncio's wakeup fd would tell
    # the daemon's loop of a SIGTERM sent to the worker (how an over-budget task is stopped)
    # and stop the daemon. The worker dies on SIGTERM; Ctrl-C is the daemon's to handle.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in warm:
        importlib.import_module(name)


def _ready() -> None:
    """A task that does nothing: scheduling it starts the workers."""


class Workers:
    """A pool of ``workers`` processes; each task may run for ``budget`` seconds (None: no
    limit), in a worker that has imported the ``warm`` modules."""

    def __init__(
        self, workers: int, budget: float | None, warm: Sequence[str] = DAEMON_MODULES
    ) -> None:
        self.budget = budget
        self._workers = workers
        self._warm = tuple(warm)
        self._closed = False
        self._replacing = threading.Lock()  # submit may be called from several threads
        self._pool = self._start()

    def _start(self) -> ProcessPool:
        # Forked (pebble's default on Linux): a worker starts at once with the daemon's
        # modules, where a spawned one spent seconds importing before its first page. The
        # daemon makes the pool before it opens the archive; a worker forked later to replace
        # one holds the archive's lock descriptor too, and leaves when the daemon is gone
        # (its pipe closes), within a second even after a SIGKILL.
        pool = ProcessPool(
            max_workers=self._workers,
            initializer=_start_worker,
            initargs=(self._warm,),
            context=multiprocessing.get_context("fork"),
        )
        # Start the workers now, while the daemon starts, not at the first page it reads.
        pool.schedule(_ready)
        return pool

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker; its result, or :class:`WorkerError`.

        ``function`` and its arguments must be picklable (a module-level function and
        frozen dataclasses). Cancelling the await stops the task and its worker.
        """
        future = self.submit(function, *args)
        try:
            return await asyncio.wrap_future(future)
        except (TimeoutError, ProcessExpired, BrokenProcessPool) as exc:
            raise self._failure(exc) from None

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Start ``function(*args)`` in a worker (same rules as :meth:`run`); read its
        result with :meth:`result`. Safe to call from any thread."""
        with self._replacing:
            if not self._closed and not self._pool.active:
                broken, self._pool = self._pool, self._start()
                broken.stop()  # type: ignore[no-untyped-call]
                broken.join(timeout=5)  # its threads have ended; its idle workers go now
            future: Future[T] = self._pool.schedule(function, args=args, timeout=self.budget)
        return future

    def result(self, future: Future[T]) -> T:
        """The result of a :meth:`submit`, waiting for it; or :class:`WorkerError`."""
        try:
            return future.result()
        except (TimeoutError, ProcessExpired, BrokenProcessPool) as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: TimeoutError | ProcessExpired | BrokenProcessPool) -> WorkerError:
        if isinstance(exc, BrokenProcessPool):
            return PoolBroken(f"stopped: the worker pool broke ({exc})")
        if isinstance(exc, ProcessExpired):
            return WorkerError(f"stopped: its worker died ({exc})")
        if self.budget is None:  # the task's own TimeoutError
            return WorkerError(f"{type(exc).__name__}: {exc}")
        return OverBudget(f"exceeded {self.budget:g}s budget")

    def close(self, wait: bool = True) -> None:
        """Stop the workers (a task still running is abandoned) and wait for them.

        ``wait=False`` for a process about to exit: it returns at once, not after the
        pool's next tick (0.1 s), and pebble's exit hook ends the workers as it exits.
        """
        with self._replacing:
            self._closed = True
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        if wait:
            self._pool.join(timeout=5)
