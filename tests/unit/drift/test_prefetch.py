"""seia_drift.prefetch.ConnectionThread: work in submission order, the first error raised, nothing left running."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from seia_drift.prefetch import SWITCH_INTERVAL, ConnectionThread


def test_work_runs_in_submission_order_in_one_other_thread():
    done: list[tuple[int, str]] = []

    def work(k: int) -> int:
        time.sleep(0.01 * (3 - k))  # the first is the slowest: order is kept, not completion speed
        done.append((k, threading.current_thread().name))
        return k * 10

    with ConnectionThread() as db:
        futures = [db.submit(work, k) for k in range(3)]
        assert db.result(futures[2]) == 20
        db.drain()
    assert [k for k, _ in done] == [0, 1, 2]
    assert {name for _, name in done} != {threading.current_thread().name}
    assert len({name for _, name in done}) == 1


def test_the_first_error_in_submission_order_is_raised_not_the_one_it_caused():
    """A failed store aborts the transaction, so the read after it fails too: the store's error is the one."""

    def store():
        raise ValueError("the store failed")

    def read():
        raise RuntimeError("current transaction is aborted")

    with pytest.raises(ValueError, match="the store failed"):
        with ConnectionThread() as db:
            db.submit(store)
            ahead = db.submit(read)
            db.result(ahead)


def test_leaving_on_an_error_cancels_work_not_started_and_waits_for_the_running_one():
    started, ended, later = threading.Event(), threading.Event(), []

    def running():
        started.set()
        time.sleep(0.2)
        ended.set()

    with pytest.raises(KeyError):
        with ConnectionThread() as db:
            db.submit(running)
            db.submit(lambda: later.append(1))
            assert started.wait(5)
            raise KeyError("counting failed")
    assert ended.is_set()  # the block left only once the running statement had ended
    assert later == []  # the store queued behind it never ran


def test_the_switch_interval_is_lowered_inside_and_restored():
    before = sys.getswitchinterval()
    with ConnectionThread():
        assert sys.getswitchinterval() == pytest.approx(min(before, SWITCH_INTERVAL), rel=1e-6)
    assert sys.getswitchinterval() == before
