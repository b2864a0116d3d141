"""The local gateway hands path parameters to the handler decoded, as API Gateway does."""

import json

import pytest
from chalice import Chalice

from infra.local.apihost import ApiHost

echo = Chalice(app_name="echo")


@echo.route("/things/{name}/parts/{part}", methods=["GET"])
def parts(name, part):
    return {"name": name, "part": part, "path": echo.current_request.context["resourcePath"]}


@pytest.fixture(scope="module")
def host():
    return ApiHost({"EchoFunction": echo})


@pytest.mark.parametrize(
    "encoded,decoded",
    [
        ("%27churn%27", "'churn'"),
        ("%22q%22", '"q"'),
        ("a%2Fb", "a/b"),
        ("..%2F..%2Fadmin", "../../admin"),
        ("%C2%B2", "²"),
        ("%D9%A1", "١"),
        ("a%20b+c", "a b+c"),  # '+' is a plus in a path, not a space
        ("plain", "plain"),
    ],
)
def test_path_parameters_arrive_decoded(host, encoded, decoded):
    status, _, payload = host.invoke("GET", f"/things/{encoded}/parts/{encoded}?x=1", {}, None)
    assert status == 200
    assert json.loads(payload) == {"name": decoded, "part": decoded, "path": "/things/{name}/parts/{part}"}


def test_an_encoded_slash_does_not_route_to_another_resource(host):
    status, _, _ = host.invoke("GET", "/things/a/b/parts/c", {}, None)
    assert status == 404
    status, _, payload = host.invoke("GET", "/things/a%2Fb/parts/c", {}, None)
    assert status == 200 and json.loads(payload)["name"] == "a/b"
