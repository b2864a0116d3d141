"""A model's lifecycle: PATCH (add features or labels, remove features, settings; never rename or retype), DELETE
(everything of the model goes, its name is free again, the drift worker drops its messages), and the tenant's:
`seia tenant delete` and `seia tenant usage`. Real PostgreSQL, the real handlers, the real drift engine."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from infra.local.events import LambdaContext, sqs_event
from seia_admin.cli import main
from tests.integration.test_file_ingest import FileDrop, files  # noqa: F401 - the files fixture
from tests.support import data

DAY1, DAY2, DAY3 = "2026-11-01", "2026-11-02", "2026-11-03"
SETTINGS = {"window": "day", "reference_min_rows": 200, "min_rows": 50}


@pytest.fixture
def engine(settings):
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    dbs = WorkerDatabases(settings)
    yield DriftEngine(dbs)
    dbs.close()


def _model(api, tenant, name="m", **overrides) -> None:
    body = {
        "name": name,
        "task": "binary_classification",
        "features": [{"name": "x", "type": "numeric"}, {"name": "c", "type": "categorical"}],
        "labels": ["no", "yes"],
        "settings": SETTINGS,
    }
    body.update(overrides)
    reply = api.post("/v1/models", tenant.api_key, json=body)
    assert reply.status == 201, reply.body


def _records(day: str, n: int, prefix: str, seed: int, extra=None, shift: float = 0.0) -> list[dict]:
    """n predictions spread over the day; `extra(i, rng)` adds features (added ones) to record i."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        features = {"x": float(rng.normal(shift, 1.0)), "c": ["a", "b"][int(rng.integers(2))]}
        if extra:
            features.update(extra(i, rng))
        out.append(
            {
                "prediction_id": f"{prefix}{i}",
                "timestamp": f"{day}T{i * 86000 // n // 3600:02d}:{i * 86000 // n // 60 % 60:02d}:00Z",
                "features": features,
                "prediction": "yes" if i % 3 == 0 else "no",
                "score": float(rng.uniform()),
            }
        )
    return out


def _send(api, tenant, model: str, records: list[dict], kind: str = "predictions", query: str = "") -> None:
    for i in range(0, len(records), 500):
        reply = api.post(f"/v1/models/{model}/{kind}{query}", tenant.api_key, json={"records": records[i : i + 500]})
        assert reply.status == 202, reply.body


def _results(tenant, model: str) -> dict[str, dict[str, dict]]:
    """{day: {feature: result}} of the model's daily drift results."""
    with tenant.connect(row_factory=psycopg.rows.dict_row) as conn:
        rows = conn.execute(
            """SELECT r.* FROM drift_results r JOIN models m ON m.id = r.model_id
               WHERE m.name = %s AND r.granularity = 'day' ORDER BY r.window_start, r.feature""",
            (model,),
        ).fetchall()
    out: dict[str, dict[str, dict]] = {}
    for r in rows:
        out.setdefault(r["window_start"].date().isoformat(), {})[r["feature"]] = r
    return out


def _reference_key(tenant, model: str) -> str | None:
    with tenant.connect() as conn:
        row = conn.execute(
            "SELECT reference_key FROM drift_references r JOIN models m ON m.id = r.model_id WHERE m.name = %s",
            (model,),
        ).fetchone()
    return row[0] if row else None


# --- PATCH: adding features -------------------------------------------------------------------------------------
def test_an_added_feature_is_judged_from_the_first_window_whose_rows_carry_it(api, tenant, engine):
    # Given a model judged against its first day (x and c only)
    _model(api, tenant)
    _send(api, tenant, "m", _records(DAY1, 300, "a", 1))
    engine.run(tenant.tenant, "m")
    assert _reference_key(tenant, "m") == f"window:{DAY1}T00:00:00+00:00"
    # and 100 rows of day 2 sent before the change
    _send(api, tenant, "m", _records(DAY2, 100, "b", 2))

    # When features y (numeric) and k (categorical) are added, as GET's list with two entries appended
    features = api.get("/v1/models/m", tenant.api_key).body["features"]
    reply = api.request(
        "PATCH",
        "/v1/models/m",
        tenant.api_key,
        json_body={"features": features + [{"name": "y", "type": "numeric"}, {"name": "k", "type": "categorical"}]},
    )
    assert reply.status == 200, reply.body
    assert [(f["name"], f["type"], "added_at" in f) for f in reply.body["features"]] == [
        ("x", "numeric", False),
        ("c", "categorical", False),
        ("y", "numeric", True),
        ("k", "categorical", True),
    ]

    # and rows carrying them arrive: 300 on day 2, 330 on day 3 of which 30 leave y and k out (missing)
    def with_yk(i, rng):
        return {"y": float(rng.normal(5.0, 1.0)), "k": ["u", "v"][i % 2]}

    _send(api, tenant, "m", _records(DAY2, 300, "c", 3, with_yk))
    _send(api, tenant, "m", _records(DAY3, 300, "d", 4, with_yk) + _records(DAY3, 30, "e", 5))
    report = engine.run(tenant.tenant, "m")

    # Then the reference moved to day 2, the first day with enough rows carrying every feature
    assert report["reference"]["rebuilt"] is True
    assert _reference_key(tenant, "m") == f"window:{DAY2}T00:00:00+00:00"
    results = _results(tenant, "m")
    # day 1 has no y nor k at all: no result, so no "100% missing" verdict on a day before they existed
    assert {"y", "k"}.isdisjoint(results[DAY1]) and {"x", "c"} <= set(results[DAY1])
    # day 2: only the 300 rows written with y count for it (a naive count says 400 rows, 25% missing)
    assert results[DAY2]["y"]["rows"] == 300 and results[DAY2]["y"]["missing_rate"] == 0.0
    assert results[DAY2]["k"]["rows"] == 300 and results[DAY2]["k"]["missing_rate"] == 0.0
    assert results[DAY2]["x"]["rows"] == 400
    # day 3: records that left y out are missing values of it
    assert results[DAY3]["y"]["rows"] == 330
    assert results[DAY3]["y"]["missing_rate"] == pytest.approx(30 / 330)
    assert results[DAY3]["y"]["verdict"] == "drift"  # more than 5% newly missing against a reference with none
    assert "missing_rate" in results[DAY3]["y"]["signals"]


