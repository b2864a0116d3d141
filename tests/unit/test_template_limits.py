"""template.yaml throttles each key and the stage, and bounds the database connections every function can open."""

from __future__ import annotations

from tests.support import template

UNAUTHENTICATED = {("/health", "GET"), ("/v1/openapi.json", "GET"), ("/dashboard", "GET"), ("/dashboard/{file}", "GET")}


def _resources() -> dict:
    return template.load()["Resources"]


def _functions() -> dict:
    return {n: r["Properties"] for n, r in _resources().items() if r["Type"] == "AWS::Serverless::Function"}


# Re-sends S3 notifications to the fair work queue (docs/fairness.md): SQS only, never the database.
WITHOUT_DATABASE = {"FileRouterFunction"}


def _database_functions() -> dict:
    return {n: p for n, p in _functions().items() if n not in WITHOUT_DATABASE}


def test_each_seia_key_is_throttled_by_the_usage_plan_through_the_authorizer():
    api = _resources()["SeiaApi"]["Properties"]
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    assert api["Auth"]["DefaultAuthorizer"] == "SeiaKey" and api["Auth"]["ApiKeyRequired"] is True
    authorizer = api["Auth"]["Authorizers"]["SeiaKey"]
    assert authorizer["FunctionArn"] == {"GetAtt": "KeyAuthorizerFunction.Arn"}
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"]["Headers"] == ["Authorization"]
    plan = _resources()["KeysUsagePlan"]
    assert plan["Type"] == "AWS::ApiGateway::UsagePlan"
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "SeiaApi"}, "Stage": {"Ref": "SeiaApi.Stage"}}]
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": {"Ref": "KeyRateLimit"},
        "BurstLimit": {"Ref": "KeyBurstLimit"},
    }
    assert _functions()["KeyAuthorizerFunction"]["Handler"] == "authorizer_app.handler"


def test_the_stage_is_throttled_and_throttled_requests_get_429_with_retry_after():
    api = _resources()["SeiaApi"]["Properties"]
    assert api["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "StageRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "StageBurstLimit"},
        }
    ]
    for kind in ("THROTTLED", "QUOTA_EXCEEDED"):
        response = api["GatewayResponses"][kind]
        assert response["StatusCode"] == 429
        assert "Retry-After" in response["ResponseParameters"]["Headers"]


def test_only_health_openapi_and_the_dashboard_skip_the_authorizer():
    skipping = set()
    for props in _functions().values():
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "Api" and event["Properties"].get("Auth") == {
                "Authorizer": "NONE",
                "ApiKeyRequired": False,
            }:
                skipping.add((event["Properties"]["Path"], event["Properties"]["Method"].upper()))
    assert skipping == UNAUTHENTICATED


def test_every_function_has_reserved_concurrency_and_two_connections_per_environment():
    loaded = template.load()
    per_process = loaded["Globals"]["Function"]["Environment"]["Variables"]["SEIA_DB_MAX_CONNECTIONS"]
    assert per_process == 2
    assert _functions()["FileRouterFunction"]["ReservedConcurrentExecutions"] == 2
    reserved = {name: props["ReservedConcurrentExecutions"] for name, props in _database_functions().items()}
    assert reserved == {
        "IngestApiFunction": 20,
        "QueryApiFunction": 20,
        "KeyAuthorizerFunction": 5,
        "FileIngestFunction": 5,
        "DriftPlannerFunction": 1,
        "DriftWorkerFunction": 10,
    }
    # The README's bound: 2 x 61 = 122 client connections at most, whatever the number of tenants.
    assert per_process * sum(reserved.values()) == 122


def test_the_functions_reach_the_database_through_rds_proxy_with_iam_when_configured():
    resources = _resources()
    proxy = resources["DatabaseProxy"]
    assert proxy["Condition"] == "UseProxy"
    assert proxy["Properties"]["EngineFamily"] == "POSTGRESQL"
    assert proxy["Properties"]["DefaultAuthScheme"] == "IAM_AUTH"
    assert proxy["Properties"]["RequireTLS"] is True
    target = resources["DatabaseProxyTargetGroup"]["Properties"]
    assert target["DBInstanceIdentifiers"] == [{"Ref": "DatabaseInstanceId"}]
    assert 0 < target["ConnectionPoolConfigurationInfo"]["MaxConnectionsPercent"] <= 100
    variables = template.load()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["SEIA_DB_HOST"] == {
        "If": ["UseProxy", {"GetAtt": "DatabaseProxy.Endpoint"}, {"Ref": "DatabaseHost"}]
    }
    for name, props in _database_functions().items():
        assert {"If": ["UseProxy", {"Ref": "DatabaseConnectPolicy"}, {"Ref": "AWS::NoValue"}]} in props["Policies"], (
            name
        )
