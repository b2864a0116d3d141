"""Property-based: whatever body arrives, the API answers 2xx or 4xx, never 5xx, and a 4xx writes nothing."""

import os
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.support import data

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def _record():
    base = data.prediction(0)
    return st.fixed_dictionaries(
        {
            "prediction_id": st.one_of(st.text(max_size=12), st.integers(), json_values),
            "timestamp": st.one_of(st.just(base["timestamp"]), st.text(max_size=30), json_scalars),
            "features": st.one_of(
                st.fixed_dictionaries({"age": json_scalars, "income": json_scalars, "plan": json_scalars}), json_values
            ),
            "prediction": st.one_of(st.sampled_from(["stay", "churn"]), json_scalars),
            "score": st.one_of(st.none(), st.floats(-1, 2), json_values),
        }
    )


@pytest.fixture(scope="module")
def churn_module(tenant_admin):
    from tests.conftest import TenantHandle
    from tests.support.api import ApiClient

    t = TenantHandle(tenant_admin, tenant_admin.create_tenant("fuzz"))
    ApiClient().post("/v1/models", t.api_key, json=data.model())
    return t


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, st.fixed_dictionaries({"records": st.lists(_record(), min_size=1, max_size=4)})))
def test_random_prediction_bodies_never_5xx_and_4xx_writes_nothing(churn_module, body):
    from tests.support.api import ApiClient

    before = churn_module.snapshot()
    reply = ApiClient().post("/v1/models/churn/predictions", churn_module.api_key, json=body)
    assert reply.status in (202, 400, 413), reply.raw
    if reply.status != 202:
        assert set(reply.body["error"]) == {"code", "message", "details"}
        assert churn_module.snapshot() == before


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_random_bytes_are_4xx(churn_module, raw):
    from tests.support.api import ApiClient

    reply = ApiClient().request("POST", "/v1/models/churn/ground-truths", churn_module.api_key, raw=raw)
    assert 400 <= reply.status < 500