def test_an_added_feature_waits_for_an_uploaded_reference_that_includes_it(api, tenant, engine):
    # Given a model with an uploaded reference of x and c
    _model(api, tenant)
    reference = [dict(r, label="no") for r in _records(DAY1, 300, "r", 1)]
    _send(api, tenant, "m", reference, kind="reference")
    reply = api.request(
        "PATCH",
        "/v1/models/m",
        tenant.api_key,
        json_body={
            "features": [
                {"name": "x", "type": "numeric"},
                {"name": "c", "type": "categorical"},
                {"name": "y", "type": "numeric"},
            ]
        },
    )
    assert reply.status == 200

    def with_y(i, rng):
        return {"y": float(rng.normal(0.0, 1.0))}

    _send(api, tenant, "m", _records(DAY2, 300, "p", 2, with_y))
    # When the engine runs, y has no reference: it is not judged (rather than judged against nothing)
    report = engine.run(tenant.tenant, "m")
    assert report["reference"]["features_waiting"] == ["y"]
    assert "y" not in _results(tenant, "m")[DAY2] and _results(tenant, "m")[DAY2]["x"]["rows"] == 300
    # Then a reference that carries y (replacing the old one) makes it judged
    new_reference = [dict(r, label="no") for r in _records(DAY1, 300, "s", 3, with_y)]
    _send(api, tenant, "m", new_reference, kind="reference", query="?replace=true")
    report = engine.run(tenant.tenant, "m")
    assert report["reference"]["rebuilt"] is True and "features_waiting" not in report["reference"]
    y = _results(tenant, "m")[DAY2]["y"]
    assert y["rows"] == 300 and y["verdict"] == "no_drift"


# --- PATCH: what is refused ---------------------------------------------------------------------------------------
def test_renaming_or_retyping_a_feature_is_400_naming_it_and_why(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    before = tenant.snapshot()
    stored = api.get("/v1/models/churn", tenant.api_key).body

    renamed = [{"name": "years", "type": "numeric"}, *stored["features"][1:]]
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"features": renamed})
    assert reply.status == 400
    (detail,) = reply.error["details"]
    assert detail["field"] == "features[0].name"
    assert detail["message"].startswith("feature 'age' cannot be renamed to 'years': its stored values and drift")

    retyped = [stored["features"][0], {"name": "income", "type": "categorical"}, stored["features"][2]]
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"features": retyped})
    assert reply.status == 400
    (detail,) = reply.error["details"]
    assert detail["field"] == "features[1].type"
    assert detail["message"].startswith("feature 'income' is numeric and its type cannot change: its values are")

    # a feature left out of the list is not a removal (that is {"removed": true}): refused, saying so
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"features": stored["features"][:2]})
    assert reply.status == 400 and reply.fields() == {"features"}
    assert '{"removed": true}' in reply.error["details"][0]["message"]
    # a binary model keeps its two labels; labels keep their order; the task and the name never change
    for body, field in [
        ({"labels": ["stay", "churn", "maybe"]}, "labels"),
        ({"labels": ["churn", "stay"]}, "labels"),
        ({"task": "regression"}, "task"),
        ({"name": "other"}, "name"),
        ({"features": stored["features"] + [{"name": "age", "type": "numeric"}]}, "features[3].name"),
        ({"colour": "red"}, "colour"),
    ]:
        reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body=body)
        assert reply.status == 400 and reply.fields() == {field}, (body, reply.body)
    # nothing was written by any of them
    assert api.get("/v1/models/churn", tenant.api_key).body == stored
    assert tenant.snapshot() == before
    assert api.request("PATCH", "/v1/models/nosuch", tenant.api_key, json_body={}).status == 404


