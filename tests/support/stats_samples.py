"""Seeded samples shared by the statistics unit tests and the script that freezes scipy's values on them.

numpy's ``default_rng`` streams are stable across versions, so the tests regenerate exactly the
samples :mod:`tests.support.make_reference_values` computed scipy's reference values on.
"""

from __future__ import annotations

import numpy as np

SIZES = [(20_000, 5_000), (3_000, 20_000), (50_000, 800)]
SHAPES = [
    "normal",
    "shifted_normal",
    "lognormal",
    "bimodal",
    "integers",
    "integers_then_floats",
    "rounded",
    "unit_change_x1000",
    "above_reference",
    "below_reference",
    "collapsed",
]
LIGHT_TAILS = ["normal", "bimodal", "integers", "rounded", "above_reference", "below_reference", "collapsed"]
KS_SEEDS, WASSERSTEIN_SEEDS, OTHER_REFERENCE_SEEDS = range(8), range(4), range(5)
KSTWO_NS = [50, 100, 140, 141, 500, 2000, 4000, 20000, 100000, 10**6]
CHI2_DOFS = [1, 2, 3, 7, 30, 200]
CHI2_ISF_PROBABILITIES = [1e-9, 1e-6, 1e-3, 0.05, 0.5, 0.99]
# scipy's exact small-n KS branches against Pelz–Good / the asymptotic Smirnov tail (seia.stats.special)
PVALUE_TOL = 5e-5


def samples(shape: str, rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    if shape == "normal":
        return rng.normal(0, 1, n), rng.normal(0, 1, m)
    if shape == "shifted_normal":
        return rng.normal(0, 1, n), rng.normal(0.3, 1.2, m)
    if shape == "lognormal":
        return rng.lognormal(0, 1.5, n), rng.lognormal(0.2, 1.5, m)
    if shape == "bimodal":
        return (
            np.r_[rng.normal(-2, 0.5, n // 2), rng.normal(2, 0.5, n - n // 2)],
            np.r_[rng.normal(-2, 0.5, m // 3), rng.normal(2, 0.5, m - m // 3)],
        )
    if shape == "integers":
        return rng.poisson(3, n).astype(float), rng.poisson(3.4, m).astype(float)
    if shape == "integers_then_floats":
        return rng.poisson(3, n).astype(float), rng.uniform(0, 8, m)
    if shape == "rounded":
        return np.round(rng.normal(0, 1, n), 1), rng.normal(0, 1, m)
    if shape == "unit_change_x1000":
        return rng.lognormal(0, 1, n), 1000 * rng.lognormal(0, 1, m)
    if shape == "above_reference":
        return rng.normal(0, 1, n), rng.normal(10, 1, m)
    if shape == "below_reference":
        return rng.normal(0, 1, n), rng.normal(-10, 1, m)
    if shape == "collapsed":
        return rng.normal(0, 1, n), rng.normal(0.1, 0.001, m)
    raise AssertionError(shape)


def sample_runs(shapes, seeds):
    """(key, x, y) for every shape, seed and size, in a fixed order."""
    for shape in shapes:
        for seed in seeds:
            rng = np.random.default_rng(seed)
            for n, m in SIZES:
                x, y = samples(shape, rng, n, m)
                yield f"{shape}/{seed}/{n}/{m}", x, y


def other_reference(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference for the edges, x, y): edges fitted on another sample than the compared ones."""
    rng = np.random.default_rng(100 + seed)
    return rng.normal(0, 1, 10_000), rng.normal(0, 1, 20_000), rng.normal(0.2, 1.1, 5_000)


def poisson_pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.poisson(3, 4_000).astype(float), rng.poisson(3.1, 3_000).astype(float)


def kstwo_grid(n: int) -> list[float]:
    return np.concatenate([np.linspace(0.0005, 0.99, 300), np.random.default_rng(n).random(100) ** 3]).tolist()


def chi2_grid(dof: int) -> list[float]:
    return np.concatenate([np.linspace(0, 5 * dof + 40, 60), [1e-3, 0.5 * dof, 1e4]]).tolist()


def binary_data(seed: int, n: int = 5_000, rounded: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    score = 1 / (1 + np.exp(-(rng.normal(0, 1.5, n) + 1.2 * y - 0.6)))
    return y, np.round(score, 2) if rounded else score


def bh_pvalues() -> np.ndarray:
    return np.random.default_rng(0).beta(0.3, 1.0, 200)


_FROZEN: dict = {}


def frozen() -> dict:
    """scipy's values, as :mod:`tests.support.make_reference_values` froze them."""
    if not _FROZEN:
        import json
        from pathlib import Path

        path = Path(__file__).resolve().parents[1] / "unit" / "stats_reference_values.json"
        _FROZEN.update(json.loads(path.read_text()))
    return _FROZEN
