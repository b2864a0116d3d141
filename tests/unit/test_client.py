"""The client's retries, errors, batching and progress, against a stub HTTP server (no database)."""

import io
import json
import socket
import threading
import time
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
    """Answers each request with the next scripted (status, body[, {"headers", "delay"}]); records what it received."""

    def __init__(self, script):
        self.script = list(script)
        self.received = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                stub.received.append((self.command, self.path, body, dict(self.headers)))
                status, payload, *more = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                options = more[0] if more else {}
                time.sleep(options.get("delay", 0))  # longer than the client's timeout: a timed out request
                raw = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in options.get("headers", {}).items():
                    self.send_header(name, value)
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


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_fails_at_once_saying_what_was_tried():
    port = _closed_port()
    sleeps = []
    with pytest.raises(SeiaConnectionError) as caught:
        _client(f"http://127.0.0.1:{port}", sleeps, max_attempts=5).models()
    assert caught.value.message == (
        f"cannot reach the Seia API: GET http://127.0.0.1:{port}/v1/models: "
        "connection refused (is the server running, and is this its port?)"
    )
    assert caught.value.attempts == 1 and sleeps == []


def test_an_unknown_host_is_named_and_not_retried():
    sleeps = []
    with pytest.raises(SeiaConnectionError) as caught:
        _client("http://seia.invalid", sleeps).models()
    assert "cannot resolve the host 'seia.invalid'" in caught.value.message
    assert caught.value.attempts == 1 and sleeps == []


def test_a_timeout_is_retried_then_said(stub):
    server = stub((200, {"models": []}, {"delay": 0.6}), (200, {"models": ["late"]}, {"delay": 0.6}))
    sleeps = []
    with pytest.raises(SeiaConnectionError) as caught:
        _client(server.url, sleeps, max_attempts=2, timeout=0.2).models()
    assert (
        caught.value.message
        == f"cannot reach the Seia API: GET {server.url}/v1/models: no answer within 0.2 s (2 attempts)"
    )
    assert caught.value.attempts == 2 and len(sleeps) == 1


def test_a_timed_out_request_succeeds_on_the_next_attempt(stub):
    server = stub((200, {"models": ["late"]}, {"delay": 0.6}), (200, {"models": ["ok"]}))
    sleeps = []
    assert _client(server.url, sleeps, timeout=0.3).models() == ["ok"]
    assert len(server.received) == 2 and len(sleeps) == 1


def test_retry_after_is_honoured_up_to_the_longest_wait(stub):
    busy = {"error": {"code": "too_many", "message": "slow down", "details": []}}
    server = stub(
        (429, busy, {"headers": {"Retry-After": "7"}}),
        (503, busy, {"headers": {"Retry-After": "3600"}}),
        (200, {"models": []}),
    )
    sleeps = []
    assert _client(server.url, sleeps, backoff=0.1, max_backoff=20).models() == []
    assert sleeps == [7, 20]


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


def test_url_and_key_come_from_the_environment(stub, monkeypatch):
    server = stub((200, {"models": []}))
    monkeypatch.setenv("SEIA_URL", server.url + "/")
    monkeypatch.setenv("SEIA_API_KEY", "seia_0123456789_" + "e" * 43)
    seia = Client()
    assert seia.url == server.url and seia.models() == []
    assert server.received[0][3]["Authorization"] == "Bearer seia_0123456789_" + "e" * 43
    assert Client("http://given", "k").url == "http://given"  # given ones win


def test_without_url_or_key_the_error_says_how_to_give_them(monkeypatch):
    monkeypatch.delenv("SEIA_URL", raising=False)
    monkeypatch.delenv("SEIA_API_KEY", raising=False)
    with pytest.raises(ValueError, match="no API URL: pass url= or set SEIA_URL"):
        Client(api_key="k")
    with pytest.raises(ValueError, match="no API key: pass api_key= or set SEIA_API_KEY"):
        Client("http://127.0.0.1:8000")


