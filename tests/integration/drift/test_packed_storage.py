"""Hourly histograms are stored packed (their non-empty bins, :mod:`seia.sparse`); rows an older version
stored dense read the same, and tenant migration 0007 packs them exactly as the engine now writes them."""

from __future__ import annotations

import pytest

from tests.support import scenarios

ROUTES = ("/drift?granularity=hour", "/performance?granularity=hour", "/features/x0/distribution")


@pytest.fixture(scope="module")
def history(drift_tenant, engine, reader):
    """A binary model's scenario, computed by the engine; its stored rows and the read routes' answers."""
    with drift_tenant.connect() as conn:
        scenarios.load(conn, "packed", scenarios.generate("concept_drift", 4))
    engine.run(drift_tenant.tenant, "packed")
    return reader.model_id("packed"), reader.snapshot("packed")


def _unpack_every_row(tenant, model_id: int) -> None:
    """Rewrite the model's hourly rows dense, as a version before migration 0007 stored them."""
    from psycopg.types.json import Jsonb

    from seia.sparse import unpack_performance, unpack_sketch

    with tenant.connect() as conn:
        for hour, feature, sketch in conn.execute(
            "SELECT hour, feature, sketch FROM drift_sketches WHERE model_id = %s", (model_id,)
        ).fetchall():
            conn.execute(
                "UPDATE drift_sketches SET sketch = %s WHERE model_id = %s AND hour = %s AND feature = %s",
                (Jsonb(unpack_sketch(sketch)), model_id, hour, feature),
            )
        for hour, stats in conn.execute(
            "SELECT hour, stats FROM drift_performance_hourly WHERE model_id = %s AND stats IS NOT NULL", (model_id,)
        ).fetchall():
            conn.execute(
                "UPDATE drift_performance_hourly SET stats = %s WHERE model_id = %s AND hour = %s",
                (Jsonb(unpack_performance(stats)), model_id, hour),
            )


def test_stored_hours_keep_only_their_non_empty_bins(history):
    _, stored = history
    numeric = [r for r in stored["drift_sketches"] if r["feature"] == "x0"]
    scored = [r["stats"]["scored"] for r in stored["drift_performance_hourly"] if r["stats"]]
    assert numeric and scored
    for r in numeric:
        s = r["sketch"]
        assert "counts" not in s and len(s["bins"]) == len(s["bin_counts"]) <= min(r["rows"], s["size"] - 1)
        assert all(s["bin_counts"]) and sum(s["bin_counts"]) + s["missing"] == r["rows"]
    assert all(s["positive_size"] == 1000 and "positive_hist" not in s for s in scored)
    assert all(
        sum(s["positive_counts"]) + sum(s["negative_counts"]) == s["tp"] + s["fp"] + s["tn"] + s["fn"] for s in scored
    )


def test_dense_rows_of_an_older_version_read_the_same_and_migration_0007_packs_them(api, drift_tenant, reader, history):
    from seia import migrate

    model_id, stored = history
    packed_answers = [api.get(f"/v1/models/packed{route}", drift_tenant.api_key) for route in ROUTES]
    assert all(a.status == 200 for a in packed_answers)

    _unpack_every_row(drift_tenant, model_id)
    dense = reader.snapshot("packed")
    assert all(isinstance(r["sketch"]["counts"], list) for r in dense["drift_sketches"] if r["feature"] == "x0")
    assert dense["drift_sketches"] != stored["drift_sketches"]
    assert [api.get(f"/v1/models/packed{route}", drift_tenant.api_key).body for route in ROUTES] == [
        a.body for a in packed_answers
    ]

    (migration,) = [m for m in migrate.load("tenant") if m.version == 7]
    with drift_tenant.connect() as conn:
        conn.execute(migration.sql)
    migrated = reader.snapshot("packed")
    assert migrated["drift_sketches"] == stored["drift_sketches"]
    assert migrated["drift_performance_hourly"] == stored["drift_performance_hourly"]
