"""History in seconds: ten months of daily windows, from rows to stored incidents and causes, against NannyML.

A 7-feature binary model (5 numeric, 2 categorical), ~330 predictions a day for 300 days (~100k
rows) after a 30-day uploaded reference; from the sixth month on, four features drift gradually
(two numeric means, one numeric spread, one categorical mix). Labels arrive late: a day's labels
come with the batch ``LABEL_DELAY_DAYS`` later. The history is loaded in monthly batches through
the ingest repositories, and the engine runs after each batch as the scheduled worker would, then
once more when the last labels are in. The engine runs in a child process (its peak RSS is its own).

NannyML 0.13 runs on the same rows in the same run: univariate drift (KS, JS, Wasserstein for
continuous columns; JS, chi² for categorical ones) and realized performance (ROC AUC, accuracy),
``chunk_period="D"``, in its own virtualenv under ``.local/venvs/nannyml`` (created here with
``pip install nannyml==0.13.1 statsmodels`` when missing; not a project dependency), timed in a subprocess.

``python -m bench.history --profile`` also prints the engine's cProfile (top functions);
``--seia-only`` leaves NannyML out (for profiling loops). Wall times on a shared machine swing with
its load, so the CPU seconds are printed too: the engine's process (``getrusage``) plus the
PostgreSQL backends that served it (``/proc/<pid>/stat``), and NannyML's process (``process_time``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Timer, row

DAYS, ROWS_PER_DAY, REFERENCE_DAYS = 300, 330, 30
DRIFT_FROM_DAY = 150  # the sixth month
LABEL_DELAY_DAYS = 10
BATCH_DAYS = 30
START = datetime(2025, 1, 1, tzinfo=UTC)
NUMERIC = ("n0", "n1", "n2", "n3", "n4")
CATEGORICAL = {"c0": ("a", "b", "c", "d", "e"), "c1": tuple(f"k{i}" for i in range(8))}
LABELS = ("no", "yes")
NANNYML_VERSION = "0.13.1"
VENV = Path(__file__).resolve().parent.parent / ".local" / "venvs" / "nannyml"


def generate(seed: int = 7, rows_per_day: int = ROWS_PER_DAY, start: datetime = START):
    """(reference, history) DataFrames: ts, n0..n4, c0, c1, score, y_pred, y_true (0/1).

    The dashboard's browser test takes fewer rows a day, ending yesterday (``start`` = today - ``DAYS``)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def frame(first_day: int, days: int, drifting: bool):
        n = days * rows_per_day
        day = np.repeat(np.arange(first_day, first_day + days), rows_per_day)
        ts = [start + timedelta(days=int(d), seconds=float(s)) for d, s in zip(day, rng.uniform(0, 86400, n))]
        # drift ramps from 0 (day 150) to 1 (the last day)
        ramp = np.clip((day - DRIFT_FROM_DAY) / (DAYS - DRIFT_FROM_DAY), 0, 1) if drifting else np.zeros(n)
        x = rng.normal(0.0, 1.0, size=(n, len(NUMERIC)))
        x[:, 0] += 1.5 * ramp  # mean shift of a feature the model uses
        x[:, 1] *= 1 + 1.0 * ramp  # spread of another
        x[:, 3] -= 1.0 * ramp  # mean shift of a feature the model ignores
        p_c0 = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
        late = np.array([0.1, 0.1, 0.2, 0.25, 0.35])
        u = rng.random(n)
        c0 = np.empty(n, dtype=object)
        for i, r in enumerate(ramp):
            c0[i] = CATEGORICAL["c0"][min(np.searchsorted(np.cumsum((1 - r) * p_c0 + r * late), u[i]), 4)]
        c1 = rng.choice(CATEGORICAL["c1"], size=n)
        effect = pd.Series(c0).map({"a": 0.4, "b": 0.0, "c": -0.3, "d": 0.2, "e": -0.2}).to_numpy(dtype=float)
        logit = -0.5 + 1.2 * x[:, 0] + 0.8 * x[:, 1] - 0.6 * x[:, 2] + effect
        score = 1 / (1 + np.exp(-logit))
        # the world the model learnt, except that beyond the training range of n0 it saturates
        truth = np.where((x[:, 0] > 2.0) & (np.abs(x[:, 2]) < 0.5), 0.05, score)
        y = (rng.random(n) < truth).astype(int)
        out = pd.DataFrame({"ts": pd.to_datetime(ts, utc=True)})
        for j, name in enumerate(NUMERIC):
            out[name] = x[:, j]
        out["c0"], out["c1"] = c0, c1
        out["score"], out["y_pred"], out["y_true"] = score, (score >= 0.5).astype(int), y
        out["day"] = day
        return out

    return frame(-REFERENCE_DAYS, REFERENCE_DAYS, False), frame(0, DAYS, True)