def test_error_indexes_count_the_callers_rows_not_the_batch(stub):
    refused = {
        "error": {
            "code": "validation_failed",
            "message": "1 of 10 records are invalid; nothing was stored",
            "details": [{"index": 3, "field": "prediction", "message": "'maybe' is not one of the model's labels"}],
        }
    }
    server = stub(
        (200, MODEL), (202, {"accepted": 10, "duplicates": 0}), (202, {"accepted": 10, "duplicates": 0}), (400, refused)
    )
    with pytest.raises(SeiaAPIError) as caught:
        _client(server.url).log_predictions(_frame(25), "churn", batch_size=10, progress=False)
    assert [(d["index"], d["field"]) for d in caught.value.details] == [(23, "prediction")]
    assert caught.value.first_row == 20 and caught.value.sent == {"accepted": 20, "duplicates": 0, "batches": 2}
    assert "the 20 rows before it were sent" in str(caught.value)


def test_error_indexes_count_across_the_frames_of_an_iterable(stub):
    refused = {
        "error": {
            "code": "validation_failed",
            "message": "bad",
            "details": [{"index": 0, "field": "age", "message": "x"}],
        }
    }
    server = stub((200, MODEL), (202, {"accepted": 7, "duplicates": 0}), (400, refused))
    with pytest.raises(SeiaAPIError) as caught:
        _client(server.url).log_predictions(iter([_frame(7), _frame(5)]), "churn", progress=False)
    assert caught.value.details[0]["index"] == 7


MULTICLASS = {
    "name": "tier",
    "task": "multiclass_classification",
    "labels": ["bronze", "silver", "gold"],
    "features": [{"name": "age", "type": "numeric"}, {"name": "score_card", "type": "numeric"}],
}


def _tiers():
    return pd.DataFrame(
        {
            "prediction_id": ["a", "b", "c"],
            "timestamp": pd.date_range("2026-11-01T10:00:00Z", periods=3, freq="min"),
            "age": [30.0, 40.0, 50.0],
            "score_card": [1.0, 2.0, 3.0],  # a feature, not a class score
            "prediction": ["gold", "bronze", "silver"],
            "score_bronze": [0.1, 0.7, float("nan")],
            "score_silver": pd.array([0.2, 0.2, None], dtype="Float64"),
            "score_gold": [0.7, 0.1, float("nan")],
        }
    )


def test_score_columns_per_class_become_the_score_map():
    records = frame_to_records(_tiers(), MULTICLASS, "predictions")
    assert [r.get("score") for r in records] == [
        {"bronze": 0.1, "silver": 0.2, "gold": 0.7},
        {"bronze": 0.7, "silver": 0.2, "gold": 0.1},
        None,
    ]
    assert "score" not in records[2] and records[0]["features"] == {"age": 30.0, "score_card": 1.0}
    reference = frame_to_records(_tiers().assign(label="gold"), MULTICLASS, "reference")
    assert reference[1]["score"] == {"bronze": 0.7, "silver": 0.2, "gold": 0.1} and reference[1]["label"] == "gold"
    binary = frame_to_records(
        _frame(1).drop(columns=["score"]).assign(score_stay=0.4, score_churn=0.6), MODEL, "predictions"
    )
    assert binary[0]["score"] == {"stay": 0.4, "churn": 0.6}


def test_a_score_map_column_goes_as_it_is():
    df = _tiers().drop(columns=["score_bronze", "score_silver", "score_gold"])
    df["score"] = [{"bronze": 0.5, "silver": 0.25, "gold": 0.25}] * 3
    assert frame_to_records(df, MULTICLASS, "predictions")[0]["score"] == {"bronze": 0.5, "silver": 0.25, "gold": 0.25}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda df: df.drop(columns=["score_gold"]), "missing columns score_gold: give score_<label> for every class"),
        (lambda df: df.assign(score_platinum=0.0), "score_platinum: no such class in model 'tier'"),
        (lambda df: df.assign(score=0.5), "give a score column or score_<label> columns, not both"),
    ],
)
def test_score_columns_that_cannot_be_right_are_refused_before_sending(change, message):
    with pytest.raises(ValueError, match=message):
        frame_to_records(change(_tiers()), MULTICLASS, "predictions")


def test_the_key_never_shows_in_the_repr():
    assert "seia_" not in repr(_client("http://x"))
