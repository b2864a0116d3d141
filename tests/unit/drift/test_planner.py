"""The drift queue's two message shapes and the tenants the schedule plans (a paused tenant is not)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from seia.db import Tenant
from seia_drift.planner import DriftMessage, PlanMessage, parse, plan


def test_a_body_with_a_tenant_alone_plans_it_and_one_with_a_model_runs_it():
    assert parse('{"tenant": "acme"}') == PlanMessage("acme")
    assert parse('{"model": "churn", "tenant": "acme"}') == DriftMessage("acme", "churn")
    assert json.loads(PlanMessage("acme").to_json()) == {"tenant": "acme"}
    assert parse(DriftMessage("acme", "churn").to_json()) == DriftMessage("acme", "churn")


@pytest.mark.parametrize(
    "body",
    ['{"tenant": 1}', '{"model": "churn"}', '{"tenant": "acme", "model": 7}', '{"tenant": "acme", "extra": 1}', "[]"],
)
def test_any_other_body_is_refused(body):
    with pytest.raises(ValueError, match="drift-queue message"):
        parse(body)


def test_a_plan_message_is_not_a_drift_message():
    with pytest.raises(ValueError):
        DriftMessage.from_json('{"tenant": "acme"}')


def test_the_schedule_plans_every_listed_tenant_but_one_paused_now():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    rows = [
        Tenant(1, "acme", "seia_t_acme", "seia_t_acme"),
        Tenant(2, "moving", "seia_t_moving", "seia_t_moving", paused_until=now + timedelta(seconds=5)),
        Tenant(3, "moved", "seia_t_moved", "seia_t_moved", paused_until=now - timedelta(seconds=1)),
    ]
    assert plan(rows, now) == [PlanMessage("acme"), PlanMessage("moved")]