def _records(df, prefix: str, with_label: bool) -> list[tuple]:
    rows = []
    nums = df[list(NUMERIC)].to_numpy()
    for i, (ts, c0, c1, score, y_pred, y_true) in enumerate(
        zip(df["ts"], df["c0"], df["c1"], df["score"], df["y_pred"], df["y_true"])
    ):
        r = (f"{prefix}{i}", ts.to_pydatetime(), nums[i].tolist(), [c0, c1], LABELS[y_pred], None, float(score), None)
        rows.append(r + ((LABELS[y_true], None) if with_label else ()))
    return rows


# -- Seia (child process) ------------------------------------------------------------------------
def _child(tenant_name: str, profile: bool) -> None:
    import cProfile
    import io
    import pstats
    import resource

    from seia.config import get_settings
    from seia.db import superuser_connect
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
    from seia.schema import Feature
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    settings = get_settings()
    reference, history = generate()
    databases = WorkerDatabases(settings)
    tenant = databases.tenant_named(tenant_name)
    engine = DriftEngine(databases)
    per_step = _time_steps(engine)
    features = [Feature(f, "numeric") for f in NUMERIC] + [Feature(c, "categorical") for c in CATEGORICAL]
    engine_s = ingest_s = engine_cpu_s = 0.0
    runs = 0
    profiler = cProfile.Profile() if profile else None
    with superuser_connect(settings, tenant.db_name) as conn:
        t = Timer()
        with conn.transaction():
            model = ModelRepository(conn).insert("m", "binary_classification", features, list(LABELS), {})
            assert model is not None  # None only when a model of that name exists: the bench's tenant is new
            ReferenceRepository(conn).add(model.id, _records(reference, "r", True), replace=False)
        ingest_s += t.elapsed
        labelled_to = 0  # labels of days < labelled_to are in
        for first in range(0, DAYS + LABEL_DELAY_DAYS, BATCH_DAYS):
            last = min(first + BATCH_DAYS, DAYS)
            t = Timer()
            batch = history[(history["day"] >= first) & (history["day"] < last)]
            if len(batch):
                with conn.transaction():
                    PredictionRepository(conn).add(model.id, _records(batch, f"d{first}-", False))
            upto = min(first + BATCH_DAYS - LABEL_DELAY_DAYS, DAYS) if last < DAYS else DAYS
            labelled = history[(history["day"] >= labelled_to) & (history["day"] < upto)]
            if len(labelled):
                with conn.transaction():
                    GroundTruthRepository(conn).add(
                        model.id,
                        [(pid, LABELS[y], None, None) for pid, y in zip(_ids(history, labelled), labelled["y_true"])],
                    )
                labelled_to = upto
            ingest_s += t.elapsed
            t = Timer()
            cpu = _cpu_seconds()
            if profiler:
                profiler.enable()
            engine.run(tenant, "m")
            if profiler:
                profiler.disable()
            engine_s += t.elapsed
            engine_cpu_s += _cpu_seconds() - cpu
            runs += 1
            if last >= DAYS and labelled_to >= DAYS:
                break
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM incident_causes),
                      (SELECT count(*) FROM drift_windows), (SELECT count(*) FROM predictions),
                      (SELECT count(*) FROM alert_windows WHERE state = 'flagged'),
                      (SELECT count(DISTINCT (kind, subject, condition)) FROM incidents)"""
        ).fetchone()
        assert counts is not None  # a SELECT without FROM returns exactly one row
        per_series = conn.execute(
            """SELECT kind, subject, condition, count(*), sum(windows_flagged) FROM incidents
               GROUP BY 1, 2, 3 ORDER BY 5 DESC, 1, 2, 3"""
        ).fetchall()
        # the longest performance incident's first cause
        top = conn.execute(
            """SELECT i.kind, c.feature, c.sentence FROM incidents i JOIN incident_causes c ON c.incident_id = i.id
               WHERE c.rank = 1 AND i.kind = 'performance' ORDER BY i.windows_flagged DESC, i.id LIMIT 1"""
        ).fetchone()
        backend_cpu_s = _backend_cpu_seconds(conn, tenant.db_name)
        digest = _digest(conn)
    databases.close()
    out = {
        "engine_s": engine_s,
        "engine_cpu_s": engine_cpu_s,
        "backend_cpu_s": backend_cpu_s,
        "ingest_s": ingest_s,
        "runs": runs,
        "incidents": counts[0],
        "causes": counts[1],
        "flagged_windows": counts[4],
        "series": counts[5],
        "per_series": [list(r) for r in per_series],
        "windows": counts[2],
        "rows": counts[3],
        "last_performance_cause": list(top) if top else None,
        "digest": digest,
        "steps": per_step,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if profiler:
        s = io.StringIO()
        pstats.Stats(profiler, stream=s).sort_stats("cumulative").print_stats(70)
        out["profile"] = s.getvalue()
    print(json.dumps(out, default=str))


# What a change for speed must leave as it was: every window's verdicts, statistics and metrics.
DIGESTED = (
    """SELECT window_start, feature, rows, missing_rate, verdict, severity, signals, driver, effect_ratio,
              statistics::text FROM drift_results ORDER BY 1, 2""",
    """SELECT window_start, rows, status, drifted_features, labeled, coverage, provisional, metrics::text
       FROM drift_windows ORDER BY 1""",
)


def _digest(conn) -> str:
    import hashlib

    h = hashlib.sha256()
    for query in DIGESTED:
        for r in conn.execute(query):
            h.update(repr(r).encode())
    return h.hexdigest()[:16]


def _time_steps(engine) -> dict[str, list[float]]:
    """Wraps each step's ``run`` to add up its wall, worker CPU and PostgreSQL backend CPU seconds."""
    import time

    totals: dict[str, list[float]] = {}

    def timed(step, run):
        def wrapper(ctx):
            pid = ctx.conn.info.backend_pid
            wall, cpu, backend = time.perf_counter(), _cpu_seconds(), _pid_cpu_seconds(pid)
            try:
                return run(ctx)
            finally:
                t = totals.setdefault(step.name, [0.0, 0.0, 0.0])
                t[0] += time.perf_counter() - wall
                t[1] += _cpu_seconds() - cpu
                t[2] += (_pid_cpu_seconds(pid) or 0.0) - (backend or 0.0)

        return wrapper

    for step in engine.steps:
        step.run = timed(step, step.run)
    return totals


