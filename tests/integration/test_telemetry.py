"""What the HTTP functions tell CloudWatch: one JSON log line per request keyed by its request id and
(once the key is checked) its tenant, and the RecordsAccepted metric as an EMF line among them (stderr:
stdout stays a command's own output)."""

from __future__ import annotations

import json

from tests.support import data


def _read(capfd) -> tuple[list[dict], list[dict]]:
    out, err = capfd.readouterr()
    assert out == ""
    metrics = [json.loads(line) for line in err.splitlines() if line.startswith('{"_aws"')]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith('{"level"')]
    return metrics, logs


def test_accepted_records_are_a_metric_of_the_request_that_wrote_them(api, tenant, capfd):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    capfd.readouterr()
    first = api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(50))
    again = api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(60))  # 50 seen already
    assert (first.status, again.status) == (202, 202) and again.body["accepted"] == 10
    bad = api.post("/v1/models/churn/predictions", tenant.api_key, json={"records": [{"bad": 1}]})
    assert bad.status == 400
    metrics, _ = _read(capfd)
    assert [m["RecordsAccepted"] for m in metrics] == [[50], [10]]  # one document per request, none for the 400
    assert {m["service"] for m in metrics} == {"seia"}  # POWERTOOLS_SERVICE_NAME, set per function in AWS
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "RecordsAccepted", "Unit": "Count"}]


def test_each_request_logs_one_json_line_with_its_request_id_and_tenant_and_no_secret(api, tenant, capfd):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    capfd.readouterr()
    api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(3))
    api.get("/v1/models", tenant.api_key[:-2] + "xx")
    api.get("/v1/models/churn/stats?from=not-a-time", tenant.api_key)
    _, logs = _read(capfd)
    requests = [entry for entry in logs if entry["name"] == "seia.http"]
    assert [entry["message"].rsplit(" ", 2)[0] for entry in requests] == [
        "POST /v1/models/{model}/predictions 202",
        "GET /v1/models 401",
        "GET /v1/models/{model}/stats 400",
    ]
    assert len({entry["request_id"] for entry in requests}) == 3
    assert [entry.get("tenant") for entry in requests] == [tenant.name, None, tenant.name]  # no tenant before auth
    text = "\n".join(json.dumps(entry) for entry in logs)
    assert tenant.api_key not in text and tenant.api_key.split("_", 2)[2] not in text and "Bearer" not in text
