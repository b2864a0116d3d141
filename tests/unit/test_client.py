"""The client's retries, errors, batching and progress, against a stub HTTP server (no database)."""

import io
import json
import threading
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from seia_client import client as client_module
from seia_client.client import Client, SeiaAPIError, SeiaConnectionError, frame_to_records, parse_since

MODEL = {
    "name": "churn",
    "task": "binary_classification",
    "labels": ["stay", "churn"],
    "features": [{"name": "age", "type": "numeric"}, {"name": "plan", "type": "categorical"}],
}


class Stub:
    """Answers each request with the next scripted (status, body); records what it received."""

    def __init__(self, script):
        self.script = list(script)
        self.received = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                stub.received.append((self.command, self.path, body, dict(self.headers)))
                status, payload = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    stubs = []

    def make(*script):
        s = Stub(script)
        stubs.append(s)
        return s

    yield make
    for s in stubs:
        s.close()


def _client(url, sleeps=None, **kw):
    return Client(
        url, "seia_0123456789_" + "x" * 43, sleep=(sleeps.append if sleeps is not None else lambda s: None), **kw
    )


def _frame(n):
    return pd.DataFrame(
        {
            "prediction_id": range(n),
            "timestamp": pd.date_range("2026-11-01T10:00:00Z", periods=n, freq="min"),
            "age": [float(i) for i in range(n)],
            "plan": ["pro"] * n,
            "prediction": ["stay"] * n,
            "score": [0.5] * n,
        }
    )


def test_transient_failures_are_retried_with_growing_jittered_waits(stub):
    server = stub(
        (503, {"error": {"code": "service_unavailable", "message": "db", "details": []}}),
        (429, {"error": {"code": "too_many", "message": "slow down", "details": []}}),
        (200, {"models": []}),
    )
    sleeps = []
    assert _client(server.url, sleeps, backoff=1.0).models() == []
    assert len(server.received) == 3
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0


def test_a_4xx_is_not_retried_and_carries_the_error_body(stub):
    error = {
        "error": {
            "code": "validation_failed",
            "message": "1 of 1 records are invalid; nothing was stored",
            "details": [{"index": 0, "field": "timestamp", "message": "has no UTC offset"}],
        }
    }
    server = stub((400, error))
    with pytest.raises(SeiaAPIError) as caught:
        _client(server.url).request("POST", "/v1/models/churn/predictions", {"records": [{}]})
    assert len(server.received) == 1
    assert (caught.value.status, caught.value.code) == (400, "validation_failed")
    assert caught.value.details == error["error"]["details"]
    assert "nothing was stored" in str(caught.value)


def test_retries_are_bounded(stub):
    server = stub((503, {"error": {"code": "service_unavailable", "message": "down", "details": []}}))
    sleeps = []
    with pytest.raises(SeiaAPIError) as caught:
        _client(server.url, sleeps, max_attempts=3).models()
    assert caught.value.status == 503 and len(server.received) == 3 and len(sleeps) == 2


def test_an_unreachable_server_is_a_connection_error_after_the_attempts():
    sleeps = []
    with pytest.raises(SeiaConnectionError) as caught:
        _client("http://127.0.0.1:9", sleeps, max_attempts=2, timeout=2).models()
    assert "after 2 attempts" in caught.value.message and len(sleeps) == 1


def test_a_missing_route_is_recognisable(stub):
    server = stub((404, {"error": {"code": "not_found", "message": "no route /v1/models/churn/drift", "details": []}}))
    with pytest.raises(SeiaAPIError) as caught:
        _client(server.url).drift("churn")
    assert caught.value.route_missing


def test_big_frames_go_in_batches_and_the_totals_add_up(stub):
    server = stub(
        (200, MODEL),
        (202, {"accepted": 10, "duplicates": 0}),
        (202, {"accepted": 8, "duplicates": 2}),
        (202, {"accepted": 5, "duplicates": 0}),
    )
    totals = _client(server.url).log_predictions(_frame(25), "churn", batch_size=10, progress=False)
    assert totals == {"accepted": 23, "duplicates": 2, "batches": 3}
    sizes = [len(body["records"]) for method, path, body, _ in server.received if method == "POST"]
    assert sizes == [10, 10, 5]


def test_batches_are_halved_until_under_the_byte_limit(stub, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_BATCH_BYTES", 3000)
    server = stub((200, MODEL), (202, {"accepted": 1, "duplicates": 0}))
    totals = _client(server.url).log_predictions(_frame(40), "churn", progress=False)
    posts = [(body, len(json.dumps(body))) for method, _, body, _ in server.received if method == "POST"]
    assert totals["batches"] == len(posts) > 1
    assert sum(len(b["records"]) for b, _ in posts) == 40
    assert all(size <= 3000 for _, size in posts)


def test_reference_replace_applies_to_the_first_batch_only(stub):
    server = stub(
        (200, MODEL),
        (202, {"accepted": 10, "duplicates": 0, "replaced": True, "reference_rows": 10, "reference_version": 2}),
    )
    totals = _client(server.url).log_reference(_frame(20), "churn", replace=True, batch_size=10, progress=False)
    paths = [path for method, path, _, _ in server.received if method == "POST"]
    assert paths == ["/v1/models/churn/reference?replace=true", "/v1/models/churn/reference"]
    assert totals["reference_version"] == 2


def test_the_progress_bar_shows_on_request_and_stays_quiet_otherwise(stub, monkeypatch):
    server = stub((200, MODEL), (202, {"accepted": 10, "duplicates": 0}))
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    seia = _client(server.url)
    seia.log_predictions(_frame(20), "churn", batch_size=10, progress=True)
    assert "20/20 records" in err.getvalue() and "#" * 30 in err.getvalue()
    err.truncate(0)
    err.seek(0)
    seia.log_predictions(_frame(20), "churn", batch_size=10)  # stderr is not a terminal
    assert err.getvalue() == ""


def test_frames_become_json_ready_records():
    df = pd.DataFrame(
        {
            "prediction_id": pd.Series([1, 2], dtype="int64"),
            "timestamp": [pd.Timestamp("2026-11-01 12:00:00"), pd.Timestamp("2026-11-01T12:00:00+02:00")],
            "age": [float("nan"), 31.0],
            "plan": [None, "pro"],
            "prediction": [1.0, 0.0],
            "score": [float("nan"), 0.25],
            "extra": ["ignored", "ignored"],
        }
    )
    model = dict(MODEL, labels=["0", "1"])
    records = frame_to_records(df, model, "predictions")
    assert records == [
        {
            "prediction_id": "1",
            "timestamp": "2026-11-01T12:00:00.000000Z",
            "features": {"age": None, "plan": None},
            "prediction": 1,
        },
        {
            "prediction_id": "2",
            "timestamp": "2026-11-01T10:00:00.000000Z",
            "features": {"age": 31.0, "plan": "pro"},
            "prediction": 0,
            "score": 0.25,
        },
    ]
    assert all(type(r["features"]["age"]) in (float, type(None)) for r in records)
    json.dumps(records, allow_nan=False)


def test_a_frame_without_a_feature_column_is_refused_before_sending():
    with pytest.raises(ValueError, match="missing columns .*: plan"):
        frame_to_records(_frame(2).drop(columns=["plan"]), MODEL, "predictions")


def test_since_reads_like_a_duration():
    from datetime import datetime

    now = datetime(2026, 11, 8, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("12h", now) == datetime(2026, 11, 7, 12, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_since("a week", now)


def test_the_key_never_shows_in_the_repr():
    assert "seia_" not in repr(_client("http://x"))
