"""Seeded data where only the relation between two features changes (multivariate drift).

The model and features of :mod:`tests.support.scenarios` (x0..x4, c0, c1; the deployed model ignores x3
and x4). In the reference x3 and x4 are correlated (ρ = +0.8); in the ``flip`` window ρ = −0.8, in the
``stationary`` one it stays +0.8. Each of x3 and x4 is standard normal in both (x4 = ρ·x3 + √(1−ρ²)·z),
so every marginal distribution, the score and the labels are the same: only the joint one moved.
"""

from __future__ import annotations

import numpy as np

from tests.support import scenarios

RHO = 0.8
CORRELATED = ("x3", "x4")
CASES = ("flip", "stationary")


def _correlate(frame: scenarios.Frame, rng: np.random.Generator, rho: float) -> scenarios.Frame:
    z = rng.normal(0.0, 1.0, size=len(frame.y))
    frame.x[:, 4] = rho * frame.x[:, 3] + np.sqrt(1 - rho * rho) * z
    return frame


def generate(case: str, seed: int) -> scenarios.ScenarioData:
    """The reference (4,000 rows) and one day's window (2,000 rows) with labels; deterministic."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}")
    rng = np.random.default_rng([100 + CASES.index(case), seed])
    reference = _correlate(scenarios._draw(rng, scenarios.REFERENCE_ROWS), rng, RHO)
    window = _correlate(scenarios._draw(rng, scenarios.WINDOW_ROWS), rng, -RHO if case == "flip" else RHO)
    return scenarios._finish("stationary", seed, CORRELATED if case == "flip" else None, reference, window)
