"""Reliability fixtures: a tenant with the churn model, a TCP proxy that plays a database going away,
a private LocalStack (the shared one on :4566 is never restarted), and drift comparisons with a clean run.

Every test prints what it tried (visible with ``-s`` and in the junit output).
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from infra.local.paths import pythonpath
from tests.support import data

ROOT = Path(__file__).resolve().parents[2]
LOCALSTACK_VENV = ROOT / ".local" / "venvs" / "localstack"


def say(*parts) -> None:
    print("[reliability]", *parts, flush=True)


# --- tenants --------------------------------------------------------------------------------------
@pytest.fixture
def churn_tenant(make_tenant, api):
    """A fresh tenant with the churn model (README example)."""
    t = make_tenant("r" + secrets.token_hex(4))
    assert api.post("/v1/models", t.api_key, json=data.model()).status == 201
    return t


def stored_ids(tenant, table: str = "predictions") -> list[str]:
    with tenant.connect() as conn:
        return [r[0] for r in conn.execute(f"SELECT prediction_id FROM {table}")]


def count(tenant, table: str = "predictions") -> int:
    with tenant.connect() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def point_tenant_at(tenant_admin, tenant, port: int | None) -> None:
    """Where the functions reach this tenant's database (NULL: the default server)."""
    with tenant_admin.admin_connection() as admin:
        admin.execute("UPDATE tenants SET db_port = %s WHERE name = %s", (port, tenant.name))


# --- a database that goes away --------------------------------------------------------------------
class TcpProxy:
    """127.0.0.1:<port> → PostgreSQL. ``stop()`` refuses new connections and cuts every open one
    (as a crashed or unreachable server would); ``start()`` listens again on the same port."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
                self.accepted += 1
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    (b if s is a else a).sendall(chunk)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def db_proxy(settings):
    proxy = TcpProxy(settings.db_port, settings.db_host).start()
    yield proxy
    proxy.stop()


# --- a private LocalStack ---------------------------------------------------------------------------
class PrivateLocalStack:
    """LocalStack on a port of its own, with the settings of infra/localstack/localstack.sh.

    The shared instance on :4566 serves other engineers' runs; restarting it would wipe their state.
    """

    def __init__(self, workdir: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        root = self.workdir / f"root{self.restarts}"
        env = {
            **os.environ,
            "SERVICES": "s3,sqs,sns,events",
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "GATEWAY_SERVER": "hypercorn",
            "LOCALSTACK_HOST": f"127.0.0.1:{self.port}",
            "SQS_ENDPOINT_STRATEGY": "path",
            "DNS_ADDRESS": "0",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "PERSISTENCE": "0",
            "FILESYSTEM_ROOT": str(root),
            "LOCALSTACK_VOLUME_DIR": str(root / "var/lib/localstack"),
        }
        log = open(self.workdir / f"localstack{self.restarts}.log", "wb")
        self.proc = subprocess.Popen(
            [str(LOCALSTACK_VENV / "bin" / "python"), "-m", "localstack.runtime.main"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.workdir,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> None:
        import json
        import urllib.request

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"LocalStack exited ({self.proc.returncode}); see {self.workdir}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_localstack/health", timeout=2) as r:
                    services = json.loads(r.read()).get("services", {})
                if all(services.get(s) in ("available", "running") for s in ("s3", "sqs")):
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"LocalStack not ready on {self.endpoint} after {timeout}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        """What `localstack.sh restart` does: stop, start; the state is in memory only, so it is gone."""
        self.stop()
        self.restarts += 1
        self.start()


@pytest.fixture(scope="session")
def private_localstack(tmp_path_factory):
    if not (LOCALSTACK_VENV / "bin" / "python").exists():
        pytest.skip("LocalStack is not installed (infra/localstack/install.sh)")
    ls = PrivateLocalStack(tmp_path_factory.mktemp("localstack"))
    ls.start()
    say(f"private LocalStack on {ls.endpoint}")
    yield ls
    ls.stop()


def subprocess_env(extra: dict | None = None) -> dict:
    """The test run's environment (database prefix, secret key) for a child process, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath()
    env.update(extra or {})
    return env


# --- drift: a faulted model against a clean one ------------------------------------------------------
def drift_matches_clean(api, tenant, settings, model: str, records: list[dict]) -> dict:
    """Run the drift engine on ``model`` and on a new model fed ``records`` in one clean pass; return
    the faulted model's result tables after asserting they equal the clean model's."""
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.integration.drift.conftest import Reader

    clean = f"{model}-clean"
    assert api.post("/v1/models", tenant.api_key, json=data.model(name=clean)).status == 201
    for i in range(0, len(records), 5000):
        reply = api.post(f"/v1/models/{clean}/predictions", tenant.api_key, json={"records": records[i : i + 5000]})
        assert reply.status == 202, reply.raw
    databases = WorkerDatabases(settings)
    try:
        engine = DriftEngine(databases)
        engine.run(tenant.tenant, model)
        engine.run(tenant.tenant, clean)
    finally:
        databases.close()
    reader = Reader(tenant)
    faulted, reference = reader.snapshot(model), reader.snapshot(clean)
    inexact: list[str] = []
    same_up_to_float_order(faulted, reference, "", inexact)
    say(
        f"drift of {model!r} equals a clean run: "
        + ", ".join(f"{t}={len(rows)}" for t, rows in sorted(faulted.items()))
        + (
            f"; {len(inexact)} float sums differ in the last digits only (summation order), e.g. {inexact[0]}"
            if inexact
            else "; bit for bit"
        )
    )
    return faulted


def same_up_to_float_order(a, b, path: str, inexact: list[str]) -> None:
    """Equal structures; floats may differ by rounding (a sum over rows depends on the rows' order,
    which differs between a faulted and a clean ingest), everything else exactly."""
    import math

    # JSON has one number type: a float8 zero stored by PostgreSQL reads back as 0, the same sum in another
    # order as 8.7e-15; an int beside a float is a number like it
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and (isinstance(a, float) or isinstance(b, float))
    ):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
        if a != b:
            inexact.append(f"{path}: {a!r} vs {b!r}")
        return
    assert type(a) is type(b), f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            same_up_to_float_order(a[k], b[k], f"{path}.{k}", inexact)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: {len(a)} rows != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same_up_to_float_order(x, y, f"{path}[{i}]", inexact)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# --- bulk files in one process (moto S3 and SQS, the real handler) ----------------------------------
@pytest.fixture
def file_drop(settings, monkeypatch):
    from moto import mock_aws

    from seia_files.service import get_file_ingest_service
    from tests.conftest import reset_process_caches
    from tests.integration.test_file_ingest import BUCKET, FileDrop

    monkeypatch.setenv("SEIA_BUCKET", BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        reset_process_caches()
        yield FileDrop()
        if get_file_ingest_service.cache_info().currsize:
            get_file_ingest_service().db.close()
        get_file_ingest_service.cache_clear()
    reset_process_caches()
