"""Hostile input: fuzzed headers, bodies and file bytes; injection and traversal strings in every name;
oversized and deeply nested JSON. Every answer is a 2xx with the data stored, or a 4xx that wrote nothing."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.reliability.conftest import count, say
from tests.support import data

HOSTILE = [
    "'; DROP TABLE predictions; --",
    '" OR 1=1 --',
    "x'); DELETE FROM models; --",
    "../../etc/passwd",
    "%2e%2e/%2e%2e/secret",
    "..\\..\\windows",
    "a/../../b",
    "\x00nul",
    "$(rm -rf /)",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "ü" * 300,
    "robert'); DROP TABLE students;--",
]
FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _no_5xx_and_nothing_written(reply, tenant, before):
    assert reply.status < 500, reply.raw[:300]
    if reply.status >= 300:
        assert set(json.loads(reply.raw)["error"]) == {"code", "message", "details"}
        assert tenant.snapshot() == before


# --- JSON bodies -----------------------------------------------------------------------------------
def test_deeply_nested_and_oversized_json_are_4xx(api, churn_tenant):
    before = churn_tenant.snapshot()
    cases = {
        "nesting depth 100,000": b"[" * 100_000 + b"]" * 100_000,
        "unclosed nesting 100,000": b'{"records": ' + b"[" * 100_000,
        "depth 900 inside a feature": json.dumps(
            {
                "records": [
                    data.prediction(1, features={"age": json.loads("[" * 900 + "]" * 900), "income": 1, "plan": "a"})
                ]
            }
        ).encode(),
        "7 MB body": json.dumps({"records": [data.prediction(1, prediction_id="x" * (7 << 20))]}).encode(),
        "10,001 records": json.dumps(data.predictions(10_001)).encode(),
    }
    for name, raw in cases.items():
        reply = api.request("POST", "/v1/models/churn/predictions", churn_tenant.api_key, raw=raw)
        say(f"hostile json: {name} ({len(raw)} bytes) -> {reply.status} {reply.error['code']}")
        assert reply.status in (400, 413), reply.raw[:300]
    assert churn_tenant.snapshot() == before


@FUZZ
@given(
    content_type=st.one_of(
        st.sampled_from(
            [
                "application/json",
                "APPLICATION/JSON",
                "application/json; charset=utf-8",
                "application/json;;;",
                "text/json",
                "application/jsonx",
                "*/*",
                "",
                "multipart/form-data; boundary=x",
                "application/json\r\nX: y",
            ]
        ),
        st.text(max_size=100),
    ),
    auth=st.one_of(
        st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "Basic ", "Token ", "", "Bearer\t"]), st.text(max_size=20)
    ),
    key_change=st.sampled_from(["same", "upper", "truncate", "append", "huge", "other"]),
    body=st.one_of(
        st.just(
            b'{"records": [{"prediction_id": "h1", "timestamp": "2026-11-01T10:00:00Z", '
            b'"features": {"age": 1, "income": 2, "plan": "x"}, "prediction": "stay"}]}'
        ),
        st.binary(max_size=300),
    ),
)
def test_fuzzed_headers_and_bodies_are_answered_without_5xx(fuzz_tenant, content_type, auth, key_change, body):
    from tests.support.api import ApiClient

    key = fuzz_tenant.api_key
    key = {
        "same": key,
        "upper": key.upper(),
        "truncate": key[:-1],
        "append": key + "x",
        "huge": key + "A" * 200_000,
        "other": "seia_0000000000_" + "A" * 43,
    }[key_change]
    before = fuzz_tenant.snapshot()
    reply = ApiClient().request(
        "POST",
        "/v1/models/churn/predictions",
        raw=body,
        content_type=None,
        headers={"Content-Type": content_type, "Authorization": auth + key},
    )
    _no_5xx_and_nothing_written(reply, fuzz_tenant, before)


@pytest.fixture(scope="module")
def fuzz_tenant(tenant_admin):
    import secrets

    from tests.conftest import TenantHandle
    from tests.support.api import ApiClient

    t = TenantHandle(tenant_admin, tenant_admin.create_tenant("z" + secrets.token_hex(4)))
    assert ApiClient().post("/v1/models", t.api_key, json=data.model()).status == 201
    return t


# --- names -----------------------------------------------------------------------------------------
def test_injection_and_traversal_strings_in_every_name_field(api, churn_tenant, tenant_admin, settings):
    import psycopg

    from seia.errors import ValidationFailed

    with psycopg.connect(settings.database_url) as conn:
        dbs_before = conn.execute("SELECT count(*) FROM pg_database").fetchone()[0]
    for name in HOSTILE:
        with pytest.raises(ValidationFailed):
            tenant_admin.create_tenant(name)
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database").fetchone()[0] == dbs_before
    say(f"hostile names: {len(HOSTILE)} tenant names refused by TenantAdmin, no database created")

    statuses = {}
    for name in HOSTILE:
        for field, body in (
            ("model name", data.model(name=name)),
            ("feature name", data.model(name="m1", features=[{"name": name, "type": "numeric"}])),
            ("label", data.model(name="m2", labels=[name, "ok"])),
        ):
            reply = api.post("/v1/models", churn_tenant.api_key, json=body)
            statuses.setdefault(field, set()).add(reply.status)
            assert reply.status in (201, 400), reply.raw[:300]
            if reply.status == 201:  # stored verbatim, read back verbatim
                got = api.get(f"/v1/models/{body['name']}", churn_tenant.api_key).body
                assert got["features"] == body["features"] and got["labels"] == body["labels"]
                with churn_tenant.connect() as conn:
                    conn.execute("DELETE FROM models WHERE name = %s", (body["name"],))
        for path in (f"/v1/models/{name}", f"/v1/models/{name}/stats", f"/v1/models/{name}/drift"):
            reply = api.get(path, churn_tenant.api_key)
            assert reply.status in (400, 404), (path, reply.status)
    say(f"hostile names: model/feature/label fields -> {statuses}; the same strings in URL paths -> 400/404")

    records = [
        data.prediction(i, prediction_id=name, features={"age": 1, "income": 2, "plan": name})
        for i, name in enumerate(HOSTILE)
        if "\x00" not in name and len(name) <= 200
    ]
    reply = api.post("/v1/models/churn/predictions", churn_tenant.api_key, json={"records": records})
    assert reply.status == 202 and reply.body["accepted"] == len(records)
    with churn_tenant.connect() as conn:
        stored = dict(conn.execute("SELECT prediction_id, cat[1] FROM predictions").fetchall())
    assert stored == {r["prediction_id"]: r["features"]["plan"] for r in records}
    nul = api.post(
        "/v1/models/churn/predictions",
        churn_tenant.api_key,
        json={"records": [data.prediction(99, prediction_id="a\x00b")]},
    )
    say(
        f"hostile names: {len(records)} injection/traversal prediction ids and category values stored verbatim; "
        f"a NUL byte -> {nul.status}"
    )
    assert nul.status == 400


def test_traversal_in_s3_keys_reaches_no_other_tenant(file_drop, api, make_tenant):
    from tests.integration.test_file_ingest import csv_rows

    a, b = make_tenant(), make_tenant()
    for t in (a, b):
        assert api.post("/v1/models", t.api_key, json=data.model()).status == 201
    before = b.snapshot()
    keys = [
        f"{a.name}/../{b.name}/churn/predictions/x.csv",
        f"{a.name}/%2e%2e/{b.name}/churn/predictions/x.csv",
        f"{a.name}/churn/predictions/../../../{b.name}/churn/predictions/x.csv",
        f"{a.name}/churn/../predictions/x.csv",
        f"../{b.name}/churn/predictions/x.csv",
        f"{a.name}/churn/predictions/%2e%2e%2f{b.name}.csv",
        f"{a.name}/churn/predictions/'; DROP TABLE models;--.csv",
    ]
    for key in keys:
        assert file_drop.drop(key, csv_rows(3)) == {"batchItemFailures": []}
    results = [k for k in file_drop.keys() if "/_results/" in k]
    say(f"hostile keys: {len(keys)} traversal/injection keys -> results at {results}; tenant {b.name} untouched")
    assert b.snapshot() == before
    # S3 keys are literal: a result goes under the first segment of the key that was put (the uploader's
    # own prefix), never under tenant B's.
    sources = {k.split("/", 1)[0] for k in keys}
    assert all(k.split("/", 1)[0] in sources and not k.startswith(f"{b.name}/") for k in results)
    # keys whose *name* holds dots or quotes are tenant A's own files (the same 3 ids: stored once)
    assert count(a) == 3


# --- file bytes --------------------------------------------------------------------------------------
def _valid_file(fmt: str) -> bytes:
    rows = []
    for i in range(20):
        rec = data.prediction(i)
        rows.append(
            {
                "prediction_id": rec["prediction_id"],
                "timestamp": rec["timestamp"],
                "age": rec["features"]["age"],
                "income": rec["features"]["income"],
                "plan": rec["features"]["plan"],
                "prediction": rec["prediction"],
                "score": rec["score"],
            }
        )
    if fmt == "csv":
        return ("\n".join([",".join(rows[0])] + [",".join(str(v) for v in r.values()) for r in rows]) + "\n").encode()
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


@st.composite
def _mutated(draw):
    fmt = draw(st.sampled_from(["csv", "jsonl", "parquet", "csv.gz"]))
    raw = bytearray(_valid_file("csv" if fmt == "csv.gz" else fmt))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] = draw(st.integers(0, 255))
        elif op == "delete":
            del raw[pos : pos + draw(st.integers(1, 20))]
        elif op == "insert":
            raw[pos:pos] = draw(
                st.sampled_from(
                    [
                        b",",
                        b"\n",
                        b'"',
                        b"{",
                        b"[" * 50_000,
                        b"\x00",
                        b"nan",
                        b"1e999",
                        b"\xff\xfe",
                        b"p1",
                        b"2026-13-45T99:00:00Z",
                    ]
                )
            )
        else:
            del raw[pos:]
    data_ = bytes(raw)
    return fmt, gzip.compress(data_) if fmt == "csv.gz" else data_


def test_mutated_files_are_loaded_consistently_or_rejected_whole(file_drop, api, make_tenant):
    t = make_tenant()
    assert api.post("/v1/models", t.api_key, json=data.model()).status == 201
    outcomes = {}

    @FUZZ
    @given(case=_mutated())
    def check(case):
        fmt, body = case
        before = t.snapshot()
        key = f"{t.name}/churn/predictions/f{len(outcomes.get('n', []))}-{abs(hash(body))}.{fmt}"
        outcomes.setdefault("n", []).append(1)
        assert file_drop.drop(key, body) == {"batchItemFailures": []}
        result = file_drop.result(key)
        outcomes[result["status"]] = outcomes.get(result["status"], 0) + 1
        after = t.snapshot()
        if result["status"] == "rejected":
            assert after == before and result["rows"] == 0
        else:
            assert result["status"] == "loaded"
            assert after["predictions"] - before["predictions"] == result["rows"]
            assert after["file_ingests"] == before["file_ingests"] + 1

    check()
    say(
        f"mutated files: {len(outcomes.pop('n'))} CSV/JSONL/Parquet/gzip files with flipped, deleted, inserted "
        f"or truncated bytes -> {outcomes}; no retry, no crash, rejected files wrote nothing"
    )


def test_a_jsonl_line_nested_100000_deep_is_rejected_not_a_crash(file_drop, churn_tenant):
    key = f"{churn_tenant.name}/churn/predictions/deep.jsonl"
    body = b'{"prediction_id": "p1", "age": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    assert file_drop.drop(key, body) == {"batchItemFailures": []}
    result = file_drop.result(key)
    say(
        f"hostile jsonl: a line nested 100,000 deep -> {result['status']}: {result['errors'][0]['message']} "
        "(before the fix pyarrow's parser crashed the process with SIGSEGV)"
    )
    assert result["status"] == "rejected" and count(churn_tenant) == 0
