"""Shared fixtures: a real PostgreSQL, an isolated database prefix per run, tenants, an API client.

Every run creates its databases and roles under a prefix of its own (``st<hex>``), so a
developer's local data and a concurrent run are never touched; they are dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import tempfile

import psycopg
import pytest

_RUN_PREFIX = "st" + secrets.token_hex(3)


def _configure_env() -> None:
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    os.environ["SEIA_DB_PREFIX"] = _RUN_PREFIX
    os.environ["SEIA_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["SEIA_CREDENTIALS"] = "derived"
    # Never read a developer's .local/ (database_url, env written by `make up`).
    os.environ["SEIA_HOME"] = tempfile.mkdtemp(prefix="seia-test-home-")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # Test receivers listen on http://127.0.0.1: allowed here only (seia.egress); the SSRF tests unset both.
    os.environ["SEIA_ALLOW_HTTP_WEBHOOKS"] = "1"
    os.environ["SEIA_ALLOW_PRIVATE_WEBHOOKS"] = "1"


_configure_env()


# --- markers: each test's tier from its folder, so no test file has to name it --------------------
_TIERS = {"unit": "unit", "integration": "integration", "e2e": "e2e", "reliability": "reliability"}
# The slowest tests (``pytest --durations=30``; node ids without parameters), so `-m "not slow"`
# leaves them out of a quick run.
_SLOW = {
    "tests/e2e/test_demo.py::test_the_demo_finds_the_price_rise_and_blames_monthly_charges",
    "tests/integration/drift/test_scenarios.py::test_injected_cause_ranks_first",
    "tests/integration/test_fuzz_api.py::test_random_prediction_bodies_never_5xx_and_4xx_writes_nothing",
    "tests/reliability/test_faults_local_stack.py::test_the_function_host_killed_mid_batch_then_restarted_loads_every_file_once",
    "tests/reliability/test_faults_local_stack.py::test_localstack_restarted_loses_its_state_and_a_redeployed_stack_ingests_again",
    "tests/reliability/test_hostile_input.py::test_mutated_files_are_loaded_consistently_or_rejected_whole",
    "tests/reliability/test_hostile_input.py::test_fuzzed_headers_and_bodies_are_answered_without_5xx",
    "tests/unit/test_querystats.py::test_the_ks_pvalue_follows_scipys_kstwo",
}
# Under xdist (`--dist loadgroup`), tests that kill, restart or cut off what they run against (a
# private LocalStack, the drift worker, a database behind a proxy) or load the machine run one after
# another on one worker, never beside each other.
_SERIAL_FILES = {
    "reliability/test_faults_database.py": "faults",
    "reliability/test_faults_drift.py": "faults",
    "reliability/test_faults_local_stack.py": "faults",
    "reliability/test_load.py": "faults",
}
_SERIAL_GROUPS = set(_SERIAL_FILES.values())


def _uses_a_browser(module_path, seen: dict) -> bool:
    if module_path not in seen:
        try:
            text = module_path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        seen[module_path] = "playwright" in text or "chromium" in text.lower()
    return seen[module_path]


def pytest_collection_modifyitems(config, items) -> None:
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    browser_modules: dict = {}
    groups: dict[str, str] = {}
    for item in items:
        path = item.path
        rel = os.path.relpath(path, tests_dir)
        if rel.startswith(".."):  # doctests of the library modules: pure functions, no database
            item.add_marker(pytest.mark.unit)
            continue
        tier = _TIERS.get(rel.split(os.sep, 1)[0])
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
        if path.suffix == ".py" and _uses_a_browser(path, browser_modules):
            item.add_marker(pytest.mark.browser)
        if item.nodeid.split("[", 1)[0] in _SLOW:
            item.add_marker(pytest.mark.slow)
        rel_posix = rel.replace(os.sep, "/")
        group = _SERIAL_FILES.get(rel_posix)
        if group is None and _uses_a_module_fixture(item):
            group = rel_posix  # built once per worker: keep the module's tests on one worker
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
            groups[item.nodeid] = group
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # xdist hands out work in collection order: the serial groups (the longest units) go first, so
        # they run beside the rest instead of after it. Every worker sorts alike, as xdist requires.
        items.sort(key=lambda it: (groups.get(it.nodeid) not in _SERIAL_GROUPS, it.nodeid not in groups))


def _uses_a_module_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in ("module", "class") for defs in info.name2fixturedefs.values())


def reset_process_caches() -> None:
    """Forget cached settings, credential stores and services (after changing the environment)."""
    from seia import config, credentials
    from seia_files import service as files_service
    from seia_ingest import service as ingest_service
    from seia_query import service as query_service

    for getter in (ingest_service.get_service, query_service.get_service, files_service.get_file_ingest_service):
        if getter.cache_info().currsize:
            getter().db.close()
        getter.cache_clear()
    config.get_settings.cache_clear()
    credentials._store_for.cache_clear()
    from seia_drift.delivery import send

    send.sns_client.cache_clear()  # bound to the endpoint (moto, LocalStack) of the environment it was made in


def _drop_run_objects(dsn: str, prefix: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        dbs = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))]
        for db in dbs:
            conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(db)))
        roles = [r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (prefix + "%",))]
        for role in roles:
            conn.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role)))


@pytest.fixture(scope="session")
def settings():
    from seia.config import get_settings

    reset_process_caches()
    s = get_settings()
    try:
        psycopg.connect(s.database_url, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.exit(f"PostgreSQL is not reachable at DATABASE_URL ({exc}); `make test` starts one", returncode=3)
    yield s
    reset_process_caches()
    _drop_run_objects(s.database_url, s.db_prefix)


@pytest.fixture(scope="session")
def tenant_admin(settings):
    from seia.tenancy import TenantAdmin

    admin = TenantAdmin(settings)
    admin.ensure_admin()
    return admin


class TenantHandle:
    def __init__(self, admin, created):
        self.admin = admin
        self.tenant = created.tenant
        self.name = created.tenant.name
        self.api_key = created.api_key

    def connect(self, **kwargs) -> psycopg.Connection:
        """A superuser connection to this tenant's database (for assertions only)."""
        from seia.db import superuser_connect

        return superuser_connect(self.admin.settings, self.tenant.db_name, **kwargs)

    def snapshot(self) -> dict:
        """Row counts of every table: what a rejected request must leave untouched."""
        with self.connect() as conn:
            tables = [
                r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            ]
            return {
                t: conn.execute(
                    psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(t))
                ).fetchone()[0]
                for t in tables
            }


@pytest.fixture
def make_tenant(tenant_admin):
    def make(name: str | None = None) -> TenantHandle:
        return TenantHandle(tenant_admin, tenant_admin.create_tenant(name or "t" + secrets.token_hex(4)))

    return make


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


@pytest.fixture
def api(settings):
    """The HTTP API, invoked as API Gateway and Lambda would (real proxy events, real handlers)."""
    from tests.support.api import ApiClient

    reset_process_caches()
    return ApiClient()
