"""Work off the event loop, under a time budget: the only module that knows pebble.

Reading a page, a feed or a sitemap can take long on a big or hostile input (a page
of 200,000 nested elements, a feed of 50,000 items). The daemon hands such work to a
pool of worker processes and only awaits its future, so the loop goes on scheduling,
fetching and committing. A task over its budget is stopped, its worker process is
replaced by a fresh one, and the caller gets :class:`OverBudget`.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import signal
from collections.abc import Callable
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")
# Loaded in each worker before its first task, so no budget is spent on imports (a forked
# worker has them from the daemon already).
_WARM_MODULES = ("scraper.pipeline",)


class WorkerError(Exception):
    """A task did not finish; the message says why, as one line."""


class OverBudget(WorkerError):
    """The task took longer than the budget; its worker was replaced."""


def _start_worker() -> None:
    """Runs in each worker before its first task."""
    # A forked worker inherits the daemon's signal handling: asyncio's wakeup fd would tell
    # the daemon's loop of a SIGTERM sent to the worker (how an over-budget task is stopped)
    # and stop the daemon. The worker dies on SIGTERM; Ctrl-C is the daemon's to handle.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _WARM_MODULES:
        importlib.import_module(name)


def _ready() -> None:
    """A task that does nothing: scheduling it starts the workers."""


class Workers:
    """A pool of ``workers`` processes; each task may run for ``budget`` seconds."""

    def __init__(self, workers: int, budget: float) -> None:
        self.budget = budget
        # Forked (pebble's default on Linux): a worker starts at once with the daemon's
        # modules, where a spawned one spent seconds importing before its first page. The
        # daemon makes the pool before it opens the archive; a worker forked later to replace
        # one holds the archive's lock descriptor too, and leaves when the daemon is gone
        # (its pipe closes), within a second even after a SIGKILL.
        self._pool = ProcessPool(
            max_workers=workers,
            initializer=_start_worker,
            context=multiprocessing.get_context("fork"),
        )
        # Start the workers now, while the daemon starts, not at the first page it reads.
        self._pool.schedule(_ready)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker; its result, or :class:`WorkerError`.

        ``function`` and its arguments must be picklable (a module-level function and
        frozen dataclasses). Cancelling the await stops the task and its worker.
        """
        future = self._pool.schedule(function, args=args, timeout=self.budget)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:
            raise OverBudget(f"exceeded {self.budget:g}s budget") from None
        except ProcessExpired as exc:
            raise WorkerError(f"stopped: its worker died ({exc})") from None

    def close(self) -> None:
        """Stop the workers (a task still running is abandoned) and wait for them."""
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        self._pool.join(timeout=5)
