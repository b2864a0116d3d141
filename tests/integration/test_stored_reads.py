"""Reads that are stored, not recomputed (tenant migration 0011, docs/reads.md).

The engine stores every window at hour and day granularity and keeps daily rollups; the query API reads
them. Each test compares what is stored with what the query path computes from the hourly sketches (the
only path before the migration, kept for histories the engine has not yet rewritten): the same windows,
statistics, verdicts and metrics.

Data: a calm day of 600 rows on 2026-11-02, then 1,800 rows over 2026-11-03 and 04 with x1 shifted by one
standard deviation (tests/support/scenarios.py), all labelled. A range over the three days pools 600 calm
and 1,800 shifted rows: an average of the days' statistics would weigh the calm day as much as each of the
others.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import scenarios

DAY_A = datetime(2026, 11, 2, tzinfo=UTC)
FIRST, LAST = "2026-11-02T00:00:00Z", "2026-11-05T00:00:00Z"
MIGRATION = next((Path(__file__).parents[2] / "layers/shared/python/seia/migrations/tenant").glob("0011_*.sql"))


def _rows(data: scenarios.ScenarioData, start: datetime, span: timedelta, n: int, prefix: str):
    """n of the scenario's prediction rows, spread evenly over [start, start + span), with their labels."""
    labels = {g[0]: g for g in data.ground_truths}
    predictions, truths = [], []
    for i, row in enumerate(data.predictions[:n]):
        predictions.append((f"{prefix}{i}", start + span * (i / n), *row[2:]))
        truths.append((f"{prefix}{i}", *labels[row[0]][1:]))
    return predictions, truths


def _load(conn, name: str, settings: dict | None = None) -> None:
    calm, shift = scenarios.generate("stationary", 1), scenarios.generate("covariate_shift", 1)
    p1, t1 = _rows(calm, DAY_A, timedelta(days=1), 600, "a")
    p2, t2 = _rows(shift, DAY_A + timedelta(days=1), timedelta(days=2), 1800, "b")
    data = scenarios.ScenarioData("mix", 1, "x1", calm.reference, p1 + p2, t1 + t2)
    scenarios.load(conn, name, data, settings)


def _run(settings, tenant, *names):
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    databases = WorkerDatabases(settings)
    try:
        engine = DriftEngine(databases)
        for name in names:
            engine.run(tenant.tenant, name)
    finally:
        databases.close()


@pytest.fixture(scope="module")
def world(tenant_admin, settings):
    from tests.conftest import TenantHandle

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("r" + secrets.token_hex(4)))
    with tenant.connect() as conn:
        _load(conn, "daily")
        _load(conn, "hourly", {"window": "hour"})
        _load(conn, "late")
        _load(conn, "old")
    _run(settings, tenant, "daily", "hourly", "late", "old")
    return {"tenant": tenant}


def _get(api, world, path, **params):
    query = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in params.items())
    reply = api.get(path + (f"?{query}" if query else ""), world["tenant"].api_key)
    return reply


def _computed(monkeypatch):
    """Make the query path compute everything from the hourly sketches, as it did before 0011."""
    from seia.repositories.drift import DriftReadRepository

    for name in ("has_stored", "has_rollups", "has_performance_days"):
        monkeypatch.setattr(DriftReadRepository, name, lambda self, model_id, *rest: False)


def _columns(window):
    return {c["name"]: c for c in window["features"] + [window["prediction"], window["score"], window["label"]]}


def _close(a, b, where) -> None:
    if a is None or b is None:
        assert a == b, where
    else:
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where


def _same_window(stored, computed):
    assert (stored["window_start"], stored["window_end"], stored["rows"]) == (
        computed["window_start"],
        computed["window_end"],
        computed["rows"],
    )
    a, b = _columns(stored), _columns(computed)
    assert set(a) == set(b)
    for name, col in a.items():
        other = b[name]
        for key in ("kind", "type", "rows", "rows_reference", "verdict", "severity", "signals", "driver"):
            assert col[key] == other[key], (stored["window_start"], name, key)
        _close(col["effect_ratio"], other["effect_ratio"], (name, "effect_ratio"))
        assert set(col["statistics"]) == set(other["statistics"]), name
        for stat, value in col["statistics"].items():
            _close(value, other["statistics"][stat], (name, stat))


def _all(api, world, path, **params):
    return _get(api, world, path, limit="1000", **{"from": FIRST, "to": LAST}, **params).body["windows"]


# -- stored windows equal the computed ones -------------------------------------------------------------
@pytest.mark.parametrize("model", ["daily", "hourly"])
@pytest.mark.parametrize("granularity", ["hour", "day"])
def test_stored_windows_equal_those_computed_from_the_hourly_sketches(api, world, monkeypatch, model, granularity):
    stored = _all(api, world, f"/v1/models/{model}/drift", granularity=granularity)
    assert len(stored) == (72 if granularity == "hour" else 3)
    assert all(w["computed_at"] is not None for w in stored)  # read as the engine stored them
    _computed(monkeypatch)
    computed = _all(api, world, f"/v1/models/{model}/drift", granularity=granularity)
    assert all(w["computed_at"] is None for w in computed)
    assert len(computed) == len(stored)
    for s, c in zip(stored, computed):
        _same_window(s, c)
    if granularity == "day":
        assert [_columns(w)["x1"]["verdict"] for w in stored] == ["no_drift", "drift", "drift"]


