"""One process holds at most ``max_connections`` server connections, across every tenant it serves.

Today's functions kept a pool per tenant: a process that served 30 tenants could hold 30 x 4 connections.
"""

from __future__ import annotations

import secrets
import threading

import pytest

from infra.local.pgstat import ConnectionSampler
from seia.db import Databases
from seia_query.service import QueryService

TENANTS = 30
THREADS = 12
BOUND = 3


@pytest.fixture(scope="module")
def thirty_tenants(tenant_admin):
    created = [tenant_admin.create_tenant("cb" + secrets.token_hex(4)) for _ in range(TENANTS)]
    yield created
    for c in created:
        tenant_admin.drop_tenant(c.tenant.name)


def test_concurrent_requests_across_30_tenants_never_hold_more_than_the_bound(settings, thirty_tenants):
    # Given one process's connections under a bound of 3, and 12 requests at a time over 30 tenants
    app = "seia-bound-" + secrets.token_hex(3)
    databases = Databases(settings, max_connections=BOUND, application_name=app)
    service = QueryService(settings, databases)
    answered: list[int] = []
    failures: list[BaseException] = []

    def client(worker: int) -> None:
        for i in range(10):
            created = thirty_tenants[(worker * 7 + i) % TENANTS]
            try:
                tenant = service.authenticate({"authorization": f"Bearer {created.api_key}"}).tenant
                answered.append(len(service.list_models(tenant)))
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    # When they all run while PostgreSQL's sessions are counted
    with ConnectionSampler(settings.database_url, app) as sampler:
        threads = [threading.Thread(target=client, args=(w,)) for w in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    try:
        # Then every request was answered, and the server never saw more than 3 of this process's connections
        assert failures == []
        assert answered == [0] * (THREADS * 10)
        assert 1 <= sampler.peak <= BOUND
        assert databases.open_connections <= BOUND
    finally:
        databases.close()


def test_idle_connections_of_other_tenants_make_room_for_a_new_one(settings, thirty_tenants):
    # Given a bound of 2 and requests to 30 tenants one after the other
    app = "seia-lru-" + secrets.token_hex(3)
    databases = Databases(settings, max_connections=2, application_name=app)
    service = QueryService(settings, databases)
    with ConnectionSampler(settings.database_url, app) as sampler:
        for created in thirty_tenants:
            tenant = service.authenticate({"authorization": f"Bearer {created.api_key}"}).tenant
            assert service.list_models(tenant) == []
    # Then the process still holds 2 connections (the admin database's and the last tenant's), never more
    try:
        assert databases.open_connections == 2
        assert sampler.peak <= 2
    finally:
        databases.close()
    assert databases.open_connections == 0