def test_labels_are_appended_and_settings_merged(api, tenant):
    body = data.model(name="species", task="multiclass_classification", labels=["a", "b"])
    assert api.post("/v1/models", tenant.api_key, json=body).status == 201
    reply = api.request(
        "PATCH",
        "/v1/models/species",
        tenant.api_key,
        json_body={"labels": ["a", "b", "c"], "settings": {"min_rows": 5, "window": "hour"}},
    )
    assert reply.status == 200, reply.body
    assert reply.body["labels"] == ["a", "b", "c"]
    assert reply.body["settings"] == {"min_rows": 5, "window": "hour"}
    record = data.prediction(1, prediction="c", score={"a": 0.1, "b": 0.2, "c": 0.7})
    reply = api.post("/v1/models/species/predictions", tenant.api_key, json={"records": [record]})
    assert reply.status == 202 and reply.body["accepted"] == 1
    # settings are checked as PUT /settings checks them
    reply = api.request("PATCH", "/v1/models/species", tenant.api_key, json_body={"settings": {"min_rows": 0}})
    assert reply.status == 400 and reply.fields() == {"min_rows"}


# --- files after a PATCH ------------------------------------------------------------------------------------------
def _patched_churn(api, tenant) -> None:
    """churn (age, income, plan) + tenure (numeric) and region (categorical) added, plan removed."""
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    stored = api.get("/v1/models/churn", tenant.api_key).body["features"]
    features = [dict(f, removed=True) if f["name"] == "plan" else f for f in stored] + [
        {"name": "tenure", "type": "numeric"},
        {"name": "region", "type": "categorical"},
    ]
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"features": features})
    assert reply.status == 200, reply.body


def _stored_rows(tenant) -> dict[str, tuple]:
    with tenant.connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT prediction_id, num, cat FROM predictions")}


def _parquet(columns: dict) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_without_the_columns_of_features_added_or_removed_by_patch_loads_them_as_missing(
    api,
    tenant,
    files,  # noqa: F811
    fmt,
):
    _patched_churn(api, tenant)
    ts = "2026-11-01T10:00:00Z"
    # the file of a producer not updated yet: only the original features (plan included), no tenure, no region
    old = {
        "prediction_id": ["o1", "o2"],
        "timestamp": [ts, ts],
        "age": [30, 40],
        "income": [1.5, 2.5],
        "plan": ["pro", "free"],
        "prediction": ["stay", "churn"],
        "score": [0.2, 0.9],
    }
    # the file of an updated producer: the added features, and no column for the removed plan
    new = {
        "prediction_id": ["n1"],
        "timestamp": [ts],
        "age": [50],
        "income": [3.5],
        "tenure": [12.0],
        "region": ["eu"],
        "prediction": ["stay"],
        "score": [0.1],
    }
    for name, columns in (("old", old), ("new", new)):
        key = f"{tenant.name}/churn/predictions/{name}.{fmt}"
        if fmt == "csv":
            header = list(columns)
            lines = [",".join(header)] + [
                ",".join(str(columns[c][i]) for c in header) for i in range(len(columns["prediction_id"]))
            ]
            files.drop(key, "\n".join(lines) + "\n")
        else:
            files.drop(key, _parquet(columns))
        result = files.result(key)
        assert (result["status"], result["rows"]) == ("loaded", len(columns["prediction_id"])), result

    # num[] = [age, income, tenure], cat[] = [plan, region]: an absent column is a missing value
    rows = _stored_rows(tenant)
    assert rows["o1"] == ([30.0, 1.5, None], ["pro", None])
    assert rows["o2"] == ([40.0, 2.5, None], ["free", None])
    assert rows["n1"] == ([50.0, 3.5, 12.0], [None, "eu"])


