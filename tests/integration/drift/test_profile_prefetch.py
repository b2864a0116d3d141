"""The profile step reads chunk k+1 in a background thread while it counts chunk k (seia_drift.prefetch).

A naive read-ahead goes wrong in ways a single-threaded read cannot: the rows read ahead are those of
another moment (a writer commits between two chunks), an error in the reading thread is lost or raised
after the step has committed half of its chunks, or the step leaves while the thread still uses the
connection. These tests make each happen with small chunks and compare with what a user reads.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from tests.integration.drift.test_profile_segments import _assert_equal_to_recount
from tests.support import scenarios

CHUNK = 300  # rows per chunk: the scenario's 2,000 new rows make 7 chunks


def _sketch_rows(reader, mid: int) -> dict:
    """Rows counted per feature over every stored hourly sketch."""
    rows = reader.query(
        "SELECT feature, sum(rows)::int AS n FROM drift_sketches WHERE model_id = %s GROUP BY feature", (mid,)
    )
    return {r["feature"]: r["n"] for r in rows}


def _snapshot(reader, mid: int) -> list:
    return reader.query(
        """SELECT hour, feature, rows, missing, sketch FROM drift_sketches WHERE model_id = %s
           ORDER BY hour, feature""",
        (mid,),
    )


def _approx(sketches: list) -> list:
    """Stored sketches, their floats compared to the last few digits (sums of other row orders)."""
    return [
        {k: (pytest.approx(v, rel=1e-12, abs=1e-9) if isinstance(v, float) else v) for k, v in s["sketch"].items()}
        | {"hour": s["hour"], "feature": s["feature"], "rows": s["rows"], "missing": s["missing"]}
        for s in sketches
    ]


def _plain(sketches: list) -> list:
    return [
        s["sketch"] | {"hour": s["hour"], "feature": s["feature"], "rows": s["rows"], "missing": s["missing"]}
        for s in sketches
    ]


def test_a_writer_committing_between_two_chunks_is_counted_by_the_next_run_once(
    drift_tenant, engine, reader, monkeypatch
):
    """A writer whose rows lie inside the seq range of the run's chunks (it inserted them between two
    inserts of a transaction that committed before the run) is still open when the run chooses its horizon,
    and commits while a later chunk is read ahead: its rows are in no chunk of this run, though the chunks
    after its commit see them committed; the next run counts them, once. The stored sketches and segments
    then equal one run over all rows."""
    from seia import partitions
    from seia.repositories.records import PredictionRepository
    from seia_drift.repositories.sketches import SketchRepository
    from seia_drift.steps import profile

    monkeypatch.setattr(profile, "CHUNK_ROWS", CHUNK)
    data = scenarios.generate("covariate_shift", 3)
    first, late = data.predictions[:1800], data.predictions[1800:]  # 6 chunks, then 200 rows
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "pf-writer", dataclasses.replace(data, predictions=[], ground_truths=[]))
    mid = reader.model_id("pf-writer")
    with drift_tenant.connect() as conn:  # the rows' leaves exist: neither writer waits for the other's
        partitions.ensure_partitions(
            conn, mid, scenarios.WINDOW_DAY - timedelta(days=1), scenarios.WINDOW_DAY + timedelta(days=2)
        )

    with drift_tenant.connect() as early, drift_tenant.connect() as slow:
        early.execute("BEGIN")
        PredictionRepository(early).add(mid, first[:900])
        slow.execute("BEGIN")
        PredictionRepository(slow).add(mid, late)  # seqs after the first 900 rows', before the next 900's
        PredictionRepository(early).add(mid, first[900:])
        early.execute("COMMIT")
        seqs = reader.query("SELECT min(seq) AS lo, max(seq) AS hi FROM predictions WHERE model_id = %s", (mid,))
        (lo, hi) = seqs[0]["lo"], seqs[0]["hi"]

        real_fetch = SketchRepository.fetch
        threads: list[str] = []

        def fetch(self, *args, **kwargs):
            threads.append(threading.current_thread().name)
            if len(threads) == 3:  # chunk 1 is read ahead, in the thread: the slow writer commits first
                slow.execute("COMMIT")
            return real_fetch(self, *args, **kwargs)

        monkeypatch.setattr(SketchRepository, "fetch", fetch)
        report = engine.run(drift_tenant.tenant, "pf-writer")

    inside = reader.query(
        "SELECT count(*) AS n FROM predictions WHERE model_id = %s AND seq > %s AND seq < %s AND prediction_id = ANY(%s)",
        (mid, lo, hi, [r[0] for r in late]),
    )
    assert inside[0]["n"] == len(late)  # the writer's rows are inside the run's seq range
    assert report["profile"]["rows"] == 1800
    assert len(threads) == 12  # the numeric and the categorical values of each chunk
    assert all(name.startswith("seia-prefetch") for name in threads), threads  # not the counting thread
    assert _sketch_rows(reader, mid)["x0"] == 1800  # none of the writer's rows, though it committed mid-run
    _assert_equal_to_recount(drift_tenant, reader, "pf-writer")

    monkeypatch.setattr(SketchRepository, "fetch", real_fetch)
    report = engine.run(drift_tenant.tenant, "pf-writer")
    assert report["profile"]["rows"] == len(late)
    assert _sketch_rows(reader, mid)["x0"] == len(data.predictions)
    _assert_equal_to_recount(drift_tenant, reader, "pf-writer")

    # the same rows stored at once, profiled in one run (and one chunk), give the same sketches
    monkeypatch.setattr(profile, "CHUNK_ROWS", 1_000_000)
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "pf-once", dataclasses.replace(data, ground_truths=[]))
    engine.run(drift_tenant.tenant, "pf-once")
    assert _plain(_snapshot(reader, mid)) == _approx(_snapshot(reader, reader.model_id("pf-once")))


def test_an_error_in_the_reading_thread_is_the_steps_error_and_leaves_nothing_written(
    drift_tenant, engine, reader, monkeypatch
):
    """A chunk read ahead fails (here: the connection's statement is cancelled by the server): the run
    raises that error, after the chunks before it were merged in the step's transaction, and nothing of
    the step stays (no sketch, segment or watermark). The rerun counts every row once."""
    import psycopg

    from seia_drift.repositories.sketches import SketchRepository
    from seia_drift.steps import profile

    monkeypatch.setattr(profile, "CHUNK_ROWS", CHUNK)
    data = scenarios.generate("covariate_shift", 4)
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "pf-error", dataclasses.replace(data, ground_truths=[]))
    mid = reader.model_id("pf-error")

    real_fetch = SketchRepository.fetch
    calls: list[str] = []
    written: list[int] = []  # sketches the step's transaction held when the read failed

    def fetch(self, *args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 6:  # chunk 2's categorical values, read after chunk 0's counts were stored
            stored = self.conn.execute("SELECT count(*) FROM drift_sketches WHERE model_id = %s", (mid,)).fetchone()
            written.append(stored[0])
            # a server-side error on the step's own connection, as a cancelled or failed COPY raises
            self.conn.execute("SELECT 1 / 0")
        return real_fetch(self, *args, **kwargs)

    monkeypatch.setattr(SketchRepository, "fetch", fetch)
    with pytest.raises(psycopg.errors.DivisionByZero):
        engine.run(drift_tenant.tenant, "pf-error")
    assert calls[5].startswith("seia-prefetch")
    assert written and written[0] > 0  # chunks were stored in the transaction, then rolled back
    assert _sketch_rows(reader, mid) == {}
    assert reader.query("SELECT count(*) AS n FROM drift_segments_hourly WHERE model_id = %s", (mid,))[0]["n"] == 0
    steps = {r["step"] for r in reader.query("SELECT step FROM drift_watermarks WHERE model_id = %s", (mid,))}
    assert "profile" not in steps and "segments" not in steps

    monkeypatch.setattr(SketchRepository, "fetch", real_fetch)
    report = engine.run(drift_tenant.tenant, "pf-error")
    assert report["profile"]["rows"] == len(data.predictions)
    assert _sketch_rows(reader, mid)["x0"] == len(data.predictions)
    _assert_equal_to_recount(drift_tenant, reader, "pf-error")


def test_a_failure_while_counting_waits_for_the_read_ahead_before_the_transaction_ends(
    drift_tenant, engine, reader, monkeypatch
):
    """The counting thread fails while the next chunk is being read on the connection: the step's error is
    raised (not a psycopg error about a connection in use), once the read has ended, and the rerun is whole."""
    from seia_drift.repositories.sketches import SketchRepository
    from seia_drift.steps import profile

    monkeypatch.setattr(profile, "CHUNK_ROWS", CHUNK)
    data = scenarios.generate("covariate_shift", 5)
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "pf-count", dataclasses.replace(data, ground_truths=[]))
    mid = reader.model_id("pf-count")

    real_fetch, real_count = SketchRepository.fetch, SketchRepository.numeric_counts
    reading, release, read_ended = threading.Event(), threading.Event(), threading.Event()
    calls: list[int] = []

    def fetch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return real_fetch(self, *args, **kwargs)
        reading.set()  # chunk 0's categorical values are being read while its numeric values are counted
        release.wait(10)
        try:
            return real_fetch(self, *args, **kwargs)
        finally:
            read_ended.set()

    def numeric_counts(self, *args, **kwargs):
        real_count(self, *args, **kwargs)
        assert reading.wait(10)
        release.set()  # the read goes on while the error leaves the step
        raise RuntimeError("counting failed")

    monkeypatch.setattr(SketchRepository, "fetch", fetch)
    monkeypatch.setattr(SketchRepository, "numeric_counts", numeric_counts)
    with pytest.raises(RuntimeError, match="counting failed"):
        engine.run(drift_tenant.tenant, "pf-count")
    assert read_ended.is_set()
    assert _sketch_rows(reader, mid) == {}

    monkeypatch.setattr(SketchRepository, "fetch", real_fetch)
    monkeypatch.setattr(SketchRepository, "numeric_counts", real_count)
    report = engine.run(drift_tenant.tenant, "pf-count")
    assert report["profile"]["rows"] == len(data.predictions)
    _assert_equal_to_recount(drift_tenant, reader, "pf-count")
