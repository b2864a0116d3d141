"""Bounded connections: 1,000 tenants, the API functions' deployed concurrency, PostgreSQL's session count.

Each Lambda environment of the ingest and query functions is played by a thread with its own process
state (its own ``Databases`` under template.yaml's SEIA_DB_MAX_CONNECTIONS), serving one request at a time
for tenants drawn at random from 1,000. PostgreSQL's pg_stat_activity is sampled every 20 ms; the peak
must stay under Σ (reserved concurrency x per-process bound). The tenant databases are dropped afterwards.
"""

from __future__ import annotations

import random
import secrets
import threading

from bench.common import Timer, row

REQUESTS_PER_ENVIRONMENT = 60


def _deployed() -> tuple[int, int]:
    """(API functions' reserved concurrency summed, connections per process) from template.yaml."""
    from infra.local.template import load

    template = load()
    resources = template["Resources"]
    concurrency = sum(
        resources[name]["Properties"]["ReservedConcurrentExecutions"]
        for name in ("IngestApiFunction", "QueryApiFunction")
    )
    per_process = int(template["Globals"]["Function"]["Environment"]["Variables"]["SEIA_DB_MAX_CONNECTIONS"])
    return concurrency, per_process


def _create(admin, n: int) -> list:
    created = []
    t = Timer()
    for i in range(n):
        created.append(admin.create_tenant(f"c{i:04d}"))
        if (i + 1) % 50 == 0 or i + 1 == n:
            print(f"    {i + 1:>5} / {n} tenants created ({t.elapsed:.0f} s)", flush=True)
    return created


def measure(settings, tenants: int = 1000) -> None:
    from infra.local.pgstat import ConnectionSampler
    from seia.db import Databases
    from seia.tenancy import TenantAdmin
    from seia_query.service import QueryService

    concurrency, per_process = _deployed()
    bound = concurrency * per_process
    admin = TenantAdmin(settings)
    admin.ensure_admin()
    t = Timer()
    created = _create(admin, tenants)
    row(f"create {tenants:,} tenant databases", f"{t.elapsed:.0f} s")

    app = "seia-bench-" + secrets.token_hex(3)
    failures: list[str] = []
    served = [0]
    lock = threading.Lock()

    def environment(seed: int) -> None:
        databases = Databases(settings, max_connections=per_process, application_name=app)
        service = QueryService(settings, databases)
        rng = random.Random(seed)
        try:
            for _ in range(REQUESTS_PER_ENVIRONMENT):
                one = created[rng.randrange(len(created))]
                try:
                    tenant = service.authenticate({"authorization": f"Bearer {one.api_key}"}).tenant
                    service.list_models(tenant)
                    with lock:
                        served[0] += 1
                except Exception as exc:  # noqa: BLE001 - counted and printed
                    with lock:
                        failures.append(type(exc).__name__)
        finally:
            databases.close()

    t = Timer()
    with ConnectionSampler(settings.database_url, app) as sampler:
        threads = [threading.Thread(target=environment, args=(i,)) for i in range(concurrency)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    elapsed = t.elapsed
    row(
        f"bound: {concurrency} environments (ingest + query reserved) x {per_process}",
        f"{bound} connections",
        "template.yaml; + authorizer 5 x 2, files 5 x 2, drift 11 x 2",
    )
    row(
        f"peak server connections, {served[0]:,} requests over {tenants:,} tenants",
        f"{sampler.peak}",
        f"{sampler.samples} samples in {elapsed:.0f} s; failures {len(failures)}; goal <= {bound}",
    )
    t = Timer()
    for one in created:
        admin.drop_tenant(one.tenant.name)
    row(f"drop {tenants:,} tenant databases", f"{t.elapsed:.0f} s")