def test_a_jsonl_file_whose_later_records_bring_an_added_feature_loads_it(api, tenant, files, monkeypatch):  # noqa: F811
    from seia_files import formats

    monkeypatch.setattr(formats, "JSONL_BLOCK_BYTES", 2_000)  # the file's columns come from its first block
    _patched_churn(api, tenant)

    def line(i: int) -> str:
        record = {"prediction_id": f"j{i}", "timestamp": "2026-11-01T10:00:00Z", "age": i, "income": 1.0}
        record |= {"prediction": "stay"} | ({"tenure": float(i), "region": "eu"} if i >= 100 else {})
        return json.dumps(record)

    key = f"{tenant.name}/churn/predictions/late-keys.jsonl"
    files.drop(key, "\n".join(line(i) for i in range(200)) + "\n")
    result = files.result(key)
    assert (result["status"], result["rows"]) == ("loaded", 200), result
    rows = _stored_rows(tenant)
    assert rows["j5"] == ([5.0, 1.0, None], [None, None])
    assert rows["j150"] == ([150.0, 1.0, 150.0], [None, "eu"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_file_missing_an_original_features_column_is_still_rejected_after_a_patch(
    api,
    tenant,
    files,  # noqa: F811
    fmt,
):
    _patched_churn(api, tenant)
    columns = {
        "prediction_id": ["o1"],
        "timestamp": ["2026-11-01T10:00:00Z"],
        "age": [30],
        "plan": ["pro"],
        "tenure": [1.0],
        "prediction": ["stay"],
    }
    key = f"{tenant.name}/churn/predictions/no-income.{fmt}"
    if fmt == "csv":
        files.drop(key, ",".join(columns) + "\n" + ",".join(str(v[0]) for v in columns.values()) + "\n")
    else:
        files.drop(key, _parquet(columns))
    result = files.result(key)
    assert (result["status"], result["rows"]) == ("rejected", 0)
    assert [(e["column"], e["message"]) for e in result["errors"]] == [("income", "missing column")]
    assert _stored_rows(tenant) == {}


# --- PATCH: removing a feature ------------------------------------------------------------------------------------
def test_a_removed_feature_is_no_longer_judged_and_its_history_stays(api, tenant, engine):
    # Given a model judged on day 1, c among its features
    _model(api, tenant)
    _send(api, tenant, "m", _records(DAY1, 300, "a", 1))
    engine.run(tenant.tenant, "m")
    day1_c = _results(tenant, "m")[DAY1]["c"]

    # When c is removed
    features = api.get("/v1/models/m", tenant.api_key).body["features"]
    features[1]["removed"] = True
    reply = api.request("PATCH", "/v1/models/m", tenant.api_key, json_body={"features": features})
    assert reply.status == 200 and "removed_at" in reply.body["features"][1]
    # producers that still send c are accepted (the value is not kept), and so are those that dropped it
    _send(api, tenant, "m", _records(DAY2, 300, "b", 2))
    rec = _records(DAY2, 1, "z", 9)[0]
    del rec["features"]["c"]
    _send(api, tenant, "m", [rec])
    engine.run(tenant.tenant, "m")

    # Then day 2 has no result for c, day 1 keeps the one it had; c's slot stays (x is still num[1], c empty)
    results = _results(tenant, "m")
    assert "c" not in results[DAY2] and results[DAY2]["x"]["rows"] == 301
    assert results[DAY1]["c"]["statistics"] == day1_c["statistics"]
    with tenant.connect() as conn:
        cats = conn.execute("SELECT DISTINCT cat[1] FROM predictions WHERE prediction_id LIKE 'b%'").fetchall()
    assert cats == [(None,)]
    # the API still shows c's history
    drift = api.get(f"/v1/models/m/drift?granularity=day&from={DAY1}T00:00:00Z&to={DAY2}T00:00:00Z", tenant.api_key)
    assert drift.status == 200
    assert "c" in {f["name"] for f in drift.body["windows"][0]["features"]}
    # even after a new reference (every other result is recomputed against it)
    _send(api, tenant, "m", [dict(r, label="no") for r in _records(DAY1, 300, "r", 3)], kind="reference")
    assert engine.run(tenant.tenant, "m")["reference"]["rebuilt"] is True
    results = _results(tenant, "m")
    assert results[DAY1]["c"]["statistics"] == day1_c["statistics"] and "c" not in results[DAY2]
    # a removed feature does not come back, and its name is not reused
    features = api.get("/v1/models/m", tenant.api_key).body["features"]
    back = [features[0], {"name": "c", "type": "categorical", "removed": False}]
    reply = api.request("PATCH", "/v1/models/m", tenant.api_key, json_body={"features": back})
    assert reply.status == 400 and reply.fields() == {"features[1].removed"}
    reply = api.request(
        "PATCH", "/v1/models/m", tenant.api_key, json_body={"features": features + [{"name": "c", "type": "numeric"}]}
    )
    assert reply.status == 400 and "removed on" in reply.error["details"][0]["message"]


def test_removing_a_feature_resolves_its_open_incidents(api, tenant, engine):
    # Given an open incident on x (day 2 shifted by 3 standard deviations from the uploaded reference)
    _model(api, tenant)
    _send(api, tenant, "m", [dict(r, label="no") for r in _records(DAY1, 300, "r", 1)], kind="reference")
    _send(api, tenant, "m", _records(DAY2, 300, "a", 2, shift=3.0))
    engine.run(tenant.tenant, "m")
    opened = api.get("/v1/models/m/alerts", tenant.api_key).body["alerts"]
    assert "x" in {a["subject"] for a in opened}

    # When x is removed
    features = api.get("/v1/models/m", tenant.api_key).body["features"]
    features[0]["removed"] = True
    assert api.request("PATCH", "/v1/models/m", tenant.api_key, json_body={"features": features}).status == 200

    # Then its incident is resolved (a change delivery sends), the others stay, and no new one opens for it
    alerts = {a["subject"]: a for a in api.get("/v1/models/m/alerts?status=all", tenant.api_key).body["alerts"]}
    assert alerts["x"]["status"] == "resolved"
    assert all(a["status"] != "resolved" for subject, a in alerts.items() if subject != "x")
    _send(api, tenant, "m", _records(DAY3, 300, "b", 3, shift=3.0))
    engine.run(tenant.tenant, "m")
    still = api.get("/v1/models/m/alerts", tenant.api_key).body["alerts"]
    assert "x" not in {a["subject"] for a in still}
    with tenant.connect() as conn:
        changes = conn.execute(
            "SELECT c.change FROM incident_changes c JOIN incidents i ON i.id = c.incident_id "
            "WHERE i.subject = 'x' ORDER BY c.id"
        ).fetchall()
    assert [c for (c,) in changes] == ["opened", "resolved"]


# --- DELETE -------------------------------------------------------------------------------------------------------
def _tables(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def test_deleting_a_model_leaves_nothing_of_it_and_its_name_starts_afresh(api, tenant, engine):
    # Given a model with predictions, labels, a reference, drift results, incidents, a delivery and a file record
    _model(api, tenant)
    _send(api, tenant, "m", [dict(r, label="no") for r in _records(DAY1, 300, "r", 1)], kind="reference")
    _send(api, tenant, "m", _records(DAY1, 300, "a", 2, shift=3.0))
    _send(api, tenant, "m", [{"prediction_id": f"a{i}", "label": "yes"} for i in range(50)], kind="ground-truths")
    engine.run(tenant.tenant, "m")
    with tenant.connect() as conn:
        model_id = conn.execute("SELECT id FROM models WHERE name = 'm'").fetchone()[0]
        conn.execute(
            "INSERT INTO file_ingests (bucket, key, etag, model_id, kind, rows) VALUES ('b', 'k', 'e', %s, "
            "'predictions', 1)",
            (model_id,),
        )
        change = conn.execute("SELECT id FROM incident_changes WHERE model_id = %s LIMIT 1", (model_id,)).fetchone()
        assert change is not None  # x drifted: an incident was opened
        conn.execute(
            "INSERT INTO deliveries (change_id, model_id, channel, channel_type, channel_label) "
            "VALUES (%s, %s, 'webhook:1', 'webhook', 'webhook example.com')",
            (change[0], model_id),
        )
        filled = {
            t
            for t in _tables(conn)
            if conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
        }
    assert {
        "predictions",
        "ground_truths",
        "reference_rows",
        "drift_results",
        "incidents",
        "incident_causes",
        "deliveries",
        "file_ingests",
        "drift_segments_hourly",
        "alert_windows",
    } <= filled

    # When it is deleted
    reply = api.request("DELETE", "/v1/models/m", tenant.api_key)
    assert reply.status == 202 and reply.body == {"model": "m", "deleted": True}

    # Then no table of the tenant's database holds a row (only the migrations' record and tenant settings)
    with tenant.connect() as conn:
        left = {
            t: n
            for t in _tables(conn)
            if (n := conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0])
        }
    assert set(left) <= {"schema_migrations", "tenant_settings"}, left
    assert api.get("/v1/models/m", tenant.api_key).status == 404
    assert api.request("DELETE", "/v1/models/m", tenant.api_key).status == 404
    # and a new model of the same name sees nothing of the old one
    _model(api, tenant)
    assert api.get("/v1/models/m/stats", tenant.api_key).body["windows"] == []
    drift = api.get("/v1/models/m/drift", tenant.api_key).body
    assert drift["reference"] is None and drift["windows"] == []
    assert api.get("/v1/models/m/alerts?status=all", tenant.api_key).body["alerts"] == []
    reply = api.post("/v1/models/m/predictions", tenant.api_key, json={"records": _records(DAY1, 1, "a", 7)})
    assert reply.body == {"accepted": 1, "duplicates": 0}  # a0 was the old model's: no duplicate now


# --- DELETE racing a live batch: a clean 404 or a committed batch, never a 5xx nor half-written rows ---------------
def _raw_relations(tenant, model_id: int) -> list[str]:
    with tenant.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relname ~ %s ORDER BY 1", (f"_m{model_id}(_|$)",)
            ).fetchall()
        ]


