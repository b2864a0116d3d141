"""Estimated performance against NannyML 0.13's CBPE, on the synthetic datasets nannyml ships.

NannyML runs in its own virtualenv (``.local/venvs/nannyml``, created as for the history section):
it loads ``load_synthetic_binary_classification_dataset`` and
``load_synthetic_multiclass_classification_dataset``, fits CBPE on the reference, estimates the
analysis in chunks of 5,000 rows, and hands back its chunks (estimate, band, realized) and the rows.
Seia fits its calibration and sampling-error components on the same reference
(:func:`seia_drift.estimation.fit_reference`), stores each chunk as ten mergeable parts (as the
engine stores hours) and estimates the chunk from their merge (:mod:`seia.stats.estimation`).

Printed per metric: the largest |Seia − NannyML| over the chunks (goal ≤ 0.01), and how often the
realized value lies in each band (Seia's should be as often as NannyML's).

    make bench BENCH_ARGS="--only estimation"
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bench.common import row

CHUNK = 5000
PARTS = 10  # "hours" per chunk, merged into the chunk's estimate
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")

NANNYML_SCRIPT = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import nannyml as nml
out = {}
ref, ana, gt = nml.load_synthetic_binary_classification_dataset()
ana = ana.merge(gt, on="id")
est = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="work_home_actual",
               metrics=%(metrics)r, chunk_size=%(chunk)d, problem_type="classification_binary").fit(ref)
res = est.estimate(ana).filter(period="analysis").to_df()
np.savez(sys.argv[1] + "/binary.npz",
         ref_s=ref["y_pred_proba"].to_numpy(float), ref_p=ref["y_pred"].astype(str).to_numpy().astype("U"),
         ref_y=ref["work_home_actual"].astype(str).to_numpy().astype("U"),
         ana_s=ana["y_pred_proba"].to_numpy(float), ana_p=ana["y_pred"].astype(str).to_numpy().astype("U"),
         ana_y=ana["work_home_actual"].astype(str).to_numpy().astype("U"))
def chunks(res, metrics):
    rows = []
    for _, r in res.iterrows():
        c = {"start": int(r[("chunk", "start_index")]), "end": int(r[("chunk", "end_index")]) + 1}
        for m in metrics:
            c[m] = {k: float(r[(m, k)]) for k in ("value", "realized", "lower_confidence_boundary",
                                                   "upper_confidence_boundary", "sampling_error")}
        rows.append(c)
    return rows
out["binary"] = {"chunks": chunks(res, %(metrics)r), "calibrated": [bool(est.needs_calibration)]}
ref, ana, gt = nml.load_synthetic_multiclass_classification_dataset()
ana = ana.merge(gt, on="id")
labels = ["prepaid_card", "highstreet_card", "upmarket_card"]
proba = {c: "y_pred_proba_" + c for c in labels}
est = nml.CBPE(y_pred_proba=proba, y_pred="y_pred", y_true="y_true", metrics=%(metrics)r, chunk_size=%(chunk)d,
               problem_type="classification_multiclass").fit(ref)
res = est.estimate(ana).filter(period="analysis").to_df()
np.savez(sys.argv[1] + "/multiclass.npz",
         ref_s=ref[[proba[c] for c in labels]].to_numpy(float), ref_p=ref["y_pred"].astype(str).to_numpy().astype("U"),
         ref_y=ref["y_true"].astype(str).to_numpy().astype("U"),
         ana_s=ana[[proba[c] for c in labels]].to_numpy(float), ana_p=ana["y_pred"].astype(str).to_numpy().astype("U"),
         ana_y=ana["y_true"].astype(str).to_numpy().astype("U"))
calibrated = [type(est._calibrators[c]).__name__ != "NoopCalibrator" for c in labels]
out["multiclass"] = {"chunks": chunks(res, %(metrics)r), "labels": labels, "calibrated": calibrated}
print(json.dumps(out))
"""