@pytest.mark.parametrize("granularity", ["hour", "day"])
def test_stored_performance_equals_the_computed_one(api, world, monkeypatch, granularity):
    stored = _all(api, world, "/v1/models/daily/performance", granularity=granularity)
    _computed(monkeypatch)
    computed = _all(api, world, "/v1/models/daily/performance", granularity=granularity)
    assert len(stored) == len(computed) == (72 if granularity == "hour" else 3)
    assert sum(w["predictions"] for w in stored) == 2400
    for s, c in zip(stored, computed):
        assert {k: v for k, v in s.items() if k != "metrics"} == {k: v for k, v in c.items() if k != "metrics"}
        assert s["metrics"].keys() == c["metrics"].keys()
        for k, v in s["metrics"].items():
            _close(v, c["metrics"][k], k)


# -- ranges ---------------------------------------------------------------------------------------------
RANGE = {"from": "2026-11-02T06:30:00Z", "to": "2026-11-04T18:00:00Z"}  # edge hours on both sides, a whole day


def test_a_range_equals_the_merge_of_its_hours_not_an_average_of_days(api, world, monkeypatch):
    (merged,) = _get(api, world, "/v1/models/daily/drift", granularity="range", **RANGE).body["windows"]
    days = _all(api, world, "/v1/models/daily/drift", granularity="day")
    _computed(monkeypatch)
    (hours,) = _get(api, world, "/v1/models/daily/drift", granularity="range", **RANGE).body["windows"]
    _same_window(merged, hours)
    # hours 07:00 on 11-02 to 17:00 on 11-04: 17 calm hours (425 rows), 42 shifted ones (1,575 rows)
    x1 = _columns(merged)["x1"]
    assert merged["rows"] == x1["rows"] == 425 + 1575
    assert merged["window_start"] == "2026-11-02T06:30:00+00:00" and merged["window_end"] == "2026-11-04T18:00:00+00:00"
    # An average of the days' means would weigh the calm day as much as a shifted one: far from the pooled mean.
    day_means = [_columns(d)["x1"]["statistics"]["mean_cur"] for d in days]
    assert abs(x1["statistics"]["mean_cur"] - sum(day_means) / 3) > 0.05
    assert x1["verdict"] == "drift"


def test_a_range_of_performance_equals_the_merge_of_its_hours(api, world, monkeypatch):
    (merged,) = _get(api, world, "/v1/models/daily/performance", granularity="range", **RANGE).body["windows"]
    _computed(monkeypatch)
    (hours,) = _get(api, world, "/v1/models/daily/performance", granularity="range", **RANGE).body["windows"]
    assert (merged["predictions"], merged["labelled"]) == (hours["predictions"], hours["labelled"]) == (2000, 2000)
    for k, v in merged["metrics"].items():
        _close(v, hours["metrics"][k], k)


def test_a_distribution_over_a_range_equals_the_merge_of_its_hours(api, world, monkeypatch):
    merged = _get(api, world, "/v1/models/daily/features/x1/distribution", **RANGE).body
    _computed(monkeypatch)
    hours = _get(api, world, "/v1/models/daily/features/x1/distribution", **RANGE).body
    assert merged == hours and merged["current"]["rows"] == 2000


def test_a_range_longer_than_the_cap_is_a_400_naming_it(api, world):
    for path in ("drift", "performance", "features/x1/distribution"):
        params = {"from": "2025-06-01T00:00:00Z", "to": "2026-06-03T00:00:00Z"}
        reply = _get(api, world, f"/v1/models/daily/{path}", granularity="range", **params)
        assert reply.status == 400 and reply.fields() == {"to"}, path
        assert "366 days" in reply.error["details"][0]["message"]
    # 366 days exactly is allowed
    ok = {"from": "2025-11-03T00:00:00Z", "to": "2026-11-04T00:00:00Z"}
    assert _get(api, world, "/v1/models/daily/drift", granularity="range", **ok).status == 200


# -- the latest windows without from/to -----------------------------------------------------------------
def test_without_from_every_list_route_returns_the_latest_windows(api, world):
    for path in ("drift", "performance"):
        body = _get(api, world, f"/v1/models/daily/{path}", granularity="hour", limit="5").body
        starts = [w["window_start"] for w in body["windows"]]
        assert starts == [f"2026-11-04T{h}:00:00+00:00" for h in range(19, 24)], path
        assert body["next_cursor"] == "before:2026-11-04T19:00:00+00:00"
        older = _get(api, world, f"/v1/models/daily/{path}", granularity="hour", limit="5", cursor=body["next_cursor"])
        assert [w["window_start"] for w in older.body["windows"]][-1] == "2026-11-04T18:00:00+00:00"
        (day,) = _get(api, world, f"/v1/models/daily/{path}", granularity="day", limit="1").body["windows"]
        assert day["window_start"] == "2026-11-04T00:00:00+00:00"
    # to without from: the latest windows before it
    body = _get(api, world, "/v1/models/daily/drift", granularity="day", limit="1", to="2026-11-04T00:00:00Z").body
    assert [w["window_start"] for w in body["windows"]] == ["2026-11-03T00:00:00+00:00"]
    assert body["next_cursor"] == "before:2026-11-03T00:00:00+00:00"


