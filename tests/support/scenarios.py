"""Seeded synthetic models and data, each with one known injected cause.

A binary classifier on five numeric features (x0..x4; x0..x2 matter, x3 and x4 are noise) and two
categorical ones (c0: five values, c1: eight). Labels come from a logistic model; the deployed
model's score is that same logistic function of the features it *receives*, so data problems
(rescaled or missing inputs) reach the predictions as they would in production.

Scenarios (the reference is 4,000 rows; the current window one day of 2,000 rows):

=================  ===========================================================  ===========================
name               injected                                                     expected alert → rank 1
=================  ===========================================================  ===========================
stationary         nothing                                                      no alert at all
covariate_shift    one of x0..x2 shifted by +1 standard deviation               prediction_drift → feature
concept_drift      labels flipped where one feature is in its top 20%           performance → feature
label_shift        positive share 30% → 60%, features given the label unchanged  label_drift → __label__
missing_spike      40% of one numeric feature's values missing                  data_quality → feature
unit_change        one numeric feature sent ×1000                               data_quality → feature
new_category       a new value of c0 or c1 in 30% of rows                       data_quality → feature
saturation         x0 or x1 shifted by +2 sd into where the score saturates;    performance → shifted
                   there the label is "no" in a band of an unshifted feature    feature (not the band's)
ignored_shift      concept drift as above, and x3 or x4 (which neither the      performance → concept
                   model nor the label uses) shifted by +1.5 sd                 feature
two_shifts         x0 and x1 both shifted by +2 sd, the saturation trap         performance → x0 or x1,
                   behind either                                                both in the top 3
=================  ===========================================================  ===========================

The saturation trap: where a shifted feature is beyond ``TRAP_FROM`` (2 sd: 2% of reference rows,
half of the shifted window's) the deployed model's score leans to "yes", but the true label is
"no" whenever an unshifted feature lies in a band (its central 40%). The concept is the same in
the reference and the window: only the population moved. The new errors then sit in the band of
the unshifted feature, while what changed is the shifted one; the reference's top decile of the
shifted feature holds few trap rows, so its reference error rate does not foretell them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

NUMERIC = ("x0", "x1", "x2", "x3", "x4")
CATEGORICAL = {"c0": ("a", "b", "c", "d", "e"), "c1": tuple(f"k{i}" for i in range(8))}
COEF = np.array([0.8, 0.6, -0.5, 0.0, 0.0])
C0_EFFECT = {"a": 0.3, "b": 0.0, "c": -0.2, "d": 0.1, "e": -0.1}
INTERCEPT = -1.0
LABELS = ("no", "yes")
REFERENCE_ROWS, WINDOW_ROWS = 4000, 2000
REFERENCE_DAY = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_DAY = datetime(2026, 11, 2, tzinfo=UTC)
SCENARIOS = (
    "stationary",
    "covariate_shift",
    "concept_drift",
    "label_shift",
    "missing_spike",
    "unit_change",
    "new_category",
    "saturation",
    "ignored_shift",
    "two_shifts",
)
TRAP_FROM, TRAP_BAND = 2.0, (-0.524, 0.524)  # the band: the central 40% of a standard normal
SATURATION_SHIFT, SATURATION_COEF = 3.0, 4.0
# The kind of alert each injected cause should raise (None: no alert at all).
EXPECTED_KIND = {
    "stationary": None,
    "covariate_shift": "prediction_drift",
    "concept_drift": "performance",
    "label_shift": "label_drift",
    "missing_spike": "data_quality",
    "unit_change": "data_quality",
    "new_category": "data_quality",
    "saturation": "performance",
    "ignored_shift": "performance",
    "two_shifts": "performance",
}


def model_definition(name: str) -> dict:
    return {
        "name": name,
        "task": "binary_classification",
        "labels": list(LABELS),
        "features": [{"name": f, "type": "numeric"} for f in NUMERIC]
        + [{"name": c, "type": "categorical"} for c in CATEGORICAL],
    }


@dataclass
class Frame:
    x: np.ndarray  # (n, 5), NaN for missing
    c: list[list[str]]  # per row, [c0, c1]
    y: np.ndarray  # 0/1
    coef: np.ndarray = field(default_factory=lambda: COEF)  # of the label's (and the model's) logistic


@dataclass
class ScenarioData:
    name: str
    seed: int
    injected: str | tuple | None  # the feature (or "__label__"; or features, all expected) of the cause
    reference: list[tuple] = field(default_factory=list)  # reference rows (with label)
    predictions: list[tuple] = field(default_factory=list)  # window rows
    ground_truths: list[tuple] = field(default_factory=list)
    bystander: str | None = None  # a feature that moved but must not be named as the cause

    @property
    def expected_kind(self) -> str | None:
        return EXPECTED_KIND[self.name]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))


def _draw(
    rng: np.random.Generator, n: int, trap: tuple | None = None, shift: dict | None = None, coef: np.ndarray = COEF
) -> Frame:
    """``shift``: {feature index: +sd} applied before labelling; ``trap``: (shifted indexes, band index)."""
    x = rng.normal(0.0, 1.0, size=(n, len(NUMERIC)))
    for k, by in (shift or {}).items():
        x[:, k] += by
    c0 = rng.choice(CATEGORICAL["c0"], size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    c1 = rng.choice(CATEGORICAL["c1"], size=n)
    p = _true_probability(x, c0, coef)
    if trap is not None:
        shifted, band = trap
        inside = np.zeros(n, dtype=bool)
        for k in shifted:
            inside |= x[:, k] > TRAP_FROM
        inside &= (x[:, band] >= TRAP_BAND[0]) & (x[:, band] <= TRAP_BAND[1])
        p = np.where(inside, 0.02, p)
    y = (rng.random(n) < p).astype(int)
    return Frame(x, [[a, b] for a, b in zip(c0, c1)], y, coef)


def _true_probability(x: np.ndarray, c0, coef: np.ndarray = COEF) -> np.ndarray:
    return _sigmoid(INTERCEPT + x @ coef + np.array([C0_EFFECT.get(v, 0.0) for v in c0]))


def _score(frame: Frame) -> np.ndarray:
    """The deployed model: the true logistic function of what it receives (missing → 0, the mean)."""
    x = np.nan_to_num(frame.x, nan=0.0)
    return _true_probability(x, [row[0] for row in frame.c], frame.coef)


def _rows(frame: Frame, start: datetime, span: timedelta, prefix: str, with_label: bool) -> list[tuple]:
    scores = _score(frame)
    n = len(frame.y)
    out = []
    for i in range(n):
        ts = start + span * (i / n)
        num = [None if math.isnan(v) else float(v) for v in frame.x[i]]
        score = float(scores[i])
        row = (f"{prefix}{i}", ts, num, list(frame.c[i]), LABELS[int(score >= 0.5)], None, score, None)
        if with_label:
            row = row + (LABELS[int(frame.y[i])], None)
        out.append(row)
    return out


def _label_shift(rng: np.random.Generator, n: int, positive_share: float) -> Frame:
    """Rows whose label share is `positive_share`, each class drawn from the reference's P(x | y)."""
    pool = _draw(rng, 8 * n)
    pos, neg = np.flatnonzero(pool.y == 1), np.flatnonzero(pool.y == 0)
    n_pos = int(round(n * positive_share))
    idx = np.concatenate([rng.choice(pos, n_pos, replace=False), rng.choice(neg, n - n_pos, replace=False)])
    idx = rng.permutation(idx)
    return Frame(pool.x[idx], [pool.c[i] for i in idx], pool.y[idx])


