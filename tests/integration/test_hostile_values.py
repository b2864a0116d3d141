"""Values that used to be accepted and then broke a model, or answered 500 (issue 11): each is now a 4xx
naming the field, and nothing is written."""

from __future__ import annotations

import json

import pytest

from tests.support import data

OUT_OF_RANGE = [
    "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
    "0001-01-01T00:30:00+01:00",  # year 0 in UTC
    "1969-12-31T23:59:59Z",
    "2201-01-01T00:00:00Z",
    "2200-12-31T23:30:00-01:00",  # 2201 in UTC
]
HUGE = "9" * 400


@pytest.fixture(scope="module")
def churn(tenant_admin):
    """One tenant for the module (creating a database per test is slow): every test leaves it as it was,
    or changes only what it owns (its own model, the alert of ``alert_id``)."""
    from tests.conftest import TenantHandle, reset_process_caches
    from tests.support.api import ApiClient

    reset_process_caches()
    api = ApiClient()
    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("hostile"))
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    assert api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(3)).status == 202
    model = {"name": "price", "task": "regression", "features": [{"name": "x", "type": "numeric"}]}
    assert api.post("/v1/models", tenant.api_key, json=model).status == 201
    return tenant


@pytest.fixture(scope="module")
def alert_id(churn) -> int:
    with churn.connect() as conn:
        model_id = conn.execute("SELECT id FROM models WHERE name = 'churn'").fetchone()[0]
        return conn.execute(
            """INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, severity,
                                       peak_severity, first_window_start, last_window_end, windows_flagged, summary)
               VALUES (%s, 'feature_drift', 'age', 'distribution', 'r1', 'day', 'high', 'high', '2026-11-01',
                       '2026-11-02', 1, 'age drifted')
               RETURNING id""",
            (model_id,),
        ).fetchone()[0]


def _rejected(reply, field, index=None, status=400):
    assert reply.status == status, reply.raw[:400]
    details = reply.error["details"]
    assert any(d["field"] == field and (index is None or d["index"] == index) for d in details), details
    return reply


def _raw(body: str) -> bytes:
    return body.encode("utf-8")


# --- timestamps ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("stamp", OUT_OF_RANGE)
def test_timestamps_outside_1970_to_2200_are_400_for_every_record_kind(api, churn, stamp):
    before = churn.snapshot()
    bodies = {
        "predictions": {"records": [data.prediction(10), data.prediction(11, timestamp=stamp)]},
        "reference": {"records": [data.prediction(10), data.prediction(11, timestamp=stamp, label="stay")]},
        "ground-truths": {
            "records": [
                {"prediction_id": "p1", "label": "stay"},
                {"prediction_id": "p2", "label": "stay", "timestamp": stamp},
            ]
        },
    }
    for route, body in bodies.items():
        reply = _rejected(api.post(f"/v1/models/churn/{route}", churn.api_key, json=body), "timestamp", index=1)
        assert "1970" in json.dumps(reply.error) and "2200" in json.dumps(reply.error)
    assert churn.snapshot() == before


def test_the_range_bounds_are_accepted(api, churn):
    # Accepted rows stay in the module's tenant; the other tests compare snapshots taken after this.
    body = {
        "records": [
            data.prediction(20, timestamp="1970-01-01T00:00:00Z"),
            data.prediction(21, timestamp="2200-12-31T23:59:59.999999Z"),
        ]
    }
    assert api.post("/v1/models/churn/predictions", churn.api_key, json=body).status == 202
    assert api.get("/v1/models/churn/stats", churn.api_key).status == 200


