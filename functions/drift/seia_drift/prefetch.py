"""PostgreSQL's work and numpy's at once: the connection's work in a background thread, on one connection.

The profile step reads each chunk of new rows with two COPYs (PostgreSQL's CPU: scanning the rows and
sending their values), counts it (the worker's CPU), then merges and stores the counts (PostgreSQL's CPU
again: the sketches' JSON, the segment rows). One after the other, each side waits for the other. With
:class:`ConnectionThread`, every statement of the loop runs in one background thread, in the order it
was submitted, while the calling thread counts: while chunk k's numeric values are counted, its
categorical values are read and chunk k-1's counts are stored; while its categorical values are counted,
chunk k+1 is read (``seia_drift.steps.profile``). It is the step's **own connection and transaction**; the calling thread issues no
statement until :meth:`ConnectionThread.drain` (psycopg would serialise them anyway). One connection, not
a second one, because

* a second connection would take its own locks on ``predictions``: a retention ``DROP`` of a leaf queued
  behind the step's transaction (it needs ACCESS EXCLUSIVE on the parent) would queue the second
  connection's ACCESS SHARE behind it, while the step waits for that connection: a wait PostgreSQL cannot
  see as a deadlock (the ``DROP`` gives up after its lock timeout, and retention with it);
* the drift function's bound is two connections (admin + tenant; ``seia.db.Databases``);
* the statements run in the same order as without the thread, in the same transaction: the same rows
  are read (transactions in ``[watermark, horizon)`` have all ended once the horizon is chosen, so a
  chunk read later sees the same rows; a writer committing meanwhile has an id at or above the horizon),
  and the same change numbers are drawn.

An error in the thread is raised in the caller by the next :meth:`result` or :meth:`drain` (the first
error, in submission order: a later statement fails only because the transaction is aborted). Leaving
the block cancels the work not started and waits for the running one, so the transaction is rolled back
only once the connection is free.

CPython's GIL: the reading thread needs it for each message it takes from the socket, and a thread
waiting for it gets it only after the switch interval (5 ms) unless the counting thread releases it
first; at 5 ms the read would stall most of the time. The switch interval is lowered while a
:class:`ConnectionThread` is open (restored on exit).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")

SWITCH_INTERVAL = 0.0002  # seconds (CPython's default is 0.005)


class ConnectionThread:
    """Runs submitted work in one background thread, in submission order.

    ::

        with ConnectionThread() as db:
            ahead = db.submit(read, 0)
            for k in range(n):
                data = db.result(ahead)               # chunk k (or the first error of the work before it)
                if k + 1 < n:
                    ahead = db.submit(read, k + 1)    # read while chunk k is counted
                counts = count(data)                  # no statement here
                db.submit(store, counts)              # after the read of chunk k + 1
            db.drain()                                # every store done: the connection is the caller's
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._submitted: list[Future[Any]] = []  # in submission order, not yet known to have succeeded
        self._interval: float | None = None

    def __enter__(self) -> ConnectionThread:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seia-prefetch")
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._pool is not None:
                # work not started is dropped; the running one ends before the transaction does
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        finally:
            self._submitted.clear()
            if self._interval is not None:
                sys.setswitchinterval(self._interval)
                self._interval = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        assert self._pool is not None, "submit inside the with block"
        future = self._pool.submit(fn, *args)
        self._submitted.append(future)
        return future

    def result(self, future: Future[T]) -> T:
        """The future's result, once it and the work submitted before it have run; raises the first error."""
        wait([future])
        self._raise_first_error(upto=future)
        return future.result()

    def drain(self) -> None:
        """Wait for every submitted work; raises the first error."""
        if self._submitted:
            self.result(self._submitted[-1])

    def _raise_first_error(self, upto: Future[Any]) -> None:
        done = 0
        for future in self._submitted:
            if not future.done():
                break
            error = future.exception()
            if error is not None:
                raise error
            done += 1
            if future is upto:
                break
        del self._submitted[:done]