def generate(name: str, seed: int) -> ScenarioData:
    """The scenario's reference, window rows and labels; deterministic for (name, seed)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}")
    rng = np.random.default_rng([SCENARIOS.index(name), seed])
    injected = bystander = None
    if name in ("saturation", "two_shifts"):
        shifted = (seed % 2,) if name == "saturation" else (0, 1)
        band = (4, 3, 2)[seed % 3]
        trap = (shifted, band)
        coef = COEF.copy()
        coef[list(shifted)] = SATURATION_COEF
        reference = _draw(rng, REFERENCE_ROWS, trap, coef=coef)
        window = _draw(rng, WINDOW_ROWS, trap, shift={k: SATURATION_SHIFT for k in shifted}, coef=coef)
        injected = NUMERIC[shifted[0]] if name == "saturation" else tuple(NUMERIC[k] for k in shifted)
        return _finish(name, seed, injected, reference, window)
    reference = _draw(rng, REFERENCE_ROWS)
    if name == "label_shift":
        window = _label_shift(rng, WINDOW_ROWS, 0.6)
        injected = "__label__"
    else:
        window = _draw(rng, WINDOW_ROWS)
    if name == "covariate_shift":
        k = seed % 3
        window.x[:, k] += 1.0
        window.y = (rng.random(WINDOW_ROWS) < _true_probability(window.x, [r[0] for r in window.c])).astype(int)
        injected = NUMERIC[k]
    elif name in ("concept_drift", "ignored_shift"):
        k = seed % len(NUMERIC) if name == "concept_drift" else seed % 3
        if name == "ignored_shift":
            window.x[:, 3 + seed % 2] += 1.5  # neither the model nor the label uses x3, x4
            bystander = NUMERIC[3 + seed % 2]
        segment = window.x[:, k] > np.quantile(reference.x[:, k], 0.8)
        window.y = np.where(segment, 1 - window.y, window.y)
        injected = NUMERIC[k]
    elif name == "missing_spike":
        k = seed % len(NUMERIC)
        window.x[rng.random(WINDOW_ROWS) < 0.4, k] = np.nan
        injected = NUMERIC[k]
    elif name == "unit_change":
        k = seed % len(NUMERIC)
        window.x[:, k] *= 1000.0
        injected = NUMERIC[k]
    elif name == "new_category":
        j = seed % 2
        for row in window.c:
            if rng.random() < 0.3:
                row[j] = "zeta"
        injected = ("c0", "c1")[j]
    return _finish(name, seed, injected, reference, window, bystander)


def _finish(name: str, seed: int, injected, reference: Frame, window: Frame, bystander=None) -> ScenarioData:
    data = ScenarioData(name, seed, injected, bystander=bystander)
    data.reference = _rows(reference, REFERENCE_DAY, timedelta(days=1), "r", with_label=True)
    data.predictions = _rows(window, WINDOW_DAY, timedelta(days=1), "p", with_label=False)
    data.ground_truths = [(f"p{i}", LABELS[int(v)], None, None) for i, v in enumerate(window.y)]
    return data


def load(conn, model_name: str, data: ScenarioData, settings: dict | None = None) -> None:
    """Create the model and store the scenario's rows through the ingest repositories (COPY)."""
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
    from seia.schema import Feature

    body = model_definition(model_name)
    with conn.transaction():
        model = ModelRepository(conn).insert(
            model_name,
            body["task"],
            [Feature(f["name"], f["type"]) for f in body["features"]],
            body["labels"],
            settings or {},
        )
        ReferenceRepository(conn).add(model.id, data.reference, replace=False)
    with conn.transaction():
        PredictionRepository(conn).add(model.id, data.predictions)
    with conn.transaction():
        GroundTruthRepository(conn).add(model.id, data.ground_truths)
