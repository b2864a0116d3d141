"""`seia models`, `seia predictions send`, `seia drift show`, `seia performance show` and `seia alerts` against the
real API."""

import json
import re
from datetime import date, timedelta

import pandas as pd
import pytest

from seia_admin.cli import main
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
    pd.DataFrame({"prediction_id": ["p1", "p2", "p404"], "label": ["stay", "churn", "stay"]}).to_csv(
        labels, index=False
    )
    code, out, _ = cli("predictions", "send", str(labels), "--model", "churn", "--kind", "ground-truths")
    assert code == 0 and out.strip() == "ground-truths for churn: accepted 3, unmatched 1, expired 0 (1 requests)"


def test_a_bad_file_fails_with_the_servers_reasons_not_a_traceback(cli, churn, tmp_path):
    frame = _frame(3)
    frame.loc[1, "prediction"] = "maybe"
    code, out, err = cli("predictions", "send", str(_write(tmp_path, frame)), "--model", "churn")
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith("error: 1 of 3 records are invalid")
    assert "record 1: prediction:" in err and "Traceback" not in err


def test_a_bad_row_is_named_by_its_place_in_the_file(cli, churn, tmp_path):
    frame = _frame(130)
    frame.loc[117, "prediction"] = "maybe"
    code, out, err = cli("predictions", "send", str(_write(tmp_path, frame)), "--model", "churn", "--chunk-rows", "50")
    assert code == 2
    assert "record 117: prediction:" in err and "the 100 rows before it were sent" in err.splitlines()[0]


