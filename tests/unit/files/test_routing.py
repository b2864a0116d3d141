"""The file router: an S3 notification becomes one work message per data object, in its tenant's group."""

from __future__ import annotations

import json

from seia_files.events import objects_created
from seia_files.routing import split, tenant_group


def record(key: str) -> dict:
    return {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "seia-files"}, "object": {"key": key, "eTag": '"e1"', "size": 3}},
    }


def test_each_object_goes_alone_in_its_tenant_s_group_and_results_are_not_routed():
    body = json.dumps(
        {
            "Records": [
                record("acme/churn/predictions/nov+1%2C+%C3%A9t%C3%A9.csv"),
                record("beta/fraud/ground-truths/a.csv"),
                record("acme/churn/_results/predictions/x.csv.json"),
            ]
        }
    )
    routed = split(body)
    assert [m.group for m in routed] == ["acme", "beta"]
    # the work message is the notification of that one object, as the ingest handler reads it
    assert [[o.key for o in objects_created(m.body)] for m in routed] == [
        ["acme/churn/predictions/nov 1, été.csv"],
        ["beta/fraud/ground-truths/a.csv"],
    ]
    assert objects_created(routed[0].body)[0].etag == "e1"


def test_a_key_that_names_no_tenant_is_routed_without_a_group():
    assert tenant_group("Not A Tenant/x/predictions/a.csv") is None
    assert tenant_group("stray.csv") is None
    assert tenant_group("acme/churn/predictions/a.csv") == "acme"


def test_s3_test_events_route_nothing():
    assert split(json.dumps({"Event": "s3:TestEvent", "Bucket": "seia-files"})) == []