def _pid_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # a server on another machine
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_cpu_seconds(conn, db_name: str) -> float | None:
    """CPU seconds of the PostgreSQL backends connected to the tenant's database other than ``conn``'s
    (the engine's pooled connections: the engine's SQL work), read from /proc; None when unreadable."""
    pids = [
        pid
        for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db_name,)
        )
    ]
    seconds = [_pid_cpu_seconds(pid) for pid in pids]
    return None if None in seconds else sum(s for s in seconds if s is not None)


def _ids(history, part) -> list[str]:
    """The prediction ids the child gave ``part``'s rows (their batch and position in it)."""
    ids = []
    for first in range(0, DAYS, BATCH_DAYS):
        batch = history[(history["day"] >= first) & (history["day"] < first + BATCH_DAYS)]
        ids += [f"d{first}-{i}" for i in range(len(batch))]
    index = dict(zip(history.index, ids))
    return [index[i] for i in part.index]


# -- NannyML (its own virtualenv, a subprocess) ------------------------------------------------------
NANNYML_SCRIPT = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import nannyml as nml
import pandas as pd
imported = time.perf_counter() - t0
reference = pd.read_parquet(sys.argv[1]); analysis = pd.read_parquet(sys.argv[2])
features = sys.argv[3].split(",")
t = time.perf_counter(); cpu = time.process_time()
drift = nml.UnivariateDriftCalculator(
    column_names=features, timestamp_column_name="ts", chunk_period="D",
    continuous_methods=["kolmogorov_smirnov", "jensen_shannon", "wasserstein"],
    categorical_methods=["jensen_shannon", "chi2"],
).fit(reference)
drift_result = drift.calculate(analysis)
perf = nml.PerformanceCalculator(
    y_pred_proba="score", y_pred="y_pred", y_true="y_true", timestamp_column_name="ts", chunk_period="D",
    problem_type="classification_binary", metrics=["roc_auc", "accuracy"],
).fit(reference)
perf_result = perf.calculate(analysis)
seconds = time.perf_counter() - t; cpu = time.process_time() - cpu
d = drift_result.filter(period="analysis").to_df()
alerts = int(sum(d[c].sum() for c in d.columns if c[-1] == "alert"))
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "import_s": imported, "chunks": len(perf_result.filter(period="analysis").to_df()),
                  "drift_alert_cells": alerts}))
