"""The API served over real HTTP, as `make up` serves it."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from infra.local.apihost import ApiHost, default_functions, make_server
from tests.support import data


@pytest.fixture
def base_url(settings):
    server = make_server(ApiHost(default_functions()), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _call(method, url, key=None, body=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(
        url, method=method, headers=headers, data=json.dumps(body).encode() if body is not None else None
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_user_round_trip_over_http(base_url, tenant):
    assert _call("GET", f"{base_url}/health") == (200, {"status": "ok", "service": "ingest"})
    assert _call("POST", f"{base_url}/v1/models", tenant.api_key, data.model())[0] == 201
    assert _call("POST", f"{base_url}/v1/models/churn/predictions", tenant.api_key, data.predictions(25)) == (
        202,
        {"accepted": 25, "duplicates": 0},
    )
    labels = {"records": [{"prediction_id": f"p{i}", "label": "stay"} for i in range(10)]}
    assert _call("POST", f"{base_url}/v1/models/churn/ground-truths", tenant.api_key, labels) == (
        202,
        {"accepted": 10, "unmatched": 0, "expired": 0},
    )
    status, stats = _call("GET", f"{base_url}/v1/models/churn/stats?granularity=day", tenant.api_key)
    assert status == 200 and stats["windows"][0]["predictions"] == 25 and stats["windows"][0]["labelled"] == 10


def test_unknown_routes_and_methods_get_the_error_shape(base_url, tenant):
    status, body = _call("GET", f"{base_url}/v2/nothing", tenant.api_key)
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = _call("DELETE", f"{base_url}/v1/models", tenant.api_key)
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
