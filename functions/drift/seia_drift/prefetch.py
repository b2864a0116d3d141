"""Read the next chunk while this one is counted: PostgreSQL's work and numpy's at once, on one connection.

The profile step reads each chunk of new rows with two COPYs (PostgreSQL's CPU: scanning the rows and
sending their values) and then counts it (the worker's CPU); one after the other, each side waits for the
other. :class:`Prefetch` runs the reads of chunk k+1 in a background thread while the step counts chunk k,
on the step's **own connection and transaction**: the caller uses the connection only between
:meth:`Prefetch.settle` and its next :meth:`Prefetch.take`, so the two threads never use it at once (psycopg
serialises them anyway). One connection, not a second one, because

* a second connection would take its own locks on ``predictions``: a retention ``DROP`` of a leaf queued
  behind the step's transaction (it needs ACCESS EXCLUSIVE on the parent) would queue the second
  connection's ACCESS SHARE behind it, while the step waits for that connection — a wait PostgreSQL cannot
  see as a deadlock (the ``DROP`` gives up after its lock timeout, and retention with it);
* the drift function's bound is two connections (admin + tenant; ``seia.db.Databases``);
* the rows read are the step's rows without an argument: transactions in ``[watermark, horizon)`` have all
  ended when the horizon is chosen, so every statement of the transaction sees the same rows, whenever
  it runs (a writer committing between two chunks has an id at or above the horizon).

At most one chunk is read ahead (memory: one more chunk's COPY output). An error in the thread is raised in
the caller, by the :meth:`take` or :meth:`settle` that waits for it; leaving the block waits for an
outstanding read first, so the transaction is rolled back only once the connection is free.

CPython's GIL: the reading thread needs it for each message it takes from the socket, and a thread
waiting for it gets it only after the switch interval (5 ms) unless the counting thread releases it
first; at 5 ms the read would stall most of the time. The switch interval is lowered while a
:class:`Prefetch` is open (restored on exit).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

Item = TypeVar("Item")
Data = TypeVar("Data")

SWITCH_INTERVAL = 0.0002  # seconds (CPython's default is 0.005)


class Prefetch(Generic[Item, Data]):
    """``fetch(items[k])`` for each k in turn, the next one in a background thread.

    ::

        with Prefetch(fetch, chunks) as ahead:
            for k in range(len(chunks)):
                data = ahead.take(k)  # chunk k's data; starts reading chunk k + 1
                ...                   # count it: the connection is the reading thread's
                ahead.settle()        # chunk k + 1 is read (or its error raised): the connection is free
                ...                   # write chunk k's counts
    """

    def __init__(self, fetch: Callable[[Item], Data], items: Sequence[Item]):
        self._fetch = fetch
        self._items = items
        self._pending: Future[Data] | None = None
        self._next = 0  # index of the item self._pending reads
        self._pool: ThreadPoolExecutor | None = None
        self._interval: float | None = None

    def __enter__(self) -> Prefetch[Item, Data]:
        if len(self._items) > 1:  # one chunk: nothing to overlap
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seia-prefetch")
            self._interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pending is not None:
                wait([self._pending])  # the connection is free before the transaction ends
                self._pending = None
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            if self._interval is not None:
                sys.setswitchinterval(self._interval)
                self._interval = None

    def take(self, k: int) -> Data:
        """The data of item k (read now if it was not read ahead); starts reading item k + 1."""
        if self._pending is not None and self._next == k:
            pending, self._pending = self._pending, None
            data = pending.result()  # raises the reading thread's error
        else:
            self.settle()
            self._pending = None
            data = self._fetch(self._items[k])
        if k + 1 < len(self._items) and self._pool is not None:
            self._next = k + 1
            self._pending = self._pool.submit(self._fetch, self._items[k + 1])
        return data

    def settle(self) -> None:
        """Wait for the read ahead: the connection is the caller's again. Raises the read's error."""
        if self._pending is not None:
            wait([self._pending])
            error = self._pending.exception()
            if error is not None:
                self._pending = None
                raise error