@pytest.mark.parametrize("stamp", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", "1900-01-01T00:00:00Z"])
@pytest.mark.parametrize(
    "route", ["stats", "drift", "performance", "alerts", "features/age/distribution"], ids=lambda r: r.split("/")[0]
)
@pytest.mark.parametrize("param", ["from", "to"])
def test_query_range_out_of_bounds_is_400_naming_the_parameter(api, churn, stamp, route, param):
    from urllib.parse import quote

    reply = api.get(f"/v1/models/churn/{route}?{param}={quote(stamp)}", churn.api_key)
    _rejected(reply, param)


# --- digits -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("limit", ["²", "١", "١٠", "𝟙"])
@pytest.mark.parametrize("route", ["drift", "performance", "alerts"])
def test_unicode_digits_as_limit_are_400(api, churn, limit, route):
    from urllib.parse import quote

    _rejected(api.get(f"/v1/models/churn/{route}?limit={quote(limit)}", churn.api_key), "limit")


@pytest.mark.parametrize("digit", ["²", "١", "１"])
def test_unicode_digit_alert_ids_are_404_and_never_match_an_alert(api, churn, alert_id, digit):
    from urllib.parse import quote

    assert alert_id == 1  # the first incident of the tenant: '١' used to resolve to it
    path = f"/v1/models/churn/alerts/{quote(digit)}"
    assert api.get(path, churn.api_key).status == 404
    assert api.post(path + "/acknowledge", churn.api_key, json={"note": "x"}).status == 404
    assert api.post(path + "/resolve", churn.api_key, json={}).status == 404
    with churn.connect() as conn:
        assert conn.execute("SELECT status FROM incidents WHERE id = 1").fetchone()[0] == "open"
    assert api.get("/v1/models/churn/alerts/1", churn.api_key).body["status"] == "open"


# --- integers beyond float range -----------------------------------------------------------------------
def test_integer_of_400_digits_as_a_feature_is_400_naming_it(api, churn):
    rec = json.dumps(data.prediction(30)).replace('"age": 50', f'"age": {HUGE}')
    assert HUGE in rec
    reply = api.request("POST", "/v1/models/churn/predictions", churn.api_key, raw=_raw(f'{{"records": [{rec}]}}'))
    _rejected(reply, "features.age", index=0)


def test_integer_of_400_digits_as_a_score_or_label_value_is_400(api, churn):
    rec = json.dumps(data.prediction(31)).replace('"score": 0.31', f'"score": {HUGE}')
    assert HUGE in rec
    reply = api.request("POST", "/v1/models/churn/predictions", churn.api_key, raw=_raw(f'{{"records": [{rec}]}}'))
    _rejected(reply, "score", index=0)
    body = f'{{"records": [{{"prediction_id": "p1", "label": -{HUGE}}}]}}'
    _rejected(api.request("POST", "/v1/models/price/ground-truths", churn.api_key, raw=_raw(body)), "label", index=0)


def test_integer_of_400_digits_as_a_threshold_is_400(api, churn):
    body = _raw(f'{{"thresholds": {{"psi": {HUGE}}}, "min_rows": {HUGE}}}')
    reply = api.request("PUT", "/v1/models/churn/settings", churn.api_key, raw=body)
    _rejected(reply, "thresholds.psi")
    assert "min_rows" in reply.fields()


# --- lone surrogates ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "route,record,field",
    [
        ("predictions", data.prediction(40, prediction_id="p\ud800"), "prediction_id"),
        ("predictions", data.prediction(40, features={"age": 1, "income": 2, "plan": "\udfff"}), "features.plan"),
        ("predictions", data.prediction(40, prediction="\ud800"), "prediction"),
        ("reference", data.prediction(40, label="st\udc00ay"), "label"),
        ("ground-truths", {"prediction_id": "p1", "label": "\ud800"}, "label"),
    ],
    ids=["id", "category", "prediction", "reference-label", "ground-truth-label"],
)
def test_lone_surrogates_in_records_are_400_naming_the_field(api, churn, route, record, field):
    before = churn.snapshot()
    body = {"records": [data.prediction(41), record] if route != "ground-truths" else [record]}
    index = len(body["records"]) - 1
    _rejected(api.post(f"/v1/models/churn/{route}", churn.api_key, json=body), field, index=index)
    assert churn.snapshot() == before


def test_lone_surrogates_in_settings_notes_and_model_definitions_are_400(api, churn, alert_id):
    before = churn.snapshot()
    _rejected(api.request("PUT", "/v1/models/churn/settings", churn.api_key, json_body={"window": "\ud800"}), "window")
    reply = api.post(f"/v1/models/churn/alerts/{alert_id}/acknowledge", churn.api_key, json={"note": "ok \ud800"})
    _rejected(reply, "note")
    _rejected(api.post("/v1/models", churn.api_key, json=data.model(name="m2", labels=["a", "\ud800"])), "labels[1]")
    assert churn.snapshot() == before
    assert api.get(f"/v1/models/churn/alerts/{alert_id}", churn.api_key).body["status"] == "open"


# --- duplicate keys and encodings -------------------------------------------------------------------------
def test_duplicate_keys_in_one_object_are_400(api, churn):
    before = churn.snapshot()
    rec = json.dumps(data.prediction(50))
    body = _raw(f'{{"records": [{rec[:-1]}, "prediction": "churn"}}]}}')
    reply = api.request("POST", "/v1/models/churn/predictions", churn.api_key, raw=body)
    assert reply.status == 400
    assert "duplicate key 'prediction'" in reply.error["details"][0]["message"]
    reply = api.request("PUT", "/v1/models/churn/settings", churn.api_key, raw=b'{"window": "day", "window": "hour"}')
    assert reply.status == 400
    assert churn.snapshot() == before
    assert api.get("/v1/models/churn", churn.api_key).body["settings"] == {}


