"""`make up` on a machine with no server on :5432 starts a private cluster under .local/."""

import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from infra.local import postgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def base():
    # World-traversable: when run as root, the cluster runs as an unprivileged OS user.
    path = Path(tempfile.mkdtemp(prefix="seia-pg-"))
    path.chmod(0o755)
    yield path
    postgres.stop_private_cluster(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(postgres._bindir() is None, reason="no PostgreSQL server binaries on this machine")
def test_a_private_cluster_starts_listens_on_loopback_and_restarts(base):
    port = _free_port()
    dsn = postgres.start_private_cluster(base, port)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("SELECT current_setting('is_superuser')").fetchone()[0] == "on"
    postgres.stop_private_cluster(base)
    assert not postgres.reachable(dsn)
    assert postgres.start_private_cluster(base, port) == dsn  # second start reuses the data directory
    assert postgres.reachable(dsn)
