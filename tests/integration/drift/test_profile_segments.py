"""Cause segments counted while profiling (no second read of the rows) equal a recount from the rows.

The profile step adds each new row to its hour's segments with no label; the labels step recounts from
the rows every hour where a label counts. These tests feed rows in the orders that break a naive
version (a label stored before its row, late rows for old hours, a writer that commits late, corrected
labels, a new reference) and compare what is stored with the old path: every hour recounted from rows.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.support import scenarios


def _stored(reader, mid: int) -> dict:
    rows = reader.query(
        """SELECT hour, feature, segment, rows, pred_sum, pred_n, labeled, err_sum, y_sum
           FROM drift_segments_hourly WHERE model_id = %s""",
        (mid,),
    )
    out = {}
    for r in rows:
        key = (r["hour"], r["feature"], r["segment"])
        assert key not in out, f"{key} stored twice"
        out[key] = (r["rows"], r["pred_sum"], r["pred_n"], r["labeled"], r["err_sum"], r["y_sum"])
    return out


def _recounted(drift_tenant, name: str) -> dict:
    """The old path: every hour's segments counted in SQL from all its rows and labels."""
    from seia.repositories.models import ModelRepository
    from seia_drift.layout import layout
    from seia_drift.repositories.reference import ReferenceRepository
    from seia_drift.repositories.segments import SegmentRepository
    from seia_drift.repositories.sources import Rows, predictions

    with drift_tenant.connect() as conn:
        model = ModelRepository(conn).get(name)
        bins = {f.feature: f for f in ReferenceRepository(conn).features(model.id)}
        lay = layout(model)
        start, end = conn.execute(
            "SELECT min(ts), max(ts) FROM predictions WHERE model_id = %s", (model.id,)
        ).fetchone()
        # the rows the engine has taken so far: those of transactions below its horizon
        (horizon,) = conn.execute(
            "SELECT xid::text::bigint FROM drift_watermarks WHERE model_id = %s AND step = 'profile'", (model.id,)
        ).fetchone()
        source = predictions(Rows(model.id), start - timedelta(hours=1), end + timedelta(hours=1), horizon)
        deciles = {s.position: bins[s.feature].segments or [] for s in lay.numeric if s.source == "feature"}
        counted = SegmentRepository(conn).compute(model, lay, source, deciles)
    return {
        (hour, feature, segment): (st.rows, st.pred_sum, st.pred_n, st.labeled, st.err_sum, st.y_sum)
        for hour, by_key in counted.items()
        for (feature, segment), st in by_key.items()
    }


def _assert_equal_to_recount(drift_tenant, reader, name: str) -> dict:
    stored = _stored(reader, reader.model_id(name))
    recounted = _recounted(drift_tenant, name)
    assert stored.keys() == recounted.keys()
    for key, want in recounted.items():
        got = stored[key]
        # counts exactly; sums of floats added in another order to the last few digits
        assert (got[0], got[2], got[3]) == (want[0], want[2], want[3]), key
        assert got[1] == pytest.approx(want[1], rel=1e-12, abs=1e-9), key
        assert got[4] == pytest.approx(want[4], rel=1e-12, abs=1e-9), key
        assert got[5] == pytest.approx(want[5], rel=1e-12, abs=1e-9), key
    return stored


def _add(drift_tenant, mid, predictions=(), labels=()):
    from seia.repositories.records import GroundTruthRepository, PredictionRepository

    with drift_tenant.connect() as conn, conn.transaction():
        if predictions:
            PredictionRepository(conn).add(mid, list(predictions))
        if labels:
            GroundTruthRepository(conn).add(mid, list(labels))


def _create(drift_tenant, name, data):
    with drift_tenant.connect() as conn:
        scenarios.load(conn, name, dataclasses.replace(data, predictions=[], ground_truths=[]))