# --- every write route, hostile values in every field (issue 11) ----------------------------------------------
# The property: each answer is a 2xx, or a 4xx whose details name the field (or the file's row and column),
# never a 5xx; after any accepted write every read route answers 200 and the drift run succeeds for the model.
HOSTILE_TEXT = [
    "\ud800",
    "a\udfffb",
    "²",
    "١",
    "１",
    "",
    "\x00",
    "x" * 201,
    "__score__",
    "__label__",
    "__prediction__",
    "score_churn",
    "'; DROP TABLE models; --",
    "../../etc/passwd",
    "file:///etc/passwd",
    "minute",
    "abc",
    "NaN",
    "1e999",
]
HOSTILE_TIMES = [
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:30:00+01:00",
    "1969-12-31T23:59:59Z",
    "2201-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2200-12-31T23:59:59.999999Z",
    "2026-11-01T10:00:00",
    "2026-02-30T10:00:00Z",
]
hostile_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**308, max_value=10**400),
    st.integers(min_value=-(10**400), max_value=-(10**308)),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(HOSTILE_TEXT + HOSTILE_TIMES),
    st.text(max_size=12),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([timezone(timedelta(hours=h)) for h in (-12, -5, 0, 1, 14)]),
    ).map(lambda d: d.isoformat()),
)
hostile = st.one_of(
    hostile_scalar,
    st.lists(hostile_scalar, max_size=2),
    st.dictionaries(st.text(max_size=4), hostile_scalar, max_size=2),
)
PROPERTY = hsettings(
    max_examples=int(os.environ.get("SEIA_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _or_hostile(valid):
    return st.one_of(st.just(valid), hostile) if not isinstance(valid, st.SearchStrategy) else st.one_of(valid, hostile)


@pytest.fixture(scope="module")
def world(tenant_admin):
    """One tenant with a model of each task and an open alert; the property runs against it."""
    from tests.conftest import TenantHandle, reset_process_caches
    from tests.support.api import ApiClient

    reset_process_caches()
    api = ApiClient()
    t = TenantHandle(tenant_admin, tenant_admin.create_tenant("prop"))
    models = {
        "churn": data.model(),
        "price": {"name": "price", "task": "regression", "features": [{"name": "x", "type": "numeric"}]},
        "kind": {
            "name": "kind",
            "task": "multiclass_classification",
            "labels": ["a", "b", "c"],
            "features": [{"name": "x", "type": "numeric"}, {"name": "c", "type": "categorical"}],
        },
    }
    for body in models.values():
        assert api.post("/v1/models", t.api_key, json=body).status == 201
    assert api.post("/v1/models/churn/predictions", t.api_key, json=data.predictions(20)).status == 202
    with t.connect() as conn:
        model_id = conn.execute("SELECT id FROM models WHERE name = 'churn'").fetchone()[0]
        conn.execute(
            """INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, severity,
                                       peak_severity, first_window_start, last_window_end, windows_flagged, summary)
               VALUES (%s, 'feature_drift', 'age', 'distribution', 'r1', 'day', 'high', 'high', '2026-11-01',
                       '2026-11-02', 1, 'age drifted')""",
            (model_id,),
        )
    return t


def _named(reply, body: object = ...) -> None:
    """A 2xx, or a 4xx in Seia's error shape whose details say where the problem is (the field, or the record;
    a body that is not an object at all is the problem itself)."""
    event(f"answer {reply.status}")  # --hypothesis-show-statistics shows how many were accepted
    assert reply.status < 500, reply.raw[:400]
    if reply.status >= 400:
        error = reply.error
        assert set(error) == {"code", "message", "details"}
        assert error["details"], error
        if body is ... or isinstance(body, dict):
            assert all(d["field"] is not None or d["index"] is not None for d in error["details"]), error


def _model_is_healthy(world, model: str) -> None:
    from seia.config import get_settings
    from seia_drift.commands import run_drift
    from tests.support.api import ApiClient

    api = ApiClient()
    definition = api.get(f"/v1/models/{model}", world.api_key)
    assert definition.status == 200, definition.raw[:300]
    routes = [
        "",
        "/stats",
        "/stats?granularity=day",
        "/drift",
        "/drift?granularity=hour",
        "/performance",
        "/performance?granularity=hour",
        "/alerts?status=all",
    ]
    routes += [f"/features/{f['name']}/distribution" for f in definition.body["features"]]
    for route in routes:
        reply = api.get(f"/v1/models/{model}{route}", world.api_key)
        assert reply.status == 200, (route, reply.raw[:300])
    assert api.get("/v1/models", world.api_key).status == 200
    report = run_drift(get_settings(), world.name, model)[world.name][model]
    assert "error" not in report, report


def _record(model: str, i: int, with_label: bool = False):
    if model == "churn":
        base = data.prediction(i)
        features = st.fixed_dictionaries({k: _or_hostile(v) for k, v in base["features"].items()})
    elif model == "price":
        base = {
            "prediction_id": f"p{i}",
            "timestamp": "2026-11-01T10:00:00Z",
            "features": {"x": 1.5},
            "prediction": 3.0,
        }
        features = st.fixed_dictionaries({"x": _or_hostile(1.5)})
    else:
        base = {
            "prediction_id": f"p{i}",
            "timestamp": "2026-11-01T10:00:00Z",
            "features": {"x": 1, "c": "u"},
            "prediction": "a",
            "score": {"a": 0.2, "b": 0.3, "c": 0.5},
        }
        features = st.fixed_dictionaries({"x": _or_hostile(1), "c": _or_hostile("u")})
    fields = {k: _or_hostile(v) for k, v in base.items() if k != "features"}
    fields["features"] = st.one_of(features, hostile)
    if with_label:
        fields["label"] = _or_hostile({"churn": "stay", "price": 2.5, "kind": "b"}[model])
    return st.fixed_dictionaries(fields)


@PROPERTY
@given(
    model=st.sampled_from(["churn", "price", "kind"]),
    route=st.sampled_from(["predictions", "reference"]),
    data_=st.data(),
)
def test_property_records_with_hostile_values(world, model, route, data_):
    from tests.support.api import ApiClient

    start = data_.draw(st.integers(0, 10**6))
    records = data_.draw(
        st.lists(st.integers(0, 3), min_size=1, max_size=3).flatmap(
            lambda ids: st.tuples(*[_record(model, start + j, with_label=route == "reference") for j in ids])
        )
    )
    reply = ApiClient().post(f"/v1/models/{model}/{route}", world.api_key, json={"records": list(records)})
    _named(reply)
    if reply.status < 300:
        _model_is_healthy(world, model)


@PROPERTY
@given(model=st.sampled_from(["churn", "price", "kind"]), data_=st.data())
def test_property_ground_truths_with_hostile_values(world, model, data_):
    from tests.support.api import ApiClient

    label = {"churn": "stay", "price": 2.5, "kind": "b"}[model]
    record = data_.draw(
        st.fixed_dictionaries(
            {
                "prediction_id": _or_hostile(f"p{data_.draw(st.integers(0, 25))}"),
                "label": _or_hostile(label),
                "timestamp": _or_hostile("2026-11-01T12:00:00Z"),
            }
        )
    )
    reply = ApiClient().post(f"/v1/models/{model}/ground-truths", world.api_key, json={"records": [record]})
    _named(reply)
    if reply.status < 300:
        _model_is_healthy(world, model)


@PROPERTY
@given(data_=st.data())
def test_property_model_definitions_with_hostile_values(world, data_):
    from tests.support.api import ApiClient

    n = data_.draw(st.integers(0, 10**9))
    body = data_.draw(
        st.fixed_dictionaries(
            {
                "name": _or_hostile(f"m{n}"),
                "task": _or_hostile(
                    st.sampled_from(["binary_classification", "multiclass_classification", "regression"])
                ),
                "features": st.one_of(
                    st.lists(
                        st.fixed_dictionaries(
                            {
                                "name": _or_hostile(st.sampled_from(["f1", "f2", "g"])),
                                "type": _or_hostile(st.sampled_from(["numeric", "categorical"])),
                            }
                        ),
                        min_size=1,
                        max_size=3,
                    ),
                    hostile,
                ),
                "labels": _or_hostile(st.sampled_from([["no", "yes"], ["a", "b", "c"], [0, 1]])),
                "settings": _or_hostile(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "window": _or_hostile("hour"),
                            "min_rows": _or_hostile(10),
                            "coverage_threshold": _or_hostile(0.3),
                            "thresholds": _or_hostile({"psi": 0.3}),
                            "webhook_url": _or_hostile("https://example.com/h"),
                        },
                    )
                ),
            }
        )
    )
    reply = ApiClient().post("/v1/models", world.api_key, json=body)
    _named(reply)
    if reply.status < 300:
        _model_is_healthy(world, reply.body["name"])


@PROPERTY
@given(model=st.sampled_from(["churn", "price", "kind"]), data_=st.data())
def test_property_settings_with_hostile_values(world, model, data_):
    from tests.support.api import ApiClient

    body = data_.draw(
        st.one_of(
            hostile,
            st.fixed_dictionaries(
                {},
                optional={
                    "window": _or_hostile(st.sampled_from(["hour", "day"])),
                    "min_rows": _or_hostile(st.integers(1, 1000)),
                    "reference_min_rows": _or_hostile(50),
                    "coverage_threshold": _or_hostile(0.5),
                    "thresholds": _or_hostile(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "psi": _or_hostile(0.2),
                                "alpha": _or_hostile(0.05),
                                "medium_factor": _or_hostile(2.0),
                                "high_factor": _or_hostile(4.0),
                            },
                        )
                    ),
                    "performance_drop": _or_hostile({"accuracy": 0.1}),
                    "reference_policy": _or_hostile("uploaded"),
                    "webhook_url": _or_hostile(st.sampled_from([None, "http://127.0.0.1:9/h"])),
                },
            ),
        )
    )
    reply = ApiClient().request("PUT", f"/v1/models/{model}/settings", world.api_key, json_body=body)
    _named(reply, body)
    if reply.status < 300:
        _model_is_healthy(world, model)