@pytest.mark.parametrize(
    "encoding,charset",
    [("utf-16", None), ("utf-32", None), ("latin-1", None), ("utf-8-sig", None), ("utf-8", "utf-16")],
)
def test_bodies_not_in_utf8_are_415(api, churn, encoding, charset):
    before = churn.snapshot()
    body = {"records": [data.prediction(60, features={"age": 1, "income": 2, "plan": "Zürich"})]}
    content_type = "application/json" + (f"; charset={charset}" if charset else "")
    raw = json.dumps(body, ensure_ascii=False).encode(encoding)
    reply = api.request("POST", "/v1/models/churn/predictions", churn.api_key, raw=raw, content_type=content_type)
    assert reply.status == 415, reply.raw[:300]
    assert "UTF-8" in reply.error["message"] or "utf-8" in reply.error["message"]
    assert churn.snapshot() == before


# --- settings on creation, merged settings -----------------------------------------------------------------
@pytest.mark.parametrize(
    "body_settings,field",
    [
        ({"window": "minute"}, "settings.window"),
        ({"coverage_threshold": "abc"}, "settings.coverage_threshold"),
        ({"thresholds": {"psi": -1}}, "settings.thresholds.psi"),
        ({"webhook_url": "file:///etc/passwd"}, "settings.webhook_url"),
        ({"colour": "red"}, "settings.colour"),
    ],
)
def test_model_creation_validates_settings_as_put_settings_does(api, churn, body_settings, field):
    before = churn.snapshot()
    _rejected(api.post("/v1/models", churn.api_key, json=data.model(name="m-set", settings=body_settings)), field)
    assert churn.snapshot() == before
    assert api.get("/v1/models/m-set", churn.api_key).status == 404


def test_model_creation_keeps_valid_settings(api, churn):
    settings = {"window": "hour", "thresholds": {"psi": 0.3}, "webhook_url": "https://example.com/hook"}
    reply = api.post("/v1/models", churn.api_key, json=data.model(name="m-valid", settings=settings))
    assert reply.status == 201
    assert api.get("/v1/models/m-valid", churn.api_key).body["settings"] == settings


def test_put_settings_does_not_keep_an_invalid_stored_key(api, churn):
    assert api.post("/v1/models", churn.api_key, json=data.model(name="m-legacy")).status == 201
    with churn.connect() as conn:  # as an older version stored it
        conn.execute("""UPDATE models SET settings = '{"window": "minute", "min_rows": 5}' WHERE name = 'm-legacy'""")
    reply = api.request("PUT", "/v1/models/m-legacy/settings", churn.api_key, json_body={"min_rows": 10})
    _rejected(reply, "window")
    assert "stored value is invalid" in json.dumps(reply.error)
    body = {"min_rows": 10, "window": None}
    reply = api.request("PUT", "/v1/models/m-legacy/settings", churn.api_key, json_body=body)
    assert reply.status == 200, reply.body
    assert reply.body["settings"] == {"min_rows": 10}


# --- reserved names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["__score__", "__label__", "__prediction__", "__anything", "score_churn"])
def test_names_the_engine_uses_are_reserved(api, churn, name):
    features = [{"name": "age", "type": "numeric"}, {"name": name, "type": "numeric"}]
    body = data.model(name="m-reserved", features=features)
    _rejected(api.post("/v1/models", churn.api_key, json=body), "features[1].name")
    assert api.get("/v1/models/m-reserved", churn.api_key).status == 404


@pytest.mark.parametrize("name", [["a"], {"a": 1}, 1, None])
def test_a_feature_name_that_is_not_a_string_is_400_not_500(api, churn, name):
    # found by the property test (test_fuzz_api.py): a list as a name raised TypeError (unhashable)
    features = [{"name": "age", "type": "numeric"}, {"name": name, "type": "numeric"}]
    body = data.model(name="m-odd", features=features)
    _rejected(api.post("/v1/models", churn.api_key, json=body), "features[1].name")


def test_a_note_with_a_nul_character_is_400_not_500(api, churn, alert_id):
    # found by the property test: PostgreSQL text cannot hold NUL (psycopg DataError)
    reply = api.post(f"/v1/models/churn/alerts/{alert_id}/acknowledge", churn.api_key, json={"note": "a\x00b"})
    _rejected(reply, "note")
    assert api.get(f"/v1/models/churn/alerts/{alert_id}", churn.api_key).body["status"] == "open"


# --- the local gateway decodes path parameters (as API Gateway does), so these reach the handlers decoded --
@pytest.mark.parametrize(
    "path,status,shown",
    [
        ("/v1/models/%27churn%27/predictions", 404, "\"'churn'\""),
        ("/v1/models/churn/features/a%2Fb/distribution", 404, "a/b"),
        ("/v1/models/churn/alerts/%C2%B2", 404, "²"),
        ("/v1/models/churn/alerts/%D9%A1", 404, "١"),
    ],
)
def test_encoded_path_parameters_reach_the_handlers_decoded(api, churn, alert_id, path, status, shown):
    method = "POST" if path.endswith("predictions") else "GET"
    reply = api.request(method, path, churn.api_key, json_body=data.predictions(1) if method == "POST" else None)
    assert reply.status == status, reply.raw[:300]
    assert shown in reply.error["message"], reply.error