def test_segments_counted_while_profiling_equal_a_recount_from_the_rows(drift_tenant, engine, reader):
    """Given rows and labels arriving in every order over several runs, the stored segments equal those
    recounted from the rows after each run, and the incidents and causes equal one run over all rows."""
    from seia.repositories.records import PredictionRepository

    data = scenarios.generate("concept_drift", 5)
    _create(drift_tenant, "seg-inc", data)
    mid = reader.model_id("seg-inc")
    labels = {g[0]: g for g in data.ground_truths}
    rows = data.predictions  # a day in time order
    early, later, last = rows[:800], rows[800:1600], rows[1600:]

    # 1. the first 800 rows, no labels yet
    _add(drift_tenant, mid, predictions=early)
    engine.run(drift_tenant.tenant, "seg-inc")
    _assert_equal_to_recount(drift_tenant, reader, "seg-inc")

    # 2. labels stored before their rows come (unmatched), then the rows: the label is not new when its
    #    row is profiled, so only the labels step's join of new rows with labels recounts those hours
    _add(drift_tenant, mid, labels=[labels[r[0]] for r in later[:300]])
    engine.run(drift_tenant.tenant, "seg-inc")
    _add(drift_tenant, mid, predictions=later)
    engine.run(drift_tenant.tenant, "seg-inc")
    stored = _assert_equal_to_recount(drift_tenant, reader, "seg-inc")
    assert sum(v[3] for k, v in stored.items() if k[1] == "x0") == 300

    # 3. labels for early rows, and late rows for those old hours, in one run
    late_old = [(f"late{i}",) + r[1:] for i, r in enumerate(early[:50])]
    _add(drift_tenant, mid, predictions=late_old, labels=[labels[r[0]] for r in early[:400]])
    engine.run(drift_tenant.tenant, "seg-inc")
    _assert_equal_to_recount(drift_tenant, reader, "seg-inc")

    # 4. a writer that commits after a run that could not see it, with labels for its rows in the same
    #    transaction, while a faster writer commits rows meanwhile
    with drift_tenant.connect() as slow:
        with slow.transaction():
            PredictionRepository(slow).add(mid, last[:200])
            _add(drift_tenant, mid, predictions=last[200:])
            engine.run(drift_tenant.tenant, "seg-inc")
            _assert_equal_to_recount(drift_tenant, reader, "seg-inc")
            from seia.repositories.records import GroundTruthRepository

            GroundTruthRepository(slow).add(mid, [labels[r[0]] for r in last[:100]])
    engine.run(drift_tenant.tenant, "seg-inc")
    engine.run(drift_tenant.tenant, "seg-inc")
    _assert_equal_to_recount(drift_tenant, reader, "seg-inc")

    # 5. every remaining label, and 50 corrected ones
    _add(drift_tenant, mid, labels=[g for g in data.ground_truths])
    engine.run(drift_tenant.tenant, "seg-inc")
    flipped = [(pid, "yes" if y == "no" else "no", None, None) for pid, y, _, _ in data.ground_truths[:50]]
    _add(drift_tenant, mid, labels=flipped)
    engine.run(drift_tenant.tenant, "seg-inc")
    stored = _assert_equal_to_recount(drift_tenant, reader, "seg-inc")
    assert sum(v[0] for k, v in stored.items() if k[1] == "x0") == 2050
    assert sum(v[3] for k, v in stored.items() if k[1] == "x0") == 2000

    # the same rows and labels (late rows included) stored at once and run once give the same verdicts,
    # incidents and causes
    final = {g[0]: g for g in data.ground_truths} | {g[0]: g for g in flipped}
    once = dataclasses.replace(data, predictions=rows + late_old, ground_truths=list(final.values()))
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "seg-once", once)
    engine.run(drift_tenant.tenant, "seg-once")
    _assert_equal_to_recount(drift_tenant, reader, "seg-once")
    incremental, whole = _outcome(reader, "seg-inc"), _outcome(reader, "seg-once")
    assert incremental["incidents"], "the scenario opens incidents"
    assert incremental["causes"], "and names causes"
    assert incremental == whole