_NO_NOTE = object()


@PROPERTY
@given(alert=_or_hostile("1"), note=st.one_of(st.just(_NO_NOTE), _or_hostile("looked at it")))
def test_property_acknowledge_with_hostile_values(world, alert, note):
    from urllib.parse import quote

    from tests.support.api import ApiClient

    body = {} if note is _NO_NOTE else {"note": note}
    # a lone surrogate travels as the bytes a client would send for it (not UTF-8: the gateway decodes them as U+FFFD)
    path = f"/v1/models/churn/alerts/{quote(str(alert).encode('utf-8', 'surrogatepass'), safe='')}/acknowledge"
    reply = ApiClient().post(path, world.api_key, json=body)
    event(f"answer {reply.status}")
    assert reply.status < 500, reply.raw[:400]
    if reply.status >= 400 and reply.status != 404:
        _named(reply)
    if reply.status < 300:
        _model_is_healthy(world, "churn")


# --- files: a CSV or JSON Lines file with hostile values, dropped through the file-ingest handler (moto S3) ------
from tests.integration.test_file_ingest import HEADER, files  # noqa: E402, F401 - the `files` fixture

CSV_CELLS = HOSTILE_TEXT + HOSTILE_TIMES + ["9" * 400, "-" + "9" * 400, "inf", "nan", "1e308", "", "stay", "0.5"]


def _csv_row(i: int):
    valid = [f"f{i}", "2026-11-01T10:00:00Z", "30", "1000.5", "pro", "stay", "0.5"]
    return st.tuples(*[st.one_of(st.just(v), st.sampled_from(CSV_CELLS), st.text(max_size=8)) for v in valid])


@PROPERTY
@given(fmt=st.sampled_from(["csv", "jsonl"]), data_=st.data())
def test_property_files_with_hostile_values(world, files, fmt, data_):  # noqa: F811 - the imported fixture
    import csv
    import io
    import json as jsonlib

    n = data_.draw(st.integers(0, 10**9))
    if fmt == "csv":
        rows = data_.draw(
            st.lists(st.integers(0, 2), min_size=1, max_size=3).flatmap(
                lambda ids: st.tuples(*[_csv_row(n + j) for j in range(len(ids))])
            )
        )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER.split(","))
        writer.writerows(rows)
        body = out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes that are not UTF-8
    else:
        records = data_.draw(st.lists(_record("churn", n), min_size=1, max_size=3))
        flat = [
            {
                **(r["features"] if isinstance(r["features"], dict) else {"age": r["features"]}),
                **{k: v for k, v in r.items() if k != "features"},
            }
            for r in records
        ]
        body = "".join(jsonlib.dumps(r) + "\n" for r in flat).encode()
    key = f"{world.name}/churn/predictions/h{n}.{fmt}"
    assert files.drop(key, body) == {"batchItemFailures": []}  # answered, not retried (a 5xx would be)
    result = files.result(key)
    event(f"file {result['status']}")
    assert result["status"] in ("loaded", "rejected"), result
    if result["status"] == "rejected":
        assert result["rows"] == 0 and result["errors"], result
        for error in result["errors"]:
            assert error["message"] and (error["row"] is not None or error["column"] is not None), result
    else:
        _model_is_healthy(world, "churn")
