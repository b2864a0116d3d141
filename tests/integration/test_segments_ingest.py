"""Segments, the write side (docs/segments.md): a model declares up to 3 segment fields (POST, PATCH appends), and
records (API, files in one piece and in parts) carry their values beside the features, stored in ``seg[]`` in slot
order. Real PostgreSQL, the real handlers; S3 and SQS from moto."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.test_file_ingest import HEADER, csv_rows, files  # noqa: F401 - the fixture
from tests.integration.test_file_parts import parted, parts_of, staging_left  # noqa: F401 - the fixture
from tests.support import data

SEGMENTS = ["region", "model_version"]


@pytest.fixture
def segmented(api, tenant):
    """churn with the segment fields region and model_version."""
    reply = api.post("/v1/models", tenant.api_key, json=data.model(segments=SEGMENTS))
    assert reply.status == 201, reply.body
    return tenant


def _seg(tenant, table: str = "predictions") -> dict[str, list | None]:
    with tenant.connect() as conn:
        return dict(conn.execute(f"SELECT prediction_id, seg FROM {table} ORDER BY prediction_id").fetchall())


def _record(i: int, segments=None, **overrides) -> dict:
    rec = data.prediction(i, **overrides)
    if segments is not None:
        rec["segments"] = segments
    return rec


# --- declaration -------------------------------------------------------------------------------------
def test_a_model_declares_segment_fields_and_shows_them(api, segmented):
    model = api.get("/v1/models/churn", segmented.api_key).body
    assert model["segments"] == ["region", "model_version"]
    assert [m["segments"] for m in api.get("/v1/models", segmented.api_key).body["models"]] == [SEGMENTS]
    assert api.post("/v1/models", segmented.api_key, json=data.model(name="plain")).body["segments"] == []
    with segmented.connect() as conn:
        stored = conn.execute("SELECT name, segments FROM models ORDER BY name").fetchall()
    assert stored == [("churn", SEGMENTS), ("plain", [])]


@pytest.mark.parametrize(
    "segments, field, message",
    [
        (["a", "b", "c", "d"], "segments", "at most 3 segment fields"),
        ("region", "segments", "must be a list of field names"),
        (["region", "9lives"], "segments[1]", "must match ^[A-Za-z_]"),
        (["region", 7], "segments[1]", "must match ^[A-Za-z_]"),
        (["plan"], "segments[0]", "'plan' is a feature of the model"),
        (["region", "label"], "segments[1]", "'label' is reserved"),
        (["__region"], "segments[0]", "'__region' is reserved (as is every name starting with __)"),
        (["region", "region"], "segments[1]", "duplicate segment field 'region'"),
        (["score_churn"], "segments[0]", "'score_churn' is the file column of a class's score"),
    ],
)
def test_a_bad_segment_declaration_is_a_400_naming_the_entry(api, tenant, segments, field, message):
    reply = api.post("/v1/models", tenant.api_key, json=data.model(segments=segments))
    assert reply.status == 400
    [detail] = reply.error["details"]
    assert detail["field"] == field
    assert message in detail["message"]
    assert api.get("/v1/models/churn", tenant.api_key).status == 404


def test_patch_appends_segment_fields_and_refuses_to_remove_rename_or_reorder(api, segmented):
    def patch(body):
        return api.request("PATCH", "/v1/models/churn", segmented.api_key, json_body=body)

    reply = patch({"segments": ["region", "model_version", "channel"]})
    assert reply.status == 200, reply.body
    assert reply.body["segments"] == ["region", "model_version", "channel"]
    stored = ["region", "model_version", "channel"]

    refused = {
        "removed": ({"segments": ["region", "model_version"]}, "segments", "'channel' cannot be removed"),
        "renamed": ({"segments": ["region", "version", "channel"]}, "segments[1]", "cannot be renamed to 'version'"),
        "reordered": ({"segments": ["model_version", "region", "channel"]}, "segments[0]", "cannot be reordered"),
        "inserted": ({"segments": ["region", "x", "model_version"]}, "segments[1]", "goes after the stored ones"),
        "a fourth": ({"segments": [*stored, "device"]}, "segments", "at most 3 segment fields"),
        "not a list": ({"segments": "region"}, "segments", "must be the list of segment fields"),
    }
    for case, (body, field, message) in refused.items():
        reply = patch(body)
        assert reply.status == 400, case
        [detail] = reply.error["details"]
        assert (detail["field"], message in detail["message"]) == (field, True), (case, detail)
    assert "slot" in patch({"segments": ["region"]}).error["details"][0]["message"]  # says why

    # a feature may not take a segment field's name, nor a segment a feature's (removed ones included)
    features = api.get("/v1/models/churn", segmented.api_key).body["features"]
    reply = patch({"features": [*features, {"name": "channel", "type": "categorical"}]})
    assert reply.status == 400 and "'channel' is a segment field" in reply.error["details"][0]["message"]
    assert api.get("/v1/models/churn", segmented.api_key).body["segments"] == stored


def test_patch_may_declare_the_first_segment_field_of_a_model_with_features_removed(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    features = api.get("/v1/models/churn", tenant.api_key).body["features"]
    features[2]["removed"] = True
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"features": features})
    assert reply.status == 200
    taken = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"segments": ["plan"]})
    assert taken.status == 400 and taken.error["details"][0]["field"] == "segments[0]"
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"segments": ["region"]})
    assert (reply.status, reply.body["segments"]) == (200, ["region"])


def test_segment_top_values_is_a_setting_of_1_to_100(api, segmented):
    path = "/v1/models/churn/settings"
    assert api.request("PUT", path, segmented.api_key, json_body={"segment_top_values": 50}).status == 200
    assert api.get("/v1/models/churn", segmented.api_key).body["settings"]["segment_top_values"] == 50
    for bad in (0, 101, 2.5, "20"):
        reply = api.request("PUT", path, segmented.api_key, json_body={"segment_top_values": bad})
        assert (reply.status, reply.fields()) == (400, {"segment_top_values"}), bad
    created = api.post("/v1/models", segmented.api_key, json=data.model(name="m2", settings={"segment_top_values": 5}))
    assert created.body["settings"] == {"segment_top_values": 5}
    from seia.registry import REGISTRY

    assert REGISTRY.value({}, "segment_top_values") == 20


# --- records -----------------------------------------------------------------------------------------
def test_api_records_store_their_segment_values_in_slot_order(api, segmented):
    records = [
        _record(0, {"region": "eu", "model_version": "v3"}),
        _record(1, {"model_version": "v2"}),  # region left out: missing
        _record(2, {"region": None, "model_version": None}),
        _record(3),  # no segments at all
        _record(4, {}),
        _record(5, {"region": 'été "quoted"\t{x,y}', "model_version": "NULL"}),
        _record(6, {"region": "a\\b\nc", "model_version": ""}),
    ]
    reply = api.post("/v1/models/churn/predictions", segmented.api_key, json={"records": records[:1]})
    assert reply.status == 202
    reply = api.post("/v1/models/churn/predictions", segmented.api_key, json={"records": records[1:]})
    assert (reply.status, reply.body) == (202, {"accepted": 6, "duplicates": 0})
    assert _seg(segmented) == {
        "p0": ["eu", "v3"],
        "p1": [None, "v2"],
        "p2": [None, None],
        "p3": [None, None],
        "p4": [None, None],
        "p5": ['été "quoted"\t{x,y}', "NULL"],
        "p6": ["a\\b\nc", ""],
    }


def test_reference_records_carry_segments_and_ground_truths_do_not(api, segmented):
    rec = _record(0, {"region": "us"}, label="stay")
    assert api.post("/v1/models/churn/reference", segmented.api_key, json={"records": [rec]}).status == 202
    assert _seg(segmented, "reference_rows") == {"p0": ["us", None]}
    label = {"prediction_id": "p0", "label": "stay", "segments": {"region": "us"}}
    reply = api.post("/v1/models/churn/ground-truths", segmented.api_key, json={"records": [label]})
    assert reply.status == 400
    assert reply.error["details"] == [{"index": 0, "field": "segments", "message": "unknown field"}]


def test_bad_segment_values_are_a_400_naming_record_and_field_and_nothing_is_stored(api, segmented):
    records = [
        _record(0, {"region": "eu"}),
        _record(1, {"region": "eu", "channel": "web"}),
        _record(2, {"region": 3}),
        _record(3, {"model_version": "v" * 201}),
        _record(4, ["eu"]),
        _record(5, {"region": "a\x00b"}),
        _record(6, {"region": True}),
    ]
    reply = api.post("/v1/models/churn/predictions", segmented.api_key, json={"records": records})
    assert reply.status == 400
    assert reply.error["message"] == "6 of 7 records are invalid; nothing was stored"
    assert reply.error["details"] == [
        {
            "index": 1,
            "field": "segments.channel",
            "message": "unknown segment field (the model has region, model_version)",
        },
        {"index": 2, "field": "segments.region", "message": "must be a string or null"},
        {"index": 3, "field": "segments.model_version", "message": "at most 200 characters, no NUL character"},
        {"index": 4, "field": "segments", "message": "must be an object of segment field -> value"},
        {"index": 5, "field": "segments.region", "message": "at most 200 characters, no NUL character"},
        {"index": 6, "field": "segments.region", "message": "must be a string or null"},
    ]
    assert _seg(segmented) == {}
    # the same rules for the reference
    ref = api.post("/v1/models/churn/reference", segmented.api_key, json={"records": records[2:3]})
    assert (ref.status, ref.fields()) == (400, {"segments.region"})


def test_a_model_without_segments_refuses_segment_values_and_stores_seg_null(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    reply = api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": [_record(0, {"region": "eu"})]})
    assert reply.status == 400
    [detail] = reply.error["details"]
    assert (detail["index"], detail["field"]) == (0, "segments")
    assert "declares no segment fields" in detail["message"]
    for value in (["eu"], "eu", {"region": None}):
        reply = api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": [_record(0, value)]})
        assert (reply.status, reply.fields()) == (400, {"segments"}), value
    ok = [_record(1), _record(2, {}), _record(3, None)]
    ok[2]["segments"] = None
    assert api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": ok}).status == 202
    assert _seg(tenant) == {"p1": None, "p2": None, "p3": None}


def test_rows_before_a_segment_field_was_appended_keep_their_shorter_array(api, tenant):
    assert api.post("/v1/models", tenant.api_key, json=data.model(segments=["region"])).status == 201
    api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": [_record(0, {"region": "eu"})]})
    reply = api.request("PATCH", "/v1/models/churn", tenant.api_key, json_body={"segments": ["region", "channel"]})
    assert reply.status == 200
    rec = _record(1, {"region": "us", "channel": "web"})
    assert api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": [rec]}).status == 202
    assert _seg(tenant) == {"p0": ["eu"], "p1": ["us", "web"]}


# --- files -------------------------------------------------------------------------------------------
def _csv(n: int, segments: str = "", values=None, start: int = 0) -> str:
    """csv_rows with the segment columns ``segments`` (e.g. ",region") and ``values(i)`` for each row."""
    lines = csv_rows(n, start).splitlines()
    out = [HEADER + segments]
    for i, line in enumerate(lines[1:], start):
        out.append(line + (values(i) if values else ""))
    return "\n".join(out) + "\n"


def _region(i: int) -> str:
    return ["eu", "us", "apac"][i % 3]


def test_a_csv_file_with_a_segment_column_stores_seg_and_an_absent_column_is_missing(files, segmented):  # noqa: F811
    text = _csv(30_000, ",region", lambda i: "," + ("" if i % 7 == 0 else _region(i)))
    key = f"{segmented.name}/churn/predictions/day.csv"
    files.drop(key, text)
    assert files.result(key)["rows"] == 30_000  # two chunks (SEIA_FILE_CHUNK_ROWS 20000)
    seg = _seg(segmented)
    assert len(seg) == 30_000
    assert all(seg[f"p{i}"] == [None if i % 7 == 0 else _region(i), None] for i in range(30_000))


def test_parquet_and_jsonl_files_carry_segments(files, segmented):  # noqa: F811
    n = 100
    table = pa.table(
        {
            "prediction_id": [f"q{i}" for i in range(n)],
            "timestamp": pa.array([1_793_527_200_000_000 + i for i in range(n)], pa.timestamp("us", "UTC")),
            "age": [30] * n,
            "income": [1.5] * n,
            "plan": ["pro"] * n,
            "prediction": ["stay"] * n,
            "model_version": pa.array([f"v{i % 2}" for i in range(n)]).dictionary_encode(),
            "region": [None if i == 3 else _region(i) for i in range(n)],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    files.drop(f"{segmented.name}/churn/predictions/day.parquet", buf.getvalue())
    seg = _seg(segmented)
    assert seg["q0"] == ["eu", "v0"] and seg["q3"] == [None, "v1"] and seg["q99"] == ["eu", "v1"]

    # JSON Lines: a top-level key named as the field; a record may leave it out
    lines = []
    for i in range(n):
        rec = {**data.prediction(i).pop("features"), **data.prediction(i)}
        del rec["features"]
        rec["prediction_id"] = f"j{i}"
        if i % 2:
            rec["region"] = _region(i)
        lines.append(json.dumps(rec))
    files.drop(f"{segmented.name}/churn/predictions/day.jsonl", "\n".join(lines) + "\n")
    seg = _seg(segmented)
    assert [seg[f"j{i}"] for i in range(4)] == [[None, None], ["us", None], [None, None], ["eu", None]]


def test_duplicates_go_the_careful_way_and_keep_their_segments(files, segmented):  # noqa: F811
    files.drop(f"{segmented.name}/churn/predictions/a.csv", _csv(10, ",region", lambda i: ",eu"))
    key = f"{segmented.name}/churn/predictions/b.csv"
    files.drop(key, _csv(20, ",model_version,region", lambda i: f",v{i},us"))
    result = files.result(key)
    assert (result["rows"], result["duplicates"]) == (10, 10)
    seg = _seg(segmented)
    assert (seg["p9"], seg["p10"], seg["p19"]) == (["eu", None], ["us", "v10"], ["us", "v19"])


def test_a_reference_file_carries_segments(files, segmented):  # noqa: F811
    ref = HEADER + ",label,region\nr1,2026-11-01T00:00:00Z,30,1.5,pro,stay,0.2,churn,eu\n"
    files.drop(f"{segmented.name}/churn/reference/train.csv", ref)
    assert _seg(segmented, "reference_rows") == {"r1": ["eu", None]}
    # ground-truth files have no segment columns, and load as before
    key = f"{segmented.name}/churn/ground-truths/g.csv"
    files.drop(key, "prediction_id,label\nr1,stay\n")
    assert (files.result(key)["status"], files.result(key)["rows"]) == ("loaded", 1)
    key = f"{segmented.name}/churn/ground-truths/g2.csv"
    files.drop(key, "prediction_id,label,region\nr1,stay,eu\n")
    assert files.result(key)["errors"][0]["column"] == "region"


def test_a_bad_segment_value_rejects_the_whole_file_naming_row_and_column(files, segmented):  # noqa: F811
    text = _csv(25_000, ",region", lambda i: "," + ("x" * 201 if i == 23_456 else _region(i)))
    key = f"{segmented.name}/churn/predictions/bad.csv"
    files.drop(key, text)
    result = files.result(key)
    assert (result["status"], result["errors"]) == (
        "rejected",
        [{"row": 23_457, "column": "region", "message": "at most 200 characters, no NUL character"}],
    )
    assert _seg(segmented) == {}

    typed = pa.table({**_parquet_columns(3), "model_version": [1, 2, 3]})
    buf = io.BytesIO()
    pq.write_table(typed, buf)
    key = f"{segmented.name}/churn/predictions/typed.parquet"
    files.drop(key, buf.getvalue())
    assert files.result(key)["errors"] == [
        {"row": None, "column": "model_version", "message": "a segment field's values must be text, not int64"}
    ]
    key = f"{segmented.name}/churn/predictions/object.jsonl"
    record = {"prediction_id": "o1", "timestamp": "2026-11-01T10:00:00Z", "age": 1, "income": 2.0, "plan": "pro"}
    files.drop(key, json.dumps({**record, "prediction": "stay", "segments": {"region": "eu"}}) + "\n")
    [error] = files.result(key)["errors"]
    assert error["column"] == "segments" and "a top-level key" in error["message"]
    assert _seg(segmented) == {}


def _parquet_columns(n: int) -> dict:
    return {
        "prediction_id": [f"t{i}" for i in range(n)],
        "timestamp": pa.array([1_793_527_200_000_000 + i for i in range(n)], pa.timestamp("us", "UTC")),
        "age": [30] * n,
        "income": [1.5] * n,
        "plan": ["pro"] * n,
        "prediction": ["stay"] * n,
    }


def test_a_file_of_a_model_without_segments_stores_seg_null_and_refuses_a_segment_column(files, api, tenant):  # noqa: F811
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    files.drop(f"{tenant.name}/churn/predictions/a.csv", csv_rows(5))
    ref = HEADER + ",label\nr1,2026-11-01T00:00:00Z,30,1.5,pro,stay,0.2,churn\n"
    files.drop(f"{tenant.name}/churn/reference/r.csv", ref)
    assert set(_seg(tenant).values()) == {None} and _seg(tenant, "reference_rows") == {"r1": None}
    key = f"{tenant.name}/churn/predictions/b.csv"
    files.drop(key, _csv(5, ",region", lambda i: ",eu", start=100))
    assert files.result(key)["errors"] == [
        {"row": None, "column": "region", "message": "unknown column (not a feature of the model)"}
    ]


# --- files in parts ----------------------------------------------------------------------------------
def test_a_csv_in_parts_stores_segments_and_a_bad_value_in_a_late_part_names_its_row(parted, segmented):  # noqa: F811
    key = f"{segmented.name}/churn/predictions/parts.csv"
    parted.put(key, _csv(6000, ",model_version,region", lambda i: f",v{i % 4},{_region(i)}"))
    parted.drain()
    assert parted.result(key)["rows"] == 6000
    assert len(parts_of(segmented)) >= 4
    seg = _seg(segmented)
    assert all(seg[f"p{i}"] == [_region(i), f"v{i % 4}"] for i in range(6000))

    key = f"{segmented.name}/churn/predictions/parts-bad.csv"
    bad = _csv(6000, ",region", lambda i: "," + ("\x00" if i == 15_321 else _region(i)), start=10_000)
    parted.put(key, bad)
    parted.drain()
    result = parted.result(key)
    assert (result["status"], result["errors"]) == (
        "rejected",
        [{"row": 5322, "column": "region", "message": "at most 200 characters, no NUL character"}],
    )
    assert len(_seg(segmented)) == 6000
    assert staging_left(segmented) == {"file_part_chunks": 0, "file_part_ids": 0}


def test_a_jsonl_reference_in_parts_stores_segments(parted, segmented):  # noqa: F811
    lines = []
    for i in range(5000):
        rec = {"prediction_id": f"r{i}", "timestamp": "2026-11-01T10:00:00Z", "age": i % 70, "income": 10.5}
        rec |= {"plan": "pro", "prediction": "stay", "label": "churn"}
        if i >= 4000:  # only the last part's records have the key
            rec["model_version"] = f"v{i % 3}"
        lines.append(json.dumps(rec))
    key = f"{segmented.name}/churn/reference/ref.jsonl"
    parted.put(key, "\n".join(lines) + "\n")
    parted.drain()
    assert parted.result(key)["rows"] == 5000
    assert len(parts_of(segmented)) >= 3
    seg = _seg(segmented, "reference_rows")
    assert (seg["r0"], seg["r3999"], seg["r4000"], seg["r4999"]) == (
        [None, None],
        [None, None],
        [None, "v1"],
        [None, "v1"],
    )


def test_a_segment_field_appended_while_a_jsonl_file_is_in_parts_leaves_the_file_loadable(parted, segmented, api):  # noqa: F811
    lines = []
    for i in range(5000):
        rec = {"prediction_id": f"p{i}", "timestamp": "2026-11-01T10:00:00Z", "age": i % 70, "income": 10.5}
        lines.append(json.dumps(rec | {"plan": "pro", "prediction": "stay", "region": _region(i)}))
    key = f"{segmented.name}/churn/predictions/day.jsonl"
    parted.put(key, "\n".join(lines) + "\n")
    parted.deliver()  # the object's notification: the file is planned, its part messages wait
    assert {state for _, state, _ in parts_of(segmented)} == {"pending"}
    body = {"segments": [*SEGMENTS, "channel"]}
    assert api.request("PATCH", "/v1/models/churn", segmented.api_key, json_body=body).status == 200
    parted.drain()
    assert (parted.result(key)["status"], parted.result(key)["rows"]) == ("loaded", 5000)
    seg = _seg(segmented)
    assert (seg["p0"], seg["p4999"]) == (["eu", None, None], ["us", None, None])