def _outcome(reader, name: str) -> dict:
    """What a user reads: verdicts per window and feature, incidents, their causes (scores to 9 digits:
    the segments' float sums were added in another order)."""
    snap = reader.snapshot(name)
    return {
        "verdicts": [
            (r["window_start"], r["feature"], r["rows"], r["verdict"], r["severity"]) for r in snap["drift_results"]
        ],
        "windows": [(w["window_start"], w["rows"], w["labeled"], w["status"]) for w in snap["drift_windows"]],
        "incidents": [
            (i["kind"], i["subject"], i["condition"], i["first_window_start"], i["status"], i["peak_severity"])
            for i in snap["incidents"]
        ],
        "causes": [
            (c["kind"], c["subject"], c["rank"], c["feature"], c["segment"], round(c["score"], 9), c["sentence"])
            for c in snap["incident_causes"]
        ],
    }


def test_a_new_reference_recounts_segments_on_its_deciles(drift_tenant, engine, reader):
    """Given stored segments, a new reference (new deciles) drops them and the profile step counts every
    row again on the new deciles: equal to a recount."""
    from seia.repositories.records import ReferenceRepository

    data = scenarios.generate("covariate_shift", 6)
    _create(drift_tenant, "seg-ref", data)
    mid = reader.model_id("seg-ref")
    _add(drift_tenant, mid, predictions=data.predictions[:1000], labels=data.ground_truths[:500])
    engine.run(drift_tenant.tenant, "seg-ref")
    before = _assert_equal_to_recount(drift_tenant, reader, "seg-ref")
    new_reference = [row + (label, None) for row, (_, label, _, _) in zip(data.predictions, data.ground_truths)]
    with drift_tenant.connect() as conn, conn.transaction():
        ReferenceRepository(conn).add(mid, new_reference, replace=True)
    _add(drift_tenant, mid, predictions=data.predictions[1000:])
    engine.run(drift_tenant.tenant, "seg-ref")
    after = _assert_equal_to_recount(drift_tenant, reader, "seg-ref")
    assert {k for k in after if k[1] == "x1"} != {k for k in before if k[1] == "x1"}  # other deciles
    assert sum(v[0] for k, v in after.items() if k[1] == "x1") == 2000


def test_segments_stored_by_an_earlier_version_are_recounted_once_then_added(drift_tenant, engine, reader):
    """Given a model whose segments an earlier version counted (no ``segments`` watermark), the next run
    recounts its touched hours as before; the run after adds new rows while profiling."""
    data = scenarios.generate("stationary", 12)
    _create(drift_tenant, "seg-upgrade", data)
    mid = reader.model_id("seg-upgrade")
    _add(drift_tenant, mid, predictions=data.predictions[:1000])
    engine.run(drift_tenant.tenant, "seg-upgrade")
    with drift_tenant.connect() as conn, conn.transaction():  # as an earlier version left it
        conn.execute("DELETE FROM drift_watermarks WHERE model_id = %s AND step = 'segments'", (mid,))
    _add(drift_tenant, mid, predictions=data.predictions[1000:1500], labels=data.ground_truths[:200])
    engine.run(drift_tenant.tenant, "seg-upgrade")
    _assert_equal_to_recount(drift_tenant, reader, "seg-upgrade")
    _add(drift_tenant, mid, predictions=data.predictions[1500:])
    engine.run(drift_tenant.tenant, "seg-upgrade")
    stored = _assert_equal_to_recount(drift_tenant, reader, "seg-upgrade")
    assert sum(v[0] for k, v in stored.items() if k[1] == "c0") == 2000


