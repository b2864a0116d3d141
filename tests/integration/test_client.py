"""The Python client against the real API over HTTP: what a data scientist sees."""

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from seia import Client
from seia.client import SeiaAPIError
from tests.support.live import serving

FEATURES = {"age": "numeric", "income": "numeric", "plan": "categorical"}


@pytest.fixture
def seia(tenant):
    with serving() as url:
        yield Client(url, tenant.api_key, timeout=10)


def _predictions(n, start=0):
    ids = range(start, start + n)
    return pd.DataFrame({
        "prediction_id": [f"p{i}" for i in ids],
        "timestamp": pd.date_range("2026-11-01T10:00:00", periods=n, freq="7min", tz="UTC"),
        "age": pd.array([20 + i % 50 for i in ids], dtype="int64"),
        "income": [float("nan") if i % 10 == 0 else 1000.0 * i for i in ids],
        "plan": [["free", "pro", "team"][i % 3] for i in ids],
        "prediction": ["churn" if i % 4 == 0 else "stay" for i in ids],
        "score": [(i % 100) / 100 for i in ids],
    })


def test_a_model_round_trip(seia):
    created = seia.create_model("churn", "binary_classification", FEATURES, labels=["stay", "churn"])
    assert created["name"] == "churn"
    assert [m["name"] for m in seia.models()] == ["churn"]
    assert [f["name"] for f in seia.model("churn")["features"]] == ["age", "income", "plan"]


def test_a_dataframe_of_predictions_and_ground_truths_lands_in_the_windows(seia):
    seia.create_model("churn", "binary_classification", FEATURES, labels=["stay", "churn"])
    sent = seia.log_predictions(_predictions(2500), "churn", batch_size=1000, progress=False)
    assert sent == {"accepted": 2500, "duplicates": 0, "batches": 3}
    again = seia.log_predictions(_predictions(100), "churn", progress=False)
    assert again == {"accepted": 0, "duplicates": 100, "batches": 1}

    labels = pd.DataFrame({"prediction_id": ["p0", "p1", "p2", "nope"], "label": ["stay", "churn", "stay", "stay"]})
    assert seia.log_ground_truths(labels, "churn", progress=False) == {"accepted": 4, "unmatched": 1, "batches": 1}

    stats = seia.stats("churn", granularity="day")
    assert list(stats.columns[:3]) == ["window_start", "predictions", "labelled"]
    assert stats["predictions"].sum() == 2500 and stats["labelled"].sum() == 3
    assert str(stats["window_start"].dt.tz) == "UTC"


def test_a_reference_set_can_be_replaced(seia):
    seia.create_model("churn", "binary_classification", FEATURES, labels=["stay", "churn"])
    reference = _predictions(300).assign(label="stay")
    first = seia.log_reference(reference, "churn", progress=False)
    second = seia.log_reference(reference.head(50), "churn", replace=True, progress=False)
    assert first["reference_rows"] == 300
    assert second["reference_rows"] == 50 and second["reference_version"] > first["reference_version"]


def test_a_rejected_batch_raises_with_every_problem(seia):
    seia.create_model("churn", "binary_classification", FEATURES, labels=["stay", "churn"])
    bad = _predictions(3).assign(prediction=["stay", "maybe", "stay"])
    with pytest.raises(SeiaAPIError) as caught:
        seia.log_predictions(bad, "churn", progress=False)
    assert caught.value.status == 400 and caught.value.code == "validation_failed"
    assert [(d["index"], d["field"]) for d in caught.value.details] == [(1, "prediction")]


def test_an_unknown_model_is_a_404(seia):
    with pytest.raises(SeiaAPIError) as caught:
        seia.model("ghost")
    assert caught.value.status == 404 and not caught.value.route_missing


def test_drift_before_the_drift_routes_exist_says_so(seia):
    seia.create_model("churn", "binary_classification", FEATURES, labels=["stay", "churn"])
    for call in (seia.drift, seia.performance, seia.alerts):
        with pytest.raises(SeiaAPIError) as caught:
            call("churn")
        assert caught.value.route_missing, call.__name__


def test_the_document_is_served_to_the_client(seia):
    assert seia.openapi()["info"]["title"] == "Seia"


def test_upload_file_drops_the_file_under_tenant_model_kind(tmp_path, monkeypatch):
    path = tmp_path / "day1.csv"
    _predictions(5).to_csv(path, index=False)
    monkeypatch.setenv("SEIA_BUCKET", "seia-drops")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="seia-drops")
        uri = Client("http://unused", "k").upload_file(path, "churn", "predictions", tenant="acme")
        assert uri == "s3://seia-drops/acme/churn/predictions/day1.csv"
        body = s3.get_object(Bucket="seia-drops", Key="acme/churn/predictions/day1.csv")["Body"].read()
    assert body == path.read_bytes()


def test_upload_file_refuses_what_the_file_ingest_would_refuse(tmp_path, monkeypatch):
    path = tmp_path / "day1.xlsx"
    path.write_bytes(b"not a supported format")
    monkeypatch.setenv("SEIA_BUCKET", "seia-drops")
    with pytest.raises(ValueError, match="day1.xlsx"):
        Client("http://unused", "k").upload_file(path, "churn", "predictions", tenant="acme")