def _model_id(tenant, name: str = "m") -> int:
    with tenant.connect() as conn:
        return conn.execute("SELECT id FROM models WHERE name = %s", (name,)).fetchone()[0]


def _wait_for_a_lock_wait(tenant, deadline: float = 30) -> None:
    """Until a backend of the tenant's database waits on a lock (the other side of the race is parked)."""
    until = time.monotonic() + deadline
    with tenant.connect() as conn:  # autocommit: each poll sees the present
        while not conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone():
            assert time.monotonic() < until, "nobody waited on a lock"
            time.sleep(0.02)


@pytest.mark.parametrize("kind", ["predictions", "ground-truths", "reference"])
def test_a_batch_whose_model_is_deleted_after_it_looked_it_up_is_a_404_and_writes_nothing(
    api, tenant, monkeypatch, kind
):
    from seia_ingest.service import IngestService

    _model(api, tenant)
    _send(api, tenant, "m", _records(DAY1, 5, "a", 1))
    model_id = _model_id(tenant)
    read_model = IngestService._read_model
    deleted = []

    def look_up_then_lose_it(self, tenant_, name, batch):
        model = read_model(self, tenant_, name, batch)
        # the user's DELETE lands between the batch's lookup and its write
        worker = threading.Thread(target=lambda: deleted.append(api.request("DELETE", "/v1/models/m", tenant.api_key)))
        worker.start()
        worker.join(30)
        return model

    monkeypatch.setattr(IngestService, "_read_model", look_up_then_lose_it)
    records = _records(DAY2, 3, "b", 2)
    if kind == "ground-truths":
        records = [{"prediction_id": "a0", "label": "yes"}]
    elif kind == "reference":
        records = [dict(r, label="no") for r in records]
    reply = api.post(f"/v1/models/m/{kind}", tenant.api_key, json={"records": records})

    assert [d.status for d in deleted] == [202]
    assert reply.status == 404
    assert reply.error["message"] == "model 'm' was deleted; nothing of this batch was stored"
    # no partition of the deleted model was made again, and no row of it is anywhere
    assert _raw_relations(tenant, model_id) == []
    with tenant.connect() as conn:
        for table in ("predictions", "ground_truths", "reference_rows", "prediction_keys", "raw_partitions"):
            n = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            assert n == 0, table


