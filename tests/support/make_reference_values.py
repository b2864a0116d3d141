"""Freeze scipy's values for the statistics core's unit tests (run by hand; the tests never call scipy).

    PYTHONPATH=. .venv/bin/python -m tests.support.make_reference_values

writes ``tests/unit/stats_reference_values.json``: exact two-sample KS and Wasserstein statistics
on raw samples (the sketches must stay within their guarantees of them), ``kstwo.sf``,
``chi2.sf``, ``chi2.isf``, ``norm.sf``, Jensen–Shannon, Benjamini–Hochberg and rank AUCs. Rerun it after
changing a sample in :mod:`tests.support.stats_samples`, and commit the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy
import scipy.stats
from scipy.spatial.distance import jensenshannon

from tests.support import stats_samples as samples

OUT = Path(__file__).resolve().parents[1] / "unit" / "stats_reference_values.json"


def exact_auc(y: np.ndarray, score: np.ndarray) -> float:
    ranks = scipy.stats.rankdata(score)
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    out: dict = {"scipy": scipy.__version__, "numpy": np.__version__}
    out["ks_2samp"] = {
        k: float(scipy.stats.ks_2samp(x, y).statistic)
        for k, x, y in samples.sample_runs(samples.SHAPES, samples.KS_SEEDS)
    }
    out["ks_other_reference"] = [
        float(scipy.stats.ks_2samp(x, y).statistic)
        for x, y in (samples.other_reference(s)[1:] for s in samples.OTHER_REFERENCE_SEEDS)
    ]
    x, y = samples.poisson_pair()
    r = scipy.stats.ks_2samp(x, y, method="asymp")
    out["ks_asymp_poisson"] = {"statistic": float(r.statistic), "pvalue": float(r.pvalue)}
    out["wasserstein"] = {
        k: float(scipy.stats.wasserstein_distance(x, y))
        for k, x, y in samples.sample_runs([*samples.LIGHT_TAILS, "lognormal"], samples.WASSERSTEIN_SEEDS)
    }
    out["kstwo_sf"] = {
        str(n): [[d, float(scipy.stats.kstwo.sf(d, n))] for d in samples.kstwo_grid(n)] for n in samples.KSTWO_NS
    }
    out["chi2_sf"] = {
        str(k): [[v, float(scipy.stats.chi2.sf(v, k))] for v in samples.chi2_grid(k)] for k in samples.CHI2_DOFS
    }
    out["chi2_isf"] = {
        str(k): [[p, float(scipy.stats.chi2.isf(p, k))] for p in samples.CHI2_ISF_PROBABILITIES]
        for k in samples.CHI2_DOFS
    }
    out["norm_sf"] = [[z, float(scipy.stats.norm.sf(z))] for z in np.linspace(-8, 38, 93).tolist()]
    out["jensenshannon"] = {
        "50_50_vs_90_10": float(jensenshannon([0.5, 0.5], [0.9, 0.1], base=2)),
        "90_10_0_vs_50_0_50": float(jensenshannon([0.9, 0.1, 0], [0.5, 0, 0.5], base=2)),
    }
    out["bh_beta"] = scipy.stats.false_discovery_control(samples.bh_pvalues(), method="bh").tolist()
    out["auc"] = {
        f"{seed}/{rounded}": exact_auc(*samples.binary_data(seed, rounded=rounded))
        for seed in range(10)
        for rounded in (False, True)
    }
    OUT.write_text(json.dumps(out, indent=0) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