"""


def _nannyml_python() -> Path:
    python = VENV / "bin" / "python"
    ok = python.exists() and (
        subprocess.run(
            [str(python), "-c", f"import nannyml, sys; sys.exit(nannyml.__version__ != '{NANNYML_VERSION}')"],
            capture_output=True,
        ).returncode
        == 0
    )
    if not ok:
        print(f"  (installing nannyml=={NANNYML_VERSION} into {VENV})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            # nannyml imports statsmodels (for its plots) without declaring it
            [str(python), "-m", "pip", "install", "-q", f"nannyml=={NANNYML_VERSION}", "statsmodels"],
            check=True,
            capture_output=True,
        )
    return python


def _nannyml(reference, history) -> dict:
    python = _nannyml_python()
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, ana_path = Path(tmp) / "reference.parquet", Path(tmp) / "analysis.parquet"
        reference.drop(columns=["day"]).to_parquet(ref_path)
        history.drop(columns=["day"]).to_parquet(ana_path)
        script = Path(tmp) / "run.py"
        script.write_text(NANNYML_SCRIPT)
        t = Timer()
        out = subprocess.run(
            [str(python), str(script), str(ref_path), str(ana_path), ",".join(list(NUMERIC) + list(CATEGORICAL))],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["wall_s"] = t.elapsed
    return result


def measure(settings, profile: bool = False, seia_only: bool = False) -> dict:
    from seia.tenancy import TenantAdmin

    created = TenantAdmin(settings).create_tenant("history")
    out = subprocess.run(
        [sys.executable, "-m", "bench.history", "--child", created.tenant.name] + (["--profile"] if profile else []),
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    if out.returncode:
        raise RuntimeError(f"the Seia run failed:\n{out.stderr[-3000:]}")
    seia = json.loads(out.stdout.strip().splitlines()[-1])
    backend = seia["backend_cpu_s"]
    cpu = seia["engine_cpu_s"] + (backend or 0.0)
    row(
        f"Seia: {seia['rows']:,} rows, {DAYS} daily windows, {seia['runs']} scheduled runs",
        f"{seia['engine_s']:.1f} s",
        f"(ingest {seia['ingest_s']:.1f} s, not counted)",
    )
    row(
        "  CPU: worker process + its PostgreSQL backends",
        f"{seia['engine_cpu_s']:.1f} + {backend:.1f} s" if backend is not None else f"{cpu:.1f} s + ?",
    )
    row(
        "  incidents (series with one; flagged windows, the alerts of one per window)",
        f"{seia['incidents']:,}",
        f"({seia['series']} series; {seia['flagged_windows']:,} flagged windows)",
    )
    for kind, subject, condition, incidents, flagged in seia["per_series"][:12]:
        print(f"    {kind} {subject} {condition}: {incidents} incident(s) over {flagged} flagged windows", flush=True)
    row("  causes stored", f"{seia['causes']:,}")
    row("  peak RSS of the worker process", f"{seia['max_rss_mib']:.0f} MiB")
    row("  digest of the stored verdicts, statistics and metrics", seia["digest"])
    for name, (wall, worker, backend) in sorted(seia["steps"].items(), key=lambda kv: -kv[1][0]):
        row(
            f"    step {name}: wall, CPU of the worker + PostgreSQL", f"{wall:.1f} s", f"{worker:.1f} + {backend:.1f} s"
        )
    if profile:
        print(seia["profile"], flush=True)
    if seia_only:
        return {"seia_s": seia["engine_s"], "seia_cpu_s": cpu, "rss_mib": seia["max_rss_mib"]}
    reference, history = generate()
    nanny = _nannyml(reference, history)
    row(
        f"NannyML {NANNYML_VERSION}: univariate drift + ROC AUC, accuracy, chunk_period='D'",
        f"{nanny['seconds']:.1f} s",
        f"({nanny['chunks']} chunks; import {nanny['import_s']:.1f} s, not counted)",
    )
    row("  NannyML's CPU", f"{nanny['cpu_s']:.1f} s")
    row("ratio: Seia / NannyML", f"{seia['engine_s'] / nanny['seconds']:.2f}×", "goal ≤ 0.25×")
    row("ratio of CPU seconds: Seia (worker + PostgreSQL) / NannyML", f"{cpu / nanny['cpu_s']:.2f}×")
    if seia.get("last_performance_cause"):
        kind, feature, sentence = seia["last_performance_cause"]
        print(f"  the longest performance incident's first cause: {sentence}", flush=True)
    return {
        "seia_s": seia["engine_s"],
        "seia_cpu_s": cpu,
        "nannyml_s": nanny["seconds"],
        "nannyml_cpu_s": nanny["cpu_s"],
        "rss_mib": seia["max_rss_mib"],
        "incidents": seia["incidents"],
        "flagged_windows": seia["flagged_windows"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", action="store_true", help="print the engine's cProfile")
    parser.add_argument("--seia-only", action="store_true", help="leave NannyML out (profiling loops)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.profile)
        return
    from bench.common import bench_environment

    with bench_environment() as settings:
        print("[history] ten months of daily windows, rows → incidents and causes, against NannyML", flush=True)
        measure(settings, args.profile, args.seia_only)


if __name__ == "__main__":
    main()