# -- late rows ------------------------------------------------------------------------------------------
def test_late_rows_for_an_old_hour_update_the_stored_hour_day_and_rollup(api, world, settings, monkeypatch):
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import PredictionRepository

    shift = scenarios.generate("covariate_shift", 1)
    late, _ = _rows(shift, DAY_A + timedelta(hours=5), timedelta(hours=1), 400, "late")
    before = _get(api, world, "/v1/models/late/drift", granularity="day", **{"from": FIRST, "to": LAST}).body
    assert _columns(before["windows"][0])["x1"]["verdict"] == "no_drift" and before["windows"][0]["rows"] == 600
    with world["tenant"].connect() as conn:
        model = ModelRepository(conn).get("late")
        with conn.transaction():
            PredictionRepository(conn).add(model.id, late)
    _run(settings, world["tenant"], "late")
    day = _get(api, world, "/v1/models/late/drift", granularity="day", **{"from": FIRST, "to": LAST}).body["windows"]
    hour = _get(api, world, "/v1/models/late/drift", granularity="hour", **{"from": "2026-11-02T05:00:00Z"}, limit="1")
    assert day[0]["rows"] == 1000 and _columns(day[0])["x1"]["verdict"] == "drift"
    assert hour.body["windows"][0]["rows"] == 25 + 400
    with world["tenant"].connect() as conn:
        (rows,) = conn.execute(
            "SELECT rows FROM drift_rollups WHERE model_id = %s AND day = %s AND feature = 'x1'", (model.id, DAY_A)
        ).fetchone()
    assert rows == 1000
    (merged,) = _get(api, world, "/v1/models/late/drift", granularity="range", **{"from": FIRST, "to": LAST}).body[
        "windows"
    ]
    _computed(monkeypatch)
    (hours,) = _get(api, world, "/v1/models/late/drift", granularity="range", **{"from": FIRST, "to": LAST}).body[
        "windows"
    ]
    _same_window(merged, hours)
    assert merged["rows"] == 2800


# -- data stored before the migration -------------------------------------------------------------------
def test_data_stored_before_the_migration_keeps_answering_and_the_engine_backfills(api, world, settings):
    """Put the model's rows back as the engine wrote them before 0011 (day windows only, no documents, no
    rollups), run the migration's SQL again: the same answers before and after the engine's next run."""
    paths = [
        ("drift", {"granularity": "day"}),
        ("drift", {"granularity": "hour"}),
        ("drift", {"granularity": "range"}),
        ("performance", {"granularity": "day"}),
        ("performance", {"granularity": "range"}),
    ]

    def answers():
        out = []
        for path, params in paths:
            body = _get(api, world, f"/v1/models/old/{path}", limit="1000", **{"from": FIRST, "to": LAST}, **params)
            out.append(body.body["windows"])
        return out

    stored = answers()
    with world["tenant"].connect() as conn, conn.transaction():
        (model_id,) = conn.execute("SELECT id FROM models WHERE name = 'old'").fetchone()
        conn.execute("DELETE FROM drift_results WHERE model_id = %s AND granularity = 'hour'", (model_id,))
        conn.execute("DELETE FROM drift_windows WHERE model_id = %s AND granularity = 'hour'", (model_id,))
        conn.execute("UPDATE drift_windows SET document = NULL, predictions = NULL WHERE model_id = %s", (model_id,))
        conn.execute("DELETE FROM drift_rollups WHERE model_id = %s", (model_id,))
        conn.execute("DELETE FROM drift_performance_daily WHERE model_id = %s", (model_id,))
        conn.execute(MIGRATION.read_text())
        assert conn.execute("SELECT count(*) FROM drift_watermarks WHERE step = 'drift'").fetchone() == (0,)
    migrated = answers()
    # day windows: documents rebuilt by the migration, as they were (computed_at: the window's last write)
    assert [{**w, "computed_at": None} for w in migrated[0]] == [{**w, "computed_at": None} for w in stored[0]]
    assert all(w["computed_at"] is None for w in migrated[1])  # hour windows: computed from sketches
    for s, m in zip(stored[1], migrated[1]):
        _same_window(s, m)
    _same_window(stored[2][0], migrated[2][0])
    assert migrated[3] == stored[3]
    assert migrated[4][0]["predictions"] == stored[4][0]["predictions"] == 2400
    _run(settings, world["tenant"], "old")
    backfilled = answers()
    assert all(w["computed_at"] is not None for w in backfilled[1]) and len(backfilled[1]) == 72
    for s, b in zip(stored[1], backfilled[1]):
        _same_window(s, b)
    with world["tenant"].connect() as c:
        (days,) = c.execute("SELECT count(DISTINCT day) FROM drift_rollups WHERE model_id = %s", (model_id,)).fetchone()
    assert days == 3
