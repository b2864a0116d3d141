"""Where a bulk load's time goes: `--only files-phases`.

The 1M-row, 25-feature Parquet file of the files section, loaded in this process from a local path through
``FileLoader`` (no S3, no process start), twice; each COPY the loader sends is timed by its target
(``prediction_keys_m…``, ``predictions``, the ids table), and so is the encoding (in the reader thread,
overlapped with the database). The same rows' binary COPY into an unindexed table is measured right after,
as in the files section."""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict

from bench.common import row
from bench.files import FEATURES, _table

ROWS = 1_000_000
RUNS = 2


def measure(settings) -> None:
    import pyarrow.parquet as pq

    from seia.db import Databases
    from seia.repositories.admin import TenantRepository
    from seia.repositories.models import ModelRepository
    from seia.tenancy import TenantAdmin
    from seia_files import encoding, keys, repository
    from seia_files.loader import FileLoader
    from seia_files.repository import ObjectVersion
    from seia_ingest.service import IngestService

    spent: dict[str, float] = defaultdict(float)
    real_copy, real_encode = repository.FileStagingRepository._copy, encoding.PredictionRowsEncoder.encode

    def timed_copy(self, statement, buffers):
        target = statement.as_string(self.conn).split()[1].strip('"')
        started = time.perf_counter()
        real_copy(self, statement, buffers)
        spent["COPY " + ("prediction_keys" if target.startswith("prediction_keys") else target)] += (
            time.perf_counter() - started
        )

    def timed_encode(self, arrays):
        started = time.perf_counter()
        encoded = real_encode(self, arrays)
        spent["encode (reader thread, overlapped)"] += time.perf_counter() - started
        return encoded

    repository.FileStagingRepository._copy = timed_copy  # type: ignore[method-assign]
    encoding.PredictionRowsEncoder.encode = timed_encode  # type: ignore[method-assign]
    created = TenantAdmin(settings).create_tenant("bphases")
    IngestService(settings).create_model(
        created.tenant, {"name": "m", "task": "binary_classification", "features": FEATURES, "labels": ["no", "yes"]}
    )
    db = Databases(settings)
    try:
        with db.admin() as conn:
            tenant = TenantRepository(conn).get("bphases")
        assert tenant is not None  # created above
        with tempfile.TemporaryDirectory(prefix="seia-bench-") as tmp:
            path = os.path.join(tmp, "f.parquet")
            for run in range(RUNS):
                pq.write_table(_table(ROWS, f"phases{run}-"), path, row_group_size=128 * 1024)
                spent.clear()
                with db.tenant(tenant) as conn:
                    model = ModelRepository(conn).get("m")
                    assert model is not None  # created above
                    conn.commit()
                    location = keys.parse(f"bphases/m/predictions/{run}.parquet")
                    backend = _BackendCpu(conn)
                    started = time.perf_counter()
                    result = FileLoader(conn, model, location).load(
                        ObjectVersion("bench", location.key, str(run), ""), path, lambda: None
                    )
                    wall = time.perf_counter() - started
                    cpu = backend.spent()
                    if cpu is not None:
                        spent["database backend CPU"] = cpu
                assert result is not None and result.rows == ROWS, result
                load = os.getloadavg()[0]
                split = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(spent.items()))
                row(
                    f"run {run + 1}: {ROWS:,} rows, local Parquet -> committed (load average {load:.1f})",
                    f"{ROWS / wall:,.0f} rows/s",
                    f"{wall:.2f} s: {split}",
                )
            _bare(db, tenant, path)
    finally:
        repository.FileStagingRepository._copy = real_copy  # type: ignore[method-assign]
        encoding.PredictionRowsEncoder.encode = real_encode  # type: ignore[method-assign]
        db.close()


class _BackendCpu:
    """CPU seconds the connection's server process has used since this was made, when the server runs on this
    machine (``/proc/<pid>/stat``): robust to the other processes' load, unlike the clock. None elsewhere."""

    def __init__(self, conn):
        found = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert found is not None  # a SELECT without FROM returns one row
        conn.commit()
        self.stat = f"/proc/{found[0]}/stat"
        self.start = self._used()

    def _used(self) -> float | None:
        try:
            with open(self.stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def spent(self) -> float | None:
        now = self._used()
        return None if now is None or self.start is None else now - self.start


def _bare(db, tenant, path: str) -> None:
    """The last run's rows, binary COPY into an unindexed copy of predictions (the goal's yardstick)."""
    columns = "model_id, prediction_id, ts, num, cat, prediction_label, score"
    with db.tenant(tenant) as conn:
        with conn.cursor().copy(
            f"COPY (SELECT {columns} FROM predictions WHERE prediction_id LIKE 'phases{RUNS - 1}-%%') "
            "TO STDOUT (FORMAT binary)"
        ) as copy:
            data = b"".join(bytes(block) for block in copy)
        conn.execute("CREATE TABLE bench_bare (LIKE predictions INCLUDING DEFAULTS)")
        conn.commit()
        backend = _BackendCpu(conn)
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY bench_bare ({columns}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(data)
        conn.commit()
        wall = time.perf_counter() - started
        cpu = backend.spent()
        conn.execute("DROP TABLE bench_bare")
        conn.commit()
    row(
        f"the same {ROWS:,} rows: binary COPY into an unindexed table",
        f"{ROWS / wall:,.0f} rows/s",
        f"database backend CPU {cpu:.2f} s" if cpu is not None else "",
    )
