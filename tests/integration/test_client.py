"""The Python client against the real API over HTTP: what a data scientist sees."""

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from seia_client import Client
from seia_client.client import SeiaAPIError
from tests.support.live import serving

FEATURES = {"age": "numeric", "income": "numeric", "plan": "categorical"}


@pytest.fixture
def seia(tenant):
    with serving() as url:
        yield Client(url, tenant.api_key, timeout=10)


def _predictions(n, start=0):
    ids = range(start, start + n)
    return pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in ids],
            "timestamp": pd.date_range("2026-11-01T10:00:00", periods=n, freq="7min", tz="UTC"),
            "age": pd.array([20 + i % 50 for i in ids], dtype="int64"),
            "income": [float("nan") if i % 10 == 0 else 1000.0 * i for i in ids],
            "plan": [["free", "pro", "team"][i % 3] for i in ids],
            "prediction": ["churn" if i % 4 == 0 else "stay" for i in ids],
            "score": [(i % 100) / 100 for i in ids],
        }
    )


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
    assert seia.log_ground_truths(labels, "churn", progress=False) == {
        "accepted": 4,
        "unmatched": 1,
        "expired": 0,
        "batches": 1,
    }

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


def test_the_index_of_a_bad_row_is_its_place_in_the_frame(seia):
    seia.create_model("churn", "binary_classification", FEATURES, labels=["stay", "churn"])
    frame = _predictions(2500)
    frame.loc[2345, "prediction"] = "maybe"
    with pytest.raises(SeiaAPIError) as caught:
        seia.log_predictions(frame, "churn", batch_size=1000, progress=False)
    assert [(d["index"], d["field"]) for d in caught.value.details] == [(2345, "prediction")]
    assert frame.iloc[caught.value.details[0]["index"]]["prediction"] == "maybe"
    assert caught.value.sent == {"accepted": 2000, "duplicates": 0, "batches": 2}


def test_class_scores_survive_the_round_trip(seia, tenant):
    seia.create_model("tier", "multiclass_classification", FEATURES, labels=["bronze", "silver", "gold"])
    frame = (
        _predictions(4)
        .drop(columns=["score"])
        .assign(
            prediction=["gold", "bronze", "silver", "gold"],
            score_bronze=[0.1, 0.8, 0.3, None],
            score_silver=[0.2, 0.1, 0.6, None],
            score_gold=[0.7, 0.1, 0.1, None],
        )
    )
    assert seia.log_predictions(frame, "tier", progress=False)["accepted"] == 4
    with tenant.connect() as conn:
        stored = conn.execute("SELECT prediction_id, prediction_label, scores FROM predictions ORDER BY 1").fetchall()
    assert stored == [
        ("p0", "gold", [0.1, 0.2, 0.7]),
        ("p1", "bronze", [0.8, 0.1, 0.1]),
        ("p2", "silver", [0.3, 0.6, 0.1]),
        ("p3", "gold", None),
    ]


def test_the_client_finds_the_api_in_the_environment(tenant, monkeypatch):
    with serving() as url:
        monkeypatch.setenv("SEIA_URL", url)
        monkeypatch.setenv("SEIA_API_KEY", tenant.api_key)
        assert Client().models() == []


def test_an_unknown_model_is_a_404(seia):
    with pytest.raises(SeiaAPIError) as caught:
        seia.model("ghost")
    assert caught.value.status == 404 and not caught.value.route_missing


@pytest.fixture
def drifted(tenant, settings):
    """A model whose x-feature was shifted two days ago, run through the drift engine."""
    from tests.support import drift_seed, scenarios

    data = scenarios.generate("covariate_shift", 1)
    drift_seed.seed(settings, tenant, {"shift": drift_seed.recent(data)})
    return data.injected


def test_drift_is_a_frame_of_windows_and_columns(seia, drifted):
    df = seia.drift("shift", since="7d")
    assert len(df) == 7 + 4 and set(df["window_start"].dt.hour) == {0}
    drifted_rows = df[df["verdict"] == "drift"]
    assert drifted in set(drifted_rows["name"]) and "prediction" in set(df["kind"])
    assert df.loc[df["name"] == drifted, "ks_statistic"].iloc[0] > 0.2
    (mv,) = df[df["kind"] == "multivariate"].to_dict("records")
    assert mv["name"] == "multivariate" and mv["verdict"] == "drift"
    assert mv["reconstruction_error"] > mv["upper_threshold"]
    hours = seia.drift("shift", since="7d", granularity="hour")
    assert len(hours) == 24 * 11


