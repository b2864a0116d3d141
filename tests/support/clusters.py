"""A PostgreSQL cluster of a test's own, started under a temporary folder as `make up` starts one under .local/."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_cluster(prefix: str) -> Iterator[tuple[str, Path]]:
    """(superuser DSN, data folder) of a cluster on a free port; stopped and removed afterwards."""
    from infra.local import postgres

    if postgres._bindir() is None:
        pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # world-traversable: run as root, the cluster runs as an unprivileged OS user
    try:
        yield postgres.start_private_cluster(base, free_port()), base / "pg" / "data"
    finally:
        postgres.stop_private_cluster(base)
        shutil.rmtree(base, ignore_errors=True)