def test_version_names_the_client_and_the_server_package(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"seia-client {version('seia-client')}, seia (server) {version('seia')}"


def test_a_closed_port_is_said_at_once_with_exit_2(cli, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = cli("models", "--url", f"http://127.0.0.1:{port}")
    assert code == 2 and out == ""
    assert err.strip() == (
        f"error: cannot reach the Seia API: GET http://127.0.0.1:{port}/v1/models: "
        "connection refused (is the server running, and is this its port?)"
    )


def test_a_missing_column_is_named(cli, churn, tmp_path):
    code, _, err = cli(
        "predictions", "send", str(_write(tmp_path, _frame(3).drop(columns=["plan"]))), "--model", "churn"
    )
    assert code == 2 and err.strip() == "error: missing columns for predictions of model 'churn': plan"


@pytest.fixture
def drifted(tenant, settings):
    from tests.support import drift_seed, scenarios

    data = scenarios.generate("covariate_shift", 1)
    drift_seed.seed(settings, tenant, {"shift": drift_seed.recent(data)})
    return data.injected


def test_drift_show_prints_one_line_per_window_and_column(cli, drifted):
    code, out, err = cli("drift", "show", "shift", "--since", "7d")
    assert code == 0, err
    header, rule, *rows = out.splitlines()
    assert header.split()[:5] == ["WINDOW", "(UTC)", "KIND", "COLUMN", "VERDICT"]
    assert len(rows) == 11  # 7 features, prediction, score, label and multivariate
    shifted = next(r for r in rows if f" {drifted} " in r)
    assert " drift " in next(r for r in rows if " multivariate " in r)
    assert " drift " in shifted and ("high" in shifted or "medium" in shifted)
    code, out, _ = cli("drift", "show", "shift", "--since", "7d", "--drift-only")
    assert all(" drift " in line for line in out.splitlines()[2:]) and f" {drifted} " in out
    code, out, _ = cli("drift", "show", "shift", "--since", "7d", "--json")
    assert json.loads(out)["windows"][0]["rows"] == 2000


def test_performance_show_prints_realized_and_estimated_with_the_band(cli, drifted):
    code, out, err = cli("performance", "show", "shift", "--since", "7d")
    assert code == 0, err
    header, rule, *rows = out.splitlines()
    assert header.split()[:6] == ["WINDOW", "(UTC)", "REALIZED", "ACCURACY", "ESTIMATED", "BAND"]
    [row] = rows
    realized, estimated, band = row.split()[2:5]
    lower, upper = (float(v) for v in band.split("–"))
    assert lower < float(estimated) < upper and lower <= float(realized) <= upper
    code, out, _ = cli("performance", "show", "shift", "--since", "7d", "--metric", "roc_auc", "--json")
    window = json.loads(out)["windows"][0]
    assert window["estimated"]["rows"] == 2000 and window["estimated"]["metrics"]["roc_auc"]["value"] > 0.5


def test_alerts_lists_open_incidents_with_their_summaries_then_ack_and_resolve_by_id(cli, drifted):
    code, out, err = cli("alerts", "shift")
    assert code == 0, err
    header, _, *rows = out.splitlines()
    assert header.split()[:6] == ["ID", "STATUS", "SEVERITY", "KIND", "WINDOWS", "(UTC)"]
    line = next(r for r in rows if "feature_drift" in r and f"Feature {drifted} drifted" in r)
    span = re.search(r" (\d{4}-\d\d-\d\d) → (\d{4}-\d\d-\d\d) +1 ", line)
    assert " open " in line and span, line
    assert date.fromisoformat(span.group(2)) - date.fromisoformat(span.group(1)) == timedelta(days=1)
    code, out, _ = cli("alerts", "shift", "--status", "acknowledged")
    assert code == 0 and out.strip() == "no acknowledged alerts for shift"
    ident = line.split()[0]
    code, out, err = cli("alerts", "ack", ident, "--note", "seen")
    assert code == 0, err
    assert out.startswith(f"alert {ident} of shift: acknowledged — Feature {drifted} drifted")
    code, out, err = cli("alerts", "resolve", ident, "--model", "shift")
    assert code == 0 and out.startswith(f"alert {ident} of shift: resolved — "), err
    code, out, err = cli("alerts", "resolve", ident)
    assert code == 2 and "HTTP 409" in err
    code, out, err = cli("alerts", "ack", "987654321")
    assert code == 2 and "no alert '987654321' in any model of this tenant" in err


def test_drift_show_of_a_model_without_results_says_so(cli, churn):
    code, out, _ = cli("drift", "show", "churn", "--since", "7d")
    assert code == 0 and out.strip() == "no drift results for churn since 7d"


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


# --- scoped keys ----------------------------------------------------------------------------------
def test_whoami_shows_the_keys_tenant_scopes_and_expiry(cli, tenant, tenant_admin):
    key = tenant_admin.create_key(tenant.name, ["read", "ingest"])
    code, out, err = cli("whoami", "--api-key", key)
    assert code == 0, err
    header, _, row = out.splitlines()
    assert header.split() == ["TENANT", "KEY", "SCOPES", "EXPIRES", "(UTC)"]
    assert row.split() == [tenant.name, "seia_" + key.split("_")[1], "ingest,", "read", "never"]
    code, out, _ = cli("whoami", "--json")
    assert json.loads(out)["scopes"] == ["admin"]


def test_an_ingest_key_sends_a_file_but_a_read_key_is_told_which_scope_it_lacks(
    cli, churn, tenant, tenant_admin, tmp_path
):
    path = _write(tmp_path, _frame(5))
    ingest = tenant_admin.create_key(tenant.name, ["ingest"])
    code, out, err = cli("predictions", "send", str(path), "--model", "churn", "--api-key", ingest)
    assert code == 0, err
    assert out.strip() == "predictions for churn: accepted 5, duplicates 0 (1 requests)"
    read = tenant_admin.create_key(tenant.name, ["read"])
    code, out, err = cli("predictions", "send", str(path), "--model", "churn", "--api-key", read)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: this key has scope read; POST /v1/models/{model}/predictions needs ingest (HTTP 403 forbidden)",
        "  `seia whoami` shows this key's scopes; an operator makes wider keys",
    ]
    code, _, err = cli("models", "--api-key", ingest)
    assert code == 2 and err.splitlines()[0] == (
        "error: this key has scope ingest; GET /v1/models needs read (HTTP 403 forbidden)"
    )


def test_the_python_client_raises_seia_forbidden_error_on_403(tenant, tenant_admin, churn):
    from seia_client import Client, SeiaForbiddenError

    with serving() as url:
        read = Client(url, tenant_admin.create_key(tenant.name, ["read"]), max_attempts=1)
        assert read.key()["scopes"] == ["read"]
        with pytest.raises(SeiaForbiddenError) as caught:
            read.acknowledge("churn", "1")
    assert caught.value.status == 403 and caught.value.code == "forbidden"
    assert caught.value.message == (
        "this key has scope read; POST /v1/models/{model}/alerts/{alert_id}/acknowledge needs admin"
    )


def test_models_patch_adds_and_removes_features_and_refuses_a_taken_name(cli, churn, api, tenant):
    code, out, err = cli("models", "patch", "churn", "--add-feature", "tenure:numeric", "--remove-feature", "plan")
    assert code == 0, err
    header, _, *rows = out.splitlines()
    assert header.split()[:2] == ["FEATURE", "TYPE"]
    assert [r.split()[:2] for r in rows] == [
        ["age", "numeric"],
        ["income", "numeric"],
        ["plan", "categorical"],
        ["tenure", "numeric"],
    ]
    features = api.get("/v1/models/churn", tenant.api_key).body["features"]
    assert "removed_at" in features[2] and "added_at" in features[3]
    code, out, _ = cli("models", "patch", "churn", "--set", "min_rows=5", "--set", "window=hour", "--json")
    assert code == 0 and json.loads(out)["settings"] == {"min_rows": 5, "window": "hour"}
    # the client sends GET's list with the entry changed: the server names the feature and why
    code, _, err = cli("models", "patch", "churn", "--add-feature", "age:categorical")
    assert code == 2
    assert "features[4].name: duplicate feature 'age'" in err
    code, _, err = cli("models", "patch", "churn", "--add-feature", "age")
    assert code == 2 and "NAME:numeric or NAME:categorical" in err


def test_models_delete_needs_yes(cli, churn, api, tenant):
    code, _, err = cli("models", "delete", "churn")
    assert code == 2 and "add --yes" in err
    assert api.get("/v1/models/churn", tenant.api_key).status == 200
    code, out, _ = cli("models", "delete", "churn", "--yes", "--json")
    assert code == 0 and json.loads(out) == {"model": "churn", "deleted": True}
    assert api.get("/v1/models/churn", tenant.api_key).status == 404
    code, _, err = cli("models", "delete", "churn", "--yes")
    assert code == 2 and "not found" in err


def test_models_patch_add_segment_appends_and_predictions_send_reads_segment_columns(cli, churn, api, tenant, tmp_path):
    code, out, err = cli("models", "patch", "churn", "--add-segment", "region", "--add-segment", "model_version")
    assert code == 0, err
    assert out.splitlines()[-1] == "segment fields: region, model_version"
    assert api.get("/v1/models/churn", tenant.api_key).body["segments"] == ["region", "model_version"]
    # a segment value that looks like a number stays text ("007" is not 7)
    path = tmp_path / "day.csv"
    _frame(3).assign(model_version=["007", "007", None], region=["eu", "us", "eu"]).to_csv(path, index=False)
    code, _, err = cli("predictions", "send", str(path), "--model", "churn")
    assert code == 0, err
    with tenant.connect() as conn:
        stored = conn.execute("SELECT seg FROM predictions ORDER BY prediction_id").fetchall()
    assert [s for (s,) in stored] == [["eu", "007"], ["us", "007"], ["eu", None]]
    code, _, err = cli("models", "patch", "churn", "--add-segment", "plan")
    assert code == 2 and "segments[2]: 'plan' is a feature of the model" in err
