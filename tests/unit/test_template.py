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
        # Role passwords from Secrets Manager; IAM tokens when the functions go through the RDS Proxy.
        assert _environment(fn)["SEIA_CREDENTIALS"] == {"If": ["UseProxy", "iam", "secretsmanager"]}


def _environment(function: str) -> dict:
    """A function's variables as SAM deploys them: the Globals' merged with its own."""
    loaded = template.load()
    own = (loaded["Resources"][function]["Properties"].get("Environment") or {}).get("Variables") or {}
    return loaded["Globals"]["Function"]["Environment"]["Variables"] | own


def test_each_function_names_its_service_for_logs_and_metrics():
    resources = template.load()["Resources"]
    functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    services = {fn: _environment(fn).get("POWERTOOLS_SERVICE_NAME") for fn in functions}
    assert services == {
        "IngestApiFunction": "seia-ingest",
        "QueryApiFunction": "seia-query",
        "FileRouterFunction": "seia-files-router",
        "FileIngestFunction": "seia-files",
        "DriftPlannerFunction": "seia-drift-planner",
        "DriftWorkerFunction": "seia-drift-worker",
        "KeyAuthorizerFunction": "seia-authorizer",
    }
    assert {_environment(fn)["POWERTOOLS_METRICS_NAMESPACE"] for fn in functions} == {"Seia"}