def test_performance_and_incidents_then_acknowledge_and_resolve(seia, drifted):
    perf = seia.performance("shift", since="7d")
    assert perf["labelled"].tolist() == [2000] and perf["provisional"].tolist() == [False]
    assert 0.5 < perf["accuracy"].iloc[0] < 1
    # the estimate beside it, with its band, as columns
    estimated = perf[["estimated_accuracy_lower", "estimated_accuracy", "estimated_accuracy_upper"]].iloc[0].tolist()
    assert estimated == sorted(estimated) and estimated[0] <= perf["accuracy"].iloc[0] <= estimated[2]
    assert perf["estimated_rows"].tolist() == [2000]
    alerts = seia.alerts("shift", since="7d")
    assert "feature_drift" in set(alerts["kind"])
    assert alerts["windows_flagged"].tolist() == [1] * len(alerts)
    first = alerts.iloc[0]
    detail = seia.alert_get("shift", first["id"])
    assert detail["causes"] and detail["causes"][0]["rank"] == 1
    assert [w["state"] for w in detail["timeline"]] == ["flagged"]
    acknowledged = seia.ack("shift", first["id"], note="seen")
    assert acknowledged["status"] == "acknowledged" and acknowledged["note"] == "seen"
    assert first["id"] not in set(seia.alerts("shift")["id"])
    assert first["id"] in set(seia.alerts("shift", status="acknowledged")["id"])
    resolved = seia.resolve("shift", first["id"])
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "user")
    assert [a["id"] for a in seia.alert_list("shift", status="resolved")] == [first["id"]]


def test_settings_are_changed_by_keyword(seia, drifted):
    assert seia.update_settings("shift", window="hour", thresholds={"psi": 0.3}) == {
        "window": "hour",
        "thresholds": {"psi": 0.3},
    }
    with pytest.raises(SeiaAPIError) as caught:
        seia.update_settings("shift", window="week")
    assert caught.value.status == 400 and caught.value.details[0]["field"] == "window"


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


def test_a_frame_leaves_out_removed_features_and_may_lack_added_ones():
    from seia_client.client import frame_to_records

    # Given a model whose plan was removed and tenure added (as GET shows it after the PATCH)
    model = {
        "name": "churn",
        "task": "binary_classification",
        "labels": ["stay", "churn"],
        "features": [
            {"name": "age", "type": "numeric"},
            {"name": "plan", "type": "categorical", "removed_at": "2026-11-02T00:00:00+00:00"},
            {"name": "tenure", "type": "numeric", "added_at": "2026-11-02T00:00:00+00:00"},
        ],
    }
    frame = pd.DataFrame(
        {"prediction_id": ["a"], "timestamp": ["2026-11-03T00:00:00Z"], "age": [30], "prediction": ["stay"]}
    )
    # Then a frame with neither is sent as age only; with tenure, tenure goes too
    assert frame_to_records(frame, model, "predictions")[0]["features"] == {"age": 30}
    frame["tenure"] = [4.0]
    frame["plan"] = ["pro"]
    assert frame_to_records(frame, model, "predictions")[0]["features"] == {"age": 30, "tenure": 4.0}


def test_segments_are_declared_appended_and_sent_from_columns_or_one_value(seia, tenant):
    # Given a model with the segment field region
    created = seia.create_model(
        "churn", "binary_classification", FEATURES, labels=["stay", "churn"], segments=["region"]
    )
    assert created["segments"] == ["region"]
    assert seia.patch_model("churn", add_segments=["model_version"])["segments"] == ["region", "model_version"]
    # When a frame has a region column (one value missing) and model_version is one value for every row
    frame = _predictions(3).assign(region=["eu", None, "us"])
    assert seia.log_predictions(frame, "churn", segments={"model_version": "v3"}, progress=False)["accepted"] == 3
    # and a frame without segment columns is sent as before
    assert seia.log_predictions(_predictions(2, start=10), "churn", progress=False)["accepted"] == 2
    reference = _predictions(2, start=20).assign(label="stay", region="apac")
    assert seia.log_reference(reference, "churn", progress=False)["accepted"] == 2
    # Then the rows hold them in slot order
    with tenant.connect() as conn:
        stored = dict(conn.execute("SELECT prediction_id, seg FROM predictions").fetchall())
        ref = dict(conn.execute("SELECT prediction_id, seg FROM reference_rows").fetchall())
    assert stored == {
        "p0": ["eu", "v3"],
        "p1": [None, "v3"],
        "p2": ["us", "v3"],
        "p10": [None, None],
        "p11": [None, None],
    }
    assert ref == {"p20": ["apac", None], "p21": ["apac", None]}
    # and a field the model lacks is named before anything is sent
    with pytest.raises(ValueError, match="no segment field 'channel'"):
        seia.log_predictions(_predictions(1, start=30), "churn", segments={"channel": "web"}, progress=False)
    with pytest.raises(ValueError, match="both a column and in segments="):
        seia.log_predictions(frame, "churn", segments={"region": "eu"}, progress=False)
