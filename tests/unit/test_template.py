"""template.yaml describes the functions that exist, with the routes their Chalice apps serve."""

from infra.local.apihost import default_functions
from tests.support import template


def test_every_app_route_is_in_the_template_and_nothing_else():
    declared = template.api_routes(template.load())
    served = {}
    for function, app in default_functions().items():
        for path, methods in app.routes.items():
            for method in methods:
                served[(path, method)] = function
    assert declared == served


def test_handlers_in_the_template_point_at_the_handler_modules():
    resources = template.load()["Resources"]
    assert resources["IngestApiFunction"]["Properties"]["Handler"] == "ingest_app.app"
    assert resources["QueryApiFunction"]["Properties"]["Handler"] == "query_app.app"
    for fn in ("IngestApiFunction", "QueryApiFunction"):
        env = resources[fn]["Properties"].get("Environment") or template.load()["Globals"]["Function"]["Environment"]
        assert env["Variables"]["SEIA_CREDENTIALS"] == "secretsmanager"
