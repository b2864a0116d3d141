"""`seia models`, `seia predictions send`, `seia drift show` and `seia alerts` against the real API."""

import json

import pandas as pd
import pytest

from seia.cli import main
from tests.support import data
from tests.support.live import serving


@pytest.fixture
def cli(tenant, monkeypatch, capsys):
    with serving() as url:
        monkeypatch.setenv("SEIA_URL", url)
        monkeypatch.setenv("SEIA_API_KEY", tenant.api_key)

        def run(*argv):
            code = main(list(argv))
            out, err = capsys.readouterr()
            return code, out, err

        yield run


@pytest.fixture
def churn(tenant, api):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201


def _frame(n):
    records = data.predictions(n)["records"]
    return pd.DataFrame([{**{k: v for k, v in r.items() if k != "features"}, **r["features"]} for r in records])


def test_models_prints_an_aligned_table_and_json(cli, churn):
    code, out, _ = cli("models")
    header, rule, row = out.splitlines()
    assert code == 0
    assert header.split() == ["MODEL", "TASK", "FEATURES", "LABELS", "CREATED", "(UTC)"]
    assert row.startswith("churn") and "binary_classification" in row and "stay, churn" in row
    assert len(rule) >= len(row.rstrip()) - len(row.split("  ")[-1]) and set(rule.replace(" ", "")) == {"-"}
    assert header.index("TASK") == row.index("binary_classification")
    code, out, _ = cli("models", "--json")
    assert [m["name"] for m in json.loads(out)] == ["churn"]


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_predictions_send_reads_the_file_in_chunks(cli, churn, tmp_path, suffix):
    path = tmp_path / f"preds.{suffix}"
    frame = _frame(130)
    if suffix == "csv":
        frame.to_csv(path, index=False)
    elif suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    code, out, err = cli("predictions", "send", str(path), "--model", "churn", "--chunk-rows", "50")
    assert code == 0, err
    assert out.strip() == "predictions for churn: accepted 130, duplicates 0 (3 requests)"
    code, out, _ = cli("predictions", "send", str(path), "--model", "churn", "--json")
    assert json.loads(out) == {"accepted": 0, "duplicates": 130, "batches": 1}


def test_ground_truths_are_sent_with_kind(cli, churn, tmp_path):
    cli("predictions", "send", str(_write(tmp_path, _frame(10))), "--model", "churn")
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"prediction_id": ["p1", "p2", "p404"], "label": ["stay", "churn", "stay"]}).to_csv(labels, index=False)
    code, out, _ = cli("predictions", "send", str(labels), "--model", "churn", "--kind", "ground-truths")
    assert code == 0 and out.strip() == "ground-truths for churn: accepted 3, unmatched 1 (1 requests)"


def test_a_bad_file_fails_with_the_servers_reasons_not_a_traceback(cli, churn, tmp_path):
    frame = _frame(3)
    frame.loc[1, "prediction"] = "maybe"
    code, out, err = cli("predictions", "send", str(_write(tmp_path, frame)), "--model", "churn")
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith("error: 1 of 3 records are invalid")
    assert "record 1: prediction:" in err and "Traceback" not in err


def test_a_missing_column_is_named(cli, churn, tmp_path):
    code, _, err = cli("predictions", "send", str(_write(tmp_path, _frame(3).drop(columns=["plan"]))), "--model", "churn")
    assert code == 2 and err.strip() == "error: missing columns for predictions of model 'churn': plan"


@pytest.mark.parametrize("argv", [("drift", "show", "churn", "--since", "7d"), ("alerts", "churn", "--status", "open")])
def test_drift_and_alerts_say_clearly_that_the_server_lacks_the_route(cli, churn, argv):
    code, out, err = cli(*argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "does not serve GET /v1/models/churn/" in err and "Traceback" not in err


def test_without_a_key_the_command_says_how_to_give_one(cli, monkeypatch):
    monkeypatch.delenv("SEIA_API_KEY")
    code, _, err = cli("models")
    assert code == 2 and err.strip() == "error: no API key: pass --api-key or set SEIA_API_KEY"


def test_a_wrong_key_is_one_line(cli):
    code, _, err = cli("models", "--api-key", "seia_0123456789_" + "x" * 43)
    assert code == 2 and err.strip() == "error: invalid API key (HTTP 401 unauthorized)"


def _write(tmp_path, frame):
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    return path