def test_a_batch_arriving_while_a_delete_is_under_way_waits_for_it_then_is_a_404(api, tenant, monkeypatch):
    from seia.repositories.models import ModelRepository

    _model(api, tenant)
    _send(api, tenant, "m", _records(DAY1, 5, "a", 1))
    model_id = _model_id(tenant)
    delete = ModelRepository.delete
    replies: list = []
    workers: list[threading.Thread] = []

    def delete_while_a_batch_comes(self, mid):
        delete(self, mid)  # partitions dropped, model row gone: not committed yet
        worker = threading.Thread(
            target=lambda: replies.append(
                api.post("/v1/models/m/predictions", tenant.api_key, json={"records": _records(DAY2, 3, "b", 2)})
            )
        )
        worker.start()
        _wait_for_a_lock_wait(tenant)  # the batch waits for the DELETE to end
        workers.append(worker)

    monkeypatch.setattr(ModelRepository, "delete", delete_while_a_batch_comes)
    assert api.request("DELETE", "/v1/models/m", tenant.api_key).status == 202
    workers[0].join(30)
    (reply,) = replies
    assert reply.status == 404, reply.body
    assert "was deleted" in reply.error["message"]
    assert _raw_relations(tenant, model_id) == []
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM raw_partitions").fetchone()[0] == 0


def test_a_delete_arriving_while_a_batch_is_being_written_waits_for_its_commit_then_removes_it(
    api, tenant, monkeypatch
):
    from seia.repositories.records import PredictionRepository

    _model(api, tenant)
    model_id = _model_id(tenant)
    add = PredictionRepository.add
    deleted: list = []
    workers: list[threading.Thread] = []

    def write_while_a_delete_comes(self, mid, rows):
        result = add(self, mid, rows)  # rows written, not committed yet
        worker = threading.Thread(target=lambda: deleted.append(api.request("DELETE", "/v1/models/m", tenant.api_key)))
        worker.start()
        _wait_for_a_lock_wait(tenant)  # the DELETE waits for this batch
        workers.append(worker)
        return result

    monkeypatch.setattr(PredictionRepository, "add", write_while_a_delete_comes)
    reply = api.post("/v1/models/m/predictions", tenant.api_key, json={"records": _records(DAY2, 3, "b", 2)})
    assert reply.status == 202 and reply.body == {"accepted": 3, "duplicates": 0}  # committed whole
    workers[0].join(30)
    assert [d.status for d in deleted] == [202]  # then deleted with the rest of the model
    assert _raw_relations(tenant, model_id) == []
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM models").fetchone()[0] == 0


def test_a_delete_that_waits_too_long_for_a_loading_file_is_a_409_and_deletes_nothing(api, tenant, monkeypatch):
    from seia.repositories import models

    monkeypatch.setattr(models, "DELETE_WAIT", "200ms")
    _model(api, tenant)
    _send(api, tenant, "m", _records(DAY1, 5, "a", 1))
    model_id = _model_id(tenant)
    with tenant.connect() as writer:  # a writer holding the model as a bulk file's load does
        writer.execute("BEGIN")
        assert writer.execute("SELECT 1 FROM models WHERE id = %s FOR KEY SHARE", (model_id,)).fetchone()
        reply = api.request("DELETE", "/v1/models/m", tenant.api_key)
        writer.execute("ROLLBACK")
    assert reply.status == 409
    assert "is in use" in reply.error["message"] and "retry the DELETE" in reply.error["message"]
    assert api.get("/v1/models/m/stats?granularity=day", tenant.api_key).body["windows"][0]["predictions"] == 5
    assert api.request("DELETE", "/v1/models/m", tenant.api_key).status == 202


@pytest.fixture
def drift_app(settings):
    import drift_app

    for getter in (drift_app.get_databases, drift_app.get_engine, drift_app.get_sqs):
        getter.cache_clear()
    yield drift_app
    if drift_app.get_databases.cache_info().currsize:
        drift_app.get_databases().close()
    for getter in (drift_app.get_databases, drift_app.get_engine, drift_app.get_sqs):
        getter.cache_clear()


def test_the_worker_drops_the_message_of_a_model_deleted_before_it_runs(api, tenant, drift_app, caplog):
    _model(api, tenant)
    assert api.request("DELETE", "/v1/models/m", tenant.api_key).status == 202
    caplog.set_level("INFO", logger="seia.drift")
    event = sqs_event([json.dumps({"tenant": tenant.name, "model": "m"})])
    assert drift_app.worker(event, LambdaContext()) == {"batchItemFailures": []}
    assert any("dropped" in r.getMessage() and "'m'" in r.getMessage() for r in caplog.records)