def _nannyml(tmp: Path) -> dict:
    from bench.history import _nannyml_python

    python = _nannyml_python()
    script = tmp / "cbpe.py"
    script.write_text(NANNYML_SCRIPT % {"metrics": list(METRICS), "chunk": CHUNK})
    out = subprocess.run([str(python), str(script), str(tmp)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _realized(task: str, classes: list[str], scores, predicted, actual) -> dict[str, float | None]:
    """The realized metrics of a chunk, by the statistics core (as the engine computes them)."""
    from seia.stats.classification import BinaryCounts, binary_metrics

    if task == "binary_classification":
        y = actual == classes[0]
        m = binary_metrics(BinaryCounts.from_arrays(y, scores, predicted == classes[0]))
        return {k: float(getattr(m, k)) for k in METRICS}
    out: dict[str, list[float]] = {k: [] for k in ("precision", "recall", "f1", "roc_auc")}
    for i, c in enumerate(classes):
        m = binary_metrics(BinaryCounts.from_arrays(actual == c, scores[:, i], predicted == c))
        for k in out:
            out[k].append(getattr(m, k))
    realized: dict[str, float | None] = {"accuracy": float(np.mean(predicted == actual))}
    return realized | {k: float(np.mean(v)) for k, v in out.items()}


def compare(task: str, classes: list[str], data, nanny: dict) -> dict[str, dict[str, float]]:
    from seia.stats import estimation as core
    from seia_drift import estimation

    fit = estimation.fit_reference(task, classes, data["ref_s"], data["ref_p"], data["ref_y"])
    figures: dict[str, dict[str, float]] = {
        m: {"diff": 0.0, "seia_in": 0, "nannyml_in": 0, "chunks": 0} for m in METRICS
    }
    for chunk in nanny["chunks"]:
        a, b = chunk["start"], chunk["end"]
        s, p, y = data["ana_s"][a:b], data["ana_p"][a:b], data["ana_y"][a:b]
        parts = np.array_split(np.arange(b - a), PARTS)
        merged = core.merge_many(estimation.hour_stats(fit, s[i], p[i]) for i in parts)
        seia = core.estimate(merged, fit, task)
        assert seia is not None
        realized = _realized(task, classes, s, p, y)
        for m in METRICS:
            f, theirs, ours = figures[m], chunk[m], seia[m]
            f["diff"] = max(f["diff"], abs(ours["value"] - theirs["value"]))
            f["seia_in"] += ours["lower"] <= realized[m] <= ours["upper"]
            f["nannyml_in"] += (
                theirs["lower_confidence_boundary"] <= theirs["realized"] <= theirs["upper_confidence_boundary"]
            )
            f["band_ratio"] = max(
                f.get("band_ratio", 0.0),
                ours["sampling_error"] / theirs["sampling_error"] if theirs["sampling_error"] else 0,
            )
            f["chunks"] += 1
    figures["_calibrated"] = {"seia": fit["calibrated"], "nannyml": nanny["calibrated"]}  # type: ignore[dict-item]
    return figures


def measure(settings=None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        nanny = _nannyml(Path(tmp))
        binary = dict(np.load(Path(tmp) / "binary.npz"))
        multi = dict(np.load(Path(tmp) / "multiclass.npz"))
    out = {
        "binary": compare("binary_classification", ["1"], binary, nanny["binary"]),
        "multiclass": compare("multiclass_classification", nanny["multiclass"]["labels"], multi, nanny["multiclass"]),
    }
    for task, figures in out.items():
        cal = figures.pop("_calibrated")
        row(f"{task}: classes calibrated (Seia / NannyML)", f"{cal['seia']} / {cal['nannyml']}")
        for m in METRICS:
            f = figures[m]
            n = int(f["chunks"])
            row(
                f"  {m}: max |Seia - NannyML| over {n} chunks of {CHUNK:,}",
                f"{f['diff']:.4f}",
                f"realized in band: Seia {int(f['seia_in'])}/{n}, NannyML {int(f['nannyml_in'])}/{n}; "
                f"sampling error ≤ {f['band_ratio']:.2f}× NannyML's",
            )
    return out


if __name__ == "__main__":
    measure()
