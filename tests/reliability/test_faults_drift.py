"""The drift worker killed with SIGKILL between steps (or inside one), then run again: the result
tables equal those of a model that never saw a crash."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys

import pytest

from tests.reliability.conftest import ROOT, say, subprocess_env
from tests.support import scenarios


@pytest.fixture(scope="module")
def drift_world(tenant_admin, settings):
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.conftest import TenantHandle

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("k" + secrets.token_hex(4)))
    data = scenarios.generate("covariate_shift", 7)
    with tenant.connect() as conn:
        scenarios.load(conn, "clean", data)
    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(tenant.tenant, "clean")
    finally:
        databases.close()
    return tenant, data


@pytest.mark.parametrize(
    "step,when",
    [
        ("reference", "after"),
        ("multivariate_fit", "after"),
        ("profile", "after"),
        ("profile", "during"),  # its pass also wrote the multivariate sketches and moved that watermark
        ("drift", "after"),
        ("alerts", "after"),
        ("causes", "after"),
        ("drift", "during"),
        ("alerts", "during"),
    ],
)
def test_a_worker_killed_then_rerun_matches_a_clean_run(drift_world, settings, step, when):
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.integration.drift.conftest import Reader

    tenant, data = drift_world
    model = f"kill-{step}-{when}"
    with tenant.connect() as conn:
        scenarios.load(conn, model, data)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.drift_process", tenant.name, model, step, when],
        env=subprocess_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    reader = Reader(tenant)
    partial = {t: len(rows) for t, rows in reader.snapshot(model).items()}
    say(f"drift kill: worker SIGKILLed {when} step {step!r} (exit {proc.returncode}); tables left: {partial}")
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr[-2000:]
    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(tenant.tenant, model)
    finally:
        databases.close()
    rerun, clean = reader.snapshot(model), reader.snapshot("clean")
    say(
        f"drift kill: after a rerun: { ({t: len(r) for t, r in rerun.items()}) }; clean run has the same rows: "
        f"{rerun == clean}"
    )
    assert rerun == clean
    assert rerun["incidents"], "the scenario opens incidents"