def test_regression_segments_sum_the_predicted_value(drift_tenant, engine, reader, api):
    """A regression model's segments carry the predicted value (pred_sum) and, once labelled, the absolute
    errors and labels; counted while profiling or recounted, they are equal."""
    model = {
        "name": "seg-reg",
        "task": "regression",
        "features": [{"name": "amount", "type": "numeric"}, {"name": "region", "type": "categorical"}],
    }
    assert api.post("/v1/models", drift_tenant.api_key, json=model).status == 201

    def records(n, prefix, label):
        out = []
        for i in range(n):
            rec = {
                "prediction_id": f"{prefix}{i}",
                "features": {"amount": (i % 97) * 1.5 if i % 11 else None, "region": ["n", "s", "e\tw"][i % 3]},
                "prediction": i * 0.25,
                "timestamp": (scenarios.WINDOW_DAY + timedelta(seconds=i * 40)).isoformat(),
            }
            if label:
                rec["label"] = i * 0.25 + (i % 5)
            out.append(rec)
        return out

    reference = {"records": records(1200, "r", True)}
    assert api.post("/v1/models/seg-reg/reference", drift_tenant.api_key, json=reference).status == 202
    body = {"records": records(1500, "p", False)}
    assert api.post("/v1/models/seg-reg/predictions", drift_tenant.api_key, json=body).status == 202
    engine.run(drift_tenant.tenant, "seg-reg")
    _assert_equal_to_recount(drift_tenant, reader, "seg-reg")
    truths = {"records": [{"prediction_id": f"p{i}", "label": i * 0.25 + 1} for i in range(0, 1500, 2)]}
    assert api.post("/v1/models/seg-reg/ground-truths", drift_tenant.api_key, json=truths).status == 202
    engine.run(drift_tenant.tenant, "seg-reg")
    stored = _assert_equal_to_recount(drift_tenant, reader, "seg-reg")
    assert sum(v[3] for k, v in stored.items() if k[1] == "region") == 750
    assert sum(v[4] for k, v in stored.items() if k[1] == "region") == pytest.approx(750.0)
    assert {k[2] for k in stored if k[1] == "region"} == {"n", "s", "e\tw"}


def test_a_segment_field_is_counted_as_a_categorical_candidate_while_profiling_and_recounted(
    drift_tenant, engine, reader, api
):
    """A declared segment field (docs/segments.md) is one more categorical candidate of the causes, under its
    name: counted from the rows' seg[] while profiling (here a model with no categorical feature at all) and
    recounted from the rows once labelled, equal; a row without a value is the field's missing segment."""
    model = {
        "name": "seg-field",
        "task": "regression",
        "features": [{"name": "amount", "type": "numeric"}],
        "segments": ["channel"],
    }
    assert api.post("/v1/models", drift_tenant.api_key, json=model).status == 201

    def records(n, prefix, label):
        out = []
        for i in range(n):
            rec = {
                "prediction_id": f"{prefix}{i}",
                "features": {"amount": (i % 97) * 1.5},
                "prediction": i * 0.25,
                "timestamp": (scenarios.WINDOW_DAY + timedelta(seconds=i * 40)).isoformat(),
            }
            if i % 4:
                rec["segments"] = {"channel": ["web", "app", "a\tb\\c"][i % 3]}
            if label:
                rec["label"] = i * 0.25 + (i % 5)
            out.append(rec)
        return out

    reference = {"records": records(1200, "r", True)}
    assert api.post("/v1/models/seg-field/reference", drift_tenant.api_key, json=reference).status == 202
    body = {"records": records(1500, "p", False)}
    assert api.post("/v1/models/seg-field/predictions", drift_tenant.api_key, json=body).status == 202
    report = engine.run(drift_tenant.tenant, "seg-field")
    assert report["profile"]["segments"] is True  # counted while profiling, not by the labels step
    stored = _assert_equal_to_recount(drift_tenant, reader, "seg-field")
    channel = {}
    for (_, feature, segment), v in stored.items():
        if feature == "channel":
            channel[segment] = channel.get(segment, 0) + v[0]
    assert channel == {None: 375, "web": 375, "app": 375, "a\tb\\c": 375}
    truths = {"records": [{"prediction_id": f"p{i}", "label": i * 0.25 + 1} for i in range(0, 1500, 2)]}
    assert api.post("/v1/models/seg-field/ground-truths", drift_tenant.api_key, json=truths).status == 202
    engine.run(drift_tenant.tenant, "seg-field")
    stored = _assert_equal_to_recount(drift_tenant, reader, "seg-field")
    assert sum(v[3] for k, v in stored.items() if k[1] == "channel") == 750
    ref = reader.query(
        "SELECT segment, rows FROM drift_segments_reference WHERE model_id = %s AND feature = 'channel'",
        (reader.model_id("seg-field"),),
    )
    assert {r["segment"]: r["rows"] for r in ref} == {None: 300, "web": 300, "app": 300, "a\tb\\c": 300}