def test_a_model_deleted_during_its_drift_run_stops_the_run_without_an_error_loop(
    api, tenant, drift_app, settings, monkeypatch, caplog
):
    from seia_drift.engine import DriftEngine
    from seia_drift.steps import DEFAULT_STEPS
    from seia_drift.steps.base import Step

    _model(api, tenant)
    _send(api, tenant, "m", _records(DAY1, 300, "a", 1))
    replies: list = []
    threads: list[threading.Thread] = []

    class DeleteMeanwhile(Step):
        """The user deletes the model while the engine is in a step: the DELETE waits for the step to commit."""

        name = "delete-meanwhile"

        def run(self, ctx):
            worker = threading.Thread(
                target=lambda: replies.append(api.request("DELETE", "/v1/models/m", tenant.api_key))
            )
            worker.start()
            threads.append(worker)
            deadline = time.monotonic() + 30
            with tenant.connect() as conn:  # until the DELETE waits on the model's lock
                while not conn.execute(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                    (ctx.model.id,),
                ).fetchone():
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            return {}

    steps = list(DEFAULT_STEPS)
    steps.insert(2, DeleteMeanwhile)  # after the reference step, before the profile step
    engine = DriftEngine(drift_app.get_databases(), steps)
    monkeypatch.setattr(drift_app, "get_engine", lambda: engine)
    caplog.set_level("INFO", logger="seia.drift")

    event = sqs_event([json.dumps({"tenant": tenant.name, "model": "m"})])
    assert drift_app.worker(event, LambdaContext()) == {"batchItemFailures": []}
    for t in threads:
        t.join(30)
    assert [r.status for r in replies] == [202]
    assert any("was deleted during its drift run" in r.getMessage() for r in caplog.records)
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM drift_sketches").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM drift_references").fetchone()[0] == 0
    # the message is not delivered again, and a redelivery would be dropped too
    assert drift_app.worker(event, LambdaContext()) == {"batchItemFailures": []}


# --- tenants ------------------------------------------------------------------------------------------------------
def test_tenant_delete_needs_yes_then_leaves_only_an_audit_line(api, make_tenant, tenant_admin, settings, capsys):
    from seia.db import superuser_connect

    doomed = make_tenant()
    assert api.post("/v1/models", doomed.api_key, json=data.model()).status == 201
    tenant_admin.create_key(doomed.name, ["read"])
    tenant_admin.rotate_signing_secret(doomed.name)

    assert main(["tenant", "delete", doomed.name]) == 2
    assert "nothing is deleted without --yes" in capsys.readouterr().err
    assert api.get("/v1/models", doomed.api_key).status == 200

    assert main(["tenant", "delete", doomed.name, "--yes"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deleted"] is True and out["models"] == 1 and out["api_keys"] == 2

    with superuser_connect(settings) as server:
        assert not server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (doomed.tenant.db_name,)).fetchone()
        assert not server.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (doomed.tenant.role_name,)).fetchone()
    with superuser_connect(settings, settings.admin_db) as admin:
        mentions = {}
        for (table,) in admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            n = admin.execute(
                sql.SQL("SELECT count(*) FROM {} t WHERE t::text LIKE %s OR t::text LIKE %s").format(
                    sql.Identifier(table)
                ),
                (f"%{doomed.name}%", f'%"tenant_id": {doomed.tenant.id}%'),
            ).fetchone()[0]
            if n:
                mentions[table] = n
        for table in ("api_keys", "signing_keys"):
            n = admin.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)),
                (doomed.tenant.id,),
            ).fetchone()[0]
            assert n == 0, table
        audit = admin.execute("SELECT action, details FROM tenant_audit WHERE tenant = %s", (doomed.name,)).fetchall()
    assert mentions == {"tenant_audit": 1}
    assert [a for a, _ in audit] == ["deleted"] and audit[0][1]["models"] == 1
    assert api.get("/v1/models", doomed.api_key).status == 401
    assert main(["tenant", "delete", doomed.name, "--yes"]) == 2  # gone: no tenant of that name


@pytest.fixture
def bucket(monkeypatch):
    """A versioned files bucket (moto), named by SEIA_BUCKET as the operator's environment names it."""
    import boto3
    from moto import mock_aws

    from tests.conftest import reset_process_caches

    monkeypatch.setenv("SEIA_BUCKET", "seia-files-lifecycle")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="seia-files-lifecycle")
        s3.put_bucket_versioning(Bucket="seia-files-lifecycle", VersioningConfiguration={"Status": "Enabled"})
        reset_process_caches()
        yield s3
    reset_process_caches()


