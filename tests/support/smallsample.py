"""A stationary model of 20 categorical features with 5 to 30 levels, and shifts of a chosen size.

Used by the small-window scenarios (``tests/integration/drift/test_small_windows.py``) and by
``docs/small_windows.py``, which measures how the verdict behaves as the window shrinks. Windows are
judged with the statistics core the engine and the query path share (:mod:`seia.stats`) on counts
drawn with numpy: deterministic for (rows, seed).
"""

from __future__ import annotations

import numpy as np

from seia import stats

LEVELS = tuple(5 + round(25 * i / 19) for i in range(20))  # 5 .. 30
FEATURES = tuple(f"c{i:02d}_{k}" for i, k in enumerate(LEVELS))
REFERENCE_ROWS = 5_000
WINDOWS = 60
SIZES = (100, 200, 1_000)


def proportions(i: int) -> np.ndarray:
    """Reference proportions of feature `i`: uniform, Zipf 0.5 or Zipf 1 (rare levels) by ``i % 3``."""
    k = LEVELS[i]
    p = 1.0 / np.arange(1, k + 1) ** (0.5 * (i % 3))
    return p / p.sum()


def sketch(levels: int, counts: np.ndarray) -> stats.CategoricalSketch:
    return stats.CategoricalSketch({f"v{j:02d}": int(c) for j, c in zip(range(levels), counts, strict=True) if c})


def references(seed: int) -> dict[str, stats.CategoricalSketch]:
    """The reference sketches: :data:`REFERENCE_ROWS` rows drawn from :func:`proportions`."""
    rng = np.random.default_rng([7, seed])
    return {f: sketch(LEVELS[i], rng.multinomial(REFERENCE_ROWS, proportions(i))) for i, f in enumerate(FEATURES)}


def js_of(p: np.ndarray, q: np.ndarray) -> float:
    """Population Jensen–Shannon distance (base 2) of two proportion vectors."""
    return stats.js_distance(p.tolist(), q.tolist())


def shifted(p: np.ndarray, target: int, js: float) -> np.ndarray:
    """`p` with mass moved into category `target` until the Jensen–Shannon distance to `p` is `js`."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        t = (lo + hi) / 2
        q = (1 - t) * p + t * np.eye(len(p))[target]
        lo, hi = (t, hi) if js_of(p, q) < js else (lo, t)
    return (1 - lo) * p + lo * np.eye(len(p))[target]


def windows(
    seed: int, rows: int, count: int = WINDOWS, shift: dict[int, np.ndarray] | None = None
) -> list[dict[str, stats.CategoricalSketch]]:
    """`count` windows of `rows` rows; features named by index in `shift` are drawn from the given proportions."""
    rng = np.random.default_rng([rows, seed])
    shift = shift or {}
    return [
        {f: sketch(LEVELS[i], rng.multinomial(rows, shift.get(i, proportions(i)))) for i, f in enumerate(FEATURES)}
        for _ in range(count)
    ]


def verdicts(
    refs: dict[str, stats.CategoricalSketch], window: dict[str, stats.CategoricalSketch], drift=None, judge=None
) -> dict[str, str]:
    """Verdict per feature of one window (the core's functions unless others are given)."""
    drift = drift or stats.categorical_drift
    judge = judge or stats.judge_window
    return {f: v.verdict for f, v in judge({f: drift(refs[f], cur) for f, cur in window.items()}).items()}


def rows(seed: int, per_day: int, days: int, start, prefix: str, with_label: bool) -> list[tuple]:
    """Rows of the model in :func:`load` (stationary), `per_day` a day for `days` days from `start`."""
    from datetime import timedelta

    rng = np.random.default_rng([11, seed, per_day, days])
    n = per_day * days
    cats = [rng.choice(LEVELS[i], size=n, p=proportions(i)) for i in range(len(FEATURES))]
    score = rng.beta(2, 5, size=n)
    out = []
    for r in range(n):
        ts = start + timedelta(days=r // per_day, seconds=(r % per_day) * 86_400 // per_day)
        row = (f"{prefix}{r}", ts, [], [f"v{c[r]:02d}" for c in cats], "yes" if score[r] >= 0.5 else "no", None)
        row = (*row, float(score[r]), None)
        out.append((*row, "yes" if rng.random() < score[r] else "no", None) if with_label else row)
    return out


def load(conn, name: str, reference: list[tuple], predictions: list[tuple]) -> None:
    """Create the binary model of the 20 categorical features and store its reference and predictions."""
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import PredictionRepository, ReferenceRepository
    from seia.schema import Feature

    with conn.transaction():
        model = ModelRepository(conn).insert(
            name, "binary_classification", [Feature(f, "categorical") for f in FEATURES], ["no", "yes"], {}
        )
        ReferenceRepository(conn).add(model.id, reference, replace=False)
    with conn.transaction():
        PredictionRepository(conn).add(model.id, predictions)