def _versions(s3, prefix: str = "") -> list[str]:
    """Every version and delete marker's key under ``prefix``."""
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket="seia-files-lifecycle", Prefix=prefix):
        out += [v["Key"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    return sorted(out)


def test_tenant_delete_removes_every_object_version_under_its_prefix_and_no_other(make_tenant, bucket, capsys):
    doomed = make_tenant()
    neighbour = make_tenant(doomed.name + "x")  # its prefix starts with the doomed tenant's name
    for i in range(1_050):  # more than one page of a listing and of a DeleteObjects call
        bucket.put_object(Bucket="seia-files-lifecycle", Key=f"{doomed.name}/churn/predictions/{i}.csv", Body=b"a")
    key = f"{doomed.name}/churn/predictions/0.csv"
    bucket.put_object(Bucket="seia-files-lifecycle", Key=key, Body=b"second version")
    bucket.delete_object(Bucket="seia-files-lifecycle", Key=key)  # a delete marker on top of both
    bucket.put_object(
        Bucket="seia-files-lifecycle", Key=f"{doomed.name}/churn/_results/predictions/0.csv.json", Body=b"{}"
    )
    kept = [f"{neighbour.name}/churn/predictions/a.csv", f"{neighbour.name}/churn/_results/predictions/a.csv.json"]
    for k in kept:
        bucket.put_object(Bucket="seia-files-lifecycle", Key=k, Body=b"b")
    assert len(_versions(bucket, f"{doomed.name}/")) == 1_050 + 2 + 1

    assert main(["tenant", "delete", doomed.name, "--yes"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files_deleted"] == 1_053 and out["files"] == "s3://seia-files-lifecycle"
    assert _versions(bucket, f"{doomed.name}/") == []
    assert _versions(bucket) == sorted(kept)


def test_tenant_delete_without_a_bucket_says_the_files_were_not_looked_for(make_tenant, monkeypatch, capsys):
    from tests.conftest import reset_process_caches

    monkeypatch.delenv("SEIA_BUCKET", raising=False)
    reset_process_caches()
    doomed = make_tenant()
    assert main(["tenant", "delete", doomed.name, "--yes"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["files_deleted"] is None
    assert "No files bucket is configured (SEIA_BUCKET)" in captured.err


def test_deleting_a_model_removes_its_result_objects_and_keeps_the_users_files(api, tenant, files):  # noqa: F811
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    assert api.post("/v1/models", tenant.api_key, json=data.model(name="other")).status == 201
    row = "p1,2026-11-01T10:00:00Z,30,1.5,pro,stay,0.2\n"
    header = "prediction_id,timestamp,age,income,plan,prediction,score\n"
    for model in ("churn", "other"):
        files.drop(f"{tenant.name}/{model}/predictions/day.csv", header + row)
        assert files.result(f"{tenant.name}/{model}/predictions/day.csv")["status"] == "loaded"

    assert api.request("DELETE", "/v1/models/churn", tenant.api_key).status == 202
    assert files.keys() == [
        f"{tenant.name}/churn/predictions/day.csv",  # the user's file stays
        f"{tenant.name}/other/_results/predictions/day.csv.json",
        f"{tenant.name}/other/predictions/day.csv",
    ]


def test_a_file_whose_model_is_deleted_after_its_lookup_is_rejected_once(api, tenant, files, monkeypatch):  # noqa: F811
    from seia_files.service import FileIngestService

    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    model_id = _model_id(tenant, "churn")
    load = FileIngestService._load_object
    deleted: list = []

    def look_up_then_lose_it(self, conn, model, location, obj, version):
        # the user's DELETE lands between the file's model lookup and its load
        deleted.append(api.request("DELETE", "/v1/models/churn", tenant.api_key))
        return load(self, conn, model, location, obj, version)

    monkeypatch.setattr(FileIngestService, "_load_object", look_up_then_lose_it)
    key = f"{tenant.name}/churn/predictions/day.csv"
    header = "prediction_id,timestamp,age,income,plan,prediction,score\n"
    response = files.drop(key, header + "p1,2026-11-01T10:00:00Z,30,1.5,pro,stay,0.2\n")

    assert [d.status for d in deleted] == [202]
    assert response == {"batchItemFailures": []}  # decided at once: no retry, no DLQ
    result = files.result(key)
    assert result["status"] == "rejected"
    assert [e["message"] for e in result["errors"]] == [
        "the model was deleted while this file waited to load; nothing of it was stored"
    ]
    assert _raw_relations(tenant, model_id) == []
    with tenant.connect() as conn:
        for table in ("predictions", "prediction_keys", "raw_partitions", "file_ingests", "models"):
            n = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            assert n == 0, table


def test_tenant_usage_counts_rows_bytes_and_partitions_per_model(api, tenant, capsys):
    _model(api, tenant, "busy")
    _model(api, tenant, "idle")
    _send(api, tenant, "busy", _records(DAY1, 120, "a", 1))
    _send(api, tenant, "busy", [{"prediction_id": f"a{i}", "label": "yes"} for i in range(10)], kind="ground-truths")

    assert main(["tenant", "usage", tenant.name, "--json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["busy"]["rows"] == {"predictions": 120, "ground_truths": 10, "reference_rows": 0}
    # partitions: the raw tables' leaves (weeks made ahead, and DAY1's week) and the model's duplicate-keys table
    with tenant.connect() as conn:
        leaves = dict(
            conn.execute(
                "SELECT m.name, count(*) + 1 FROM raw_partitions r JOIN models m ON m.id = r.model_id GROUP BY m.name"
            ).fetchall()
        )
    assert rows["busy"]["partitions"] == leaves["busy"] > rows["idle"]["partitions"] == leaves["idle"] > 0
    assert rows["busy"]["bytes"] > rows["idle"]["bytes"]
    assert rows["idle"]["rows"] == {"predictions": 0, "ground_truths": 0, "reference_rows": 0}

    assert main(["tenant", "usage", tenant.name]) == 0
    header, _, first, second = capsys.readouterr().out.splitlines()
    assert header.split() == ["TENANT", "MODEL", "PREDICTIONS", "GROUND_TRUTHS", "REFERENCE", "BYTES", "PARTITIONS"]
    assert first.split()[:5] == [tenant.name, "busy", "120", "10", "0"]
    assert second.split()[:5] == [tenant.name, "idle", "0", "0", "0"]
    assert second.split()[6] == str(leaves["idle"])
    assert main(["tenant", "usage", "nosuch-tenant"]) == 2
