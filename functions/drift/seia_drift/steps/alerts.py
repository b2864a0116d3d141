"""Alerts: one per condition and window, raised from the window's results and performance."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from seia_drift.repositories.alerts import AlertRepository, NewAlert
from seia_drift.repositories.reference import FeatureBins
from seia_drift.repositories.results import FeatureResult, ResultRepository, WindowRow
from seia_drift.repositories.state import Watermark
from seia_drift.stats import normal_sf
from seia_drift.steps.base import Context, Step

UNIT_TOLERANCE = 0.15  # |log10(ratio) - k| for a power-of-ten rescaling k >= 1


def unit_change_factor(stats: dict[str, Any]) -> float | None:
    """10**k (|k| >= 1) when the window looks like the reference rescaled by 10**k.

    The spread decides (the mean of a centred feature says nothing); the mean must agree with the
    rescaling to within a quarter of the window's spread, so a shift is not taken for a unit change.
    """
    values: list[Any] = [stats.get(k) for k in ("mean_ref", "mean_cur", "std_ref", "std_cur")]
    m_r, m_c, s_r, s_c = values
    if not all(isinstance(v, (int, float)) for v in (m_r, m_c, s_r, s_c)) or s_r <= 0 or s_c <= 0:
        return None
    k_std = math.log10(s_c / s_r)
    k = round(k_std)
    if k == 0 or abs(k_std - k) > UNIT_TOLERANCE:
        return None
    factor = 10.0**k
    return factor if abs(m_c - factor * m_r) <= 0.25 * s_c else None


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def _severity(ratio: float, t: Any) -> str:
    return "high" if ratio >= t.high_factor else "medium" if ratio >= t.medium_factor else "low"


class AlertStep(Step):
    """Windows whose results changed → new alerts (the unique key keeps a condition to one alert)."""

    name = "alerts"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        results, alerts = ResultRepository(ctx.conn), AlertRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        windows, change = results.changed_windows(ctx.model.id, mark.change)
        raised = 0
        for w in windows:
            if w.granularity != ctx.settings.window or w.status != "ok":
                continue
            candidates = [
                a
                for r in results.results(ctx.model.id, w.granularity, w.window_start)
                for a in self._feature_alerts(ctx, w, r, bins)
            ]
            candidates += self._performance_alerts(ctx, w, stored.metrics)
            for alert in candidates:
                raised += alerts.insert(ctx.model.id, stored.reference_key, alert) is not None
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        return {"windows": len(windows), "new_alerts": raised}

    def _alert(
        self,
        w: WindowRow,
        kind: str,
        subject: str,
        condition: str,
        severity: str | None,
        message: str,
        details: dict[str, Any],
    ) -> NewAlert:
        assert severity is not None  # a drift verdict always has a severity
        details = details | {"window_end": w.window_end.isoformat(), "rows": w.rows}
        return NewAlert(w.granularity, w.window_start, kind, subject, condition, severity, message, details)

    def _feature_alerts(
        self, ctx: Context, w: WindowRow, r: FeatureResult, bins: Mapping[str, FeatureBins]
    ) -> list[NewAlert]:
        if r.verdict != "drift":
            return []
        s, out = r.statistics, []
        when = f"in the {w.granularity} from {w.window_start.isoformat()}"
        source = bins[r.feature].source if r.feature in bins else "feature"
        if "distribution" in r.signals:
            kind = {
                "feature": "feature_drift",
                "prediction": "prediction_drift",
                "score": "prediction_drift",
                "label": "label_drift",
            }[source]
            what = {
                "feature_drift": f"Feature {r.feature}",
                "prediction_drift": f"Predictions ({r.feature})",
                "label_drift": "Labels",
            }[kind]
            if r.kind == "numeric":
                measures = (
                    f"mean {_f(s.get('mean_ref'))} → {_f(s.get('mean_cur'))}, KS {_f(s.get('ks_statistic'))}, "
                    f"Wasserstein {_f(s.get('wasserstein_normed'))} σ, PSI {_f(s.get('psi'))}"
                )
            else:
                top = s.get("top_increase") or {}
                measures = (
                    f"'{top.get('category')}' {100 * top.get('cur_share', 0):.0f}% of rows "
                    f"(reference {100 * top.get('ref_share', 0):.0f}%), JS {_f(s.get('js_distance'))}, "
                    f"PSI {_f(s.get('psi'))}"
                )
            out.append(
                self._alert(
                    w,
                    kind,
                    r.feature,
                    "distribution",
                    r.severity,
                    f"{what} drifted ({r.severity}) {when}: {measures}; {r.rows} rows",
                    {"driver": r.driver, "effect_ratio": r.effect_ratio, "statistics": s},
                )
            )
        if "missing_rate" in r.signals:
            out.append(
                self._alert(
                    w,
                    "data_quality",
                    r.feature,
                    "missing_rate",
                    r.severity,
                    f"Data quality: {r.feature} is missing in {100 * s['missing_rate_cur']:.0f}% of rows {when} "
                    f"(reference {100 * s['missing_rate_ref']:.0f}%)",
                    {"statistics": s},
                )
            )
        if (
            r.kind == "categorical"
            and (s.get("unseen_share") or 0) >= ctx.settings.thresholds.unseen_share
            and "distribution" in r.signals
            and source == "feature"
        ):
            names = ", ".join(repr(c["category"]) for c in s.get("new_categories", []))
            out.append(
                self._alert(
                    w,
                    "data_quality",
                    r.feature,
                    "new_category",
                    r.severity,
                    f"Data quality: {r.feature} has categories never seen in the reference ({names}): "
                    f"{100 * s['unseen_share']:.0f}% of rows {when}",
                    {"statistics": s},
                )
            )
        factor = unit_change_factor(s) if r.kind == "numeric" and source == "feature" else None
        if factor is not None and "distribution" in r.signals:
            out.append(
                self._alert(
                    w,
                    "data_quality",
                    r.feature,
                    "unit_change",
                    "high",
                    f"Data quality: {r.feature} looks rescaled {when}: mean {_f(s['mean_ref'])} → {_f(s['mean_cur'])}, "
                    f"about {factor:g}× the reference (a unit change?)",
                    {"factor": factor, "statistics": s},
                )
            )
        return out

    def _performance_alerts(self, ctx: Context, w: WindowRow, reference: dict[str, Any] | None) -> list[NewAlert]:
        m, t = w.metrics or {}, ctx.settings.thresholds
        if not reference or (m.get("n") or 0) < ctx.settings.min_rows or (reference.get("n") or 0) < t.min_rows:
            return []
        note = f" (provisional: {100 * (w.coverage or 0):.0f}% of rows labelled)" if w.provisional else ""
        if "accuracy" in m and m["accuracy"] is not None and reference.get("accuracy") is not None:
            a_r, a_c, n_r, n_c = reference["accuracy"], m["accuracy"], reference["n"], m["n"]
            drop = a_r - a_c
            pooled = (a_r * n_r + a_c * n_c) / (n_r + n_c)
            se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n_r + 1 / n_c))
            pvalue = normal_sf(drop / se)
            if drop < ctx.settings.accuracy_drop or pvalue >= t.alpha:
                return []
            return [
                self._alert(
                    w,
                    "performance",
                    "accuracy",
                    "accuracy",
                    _severity(drop / ctx.settings.accuracy_drop, t),
                    f"Performance dropped: accuracy {a_r:.2f} → {a_c:.2f} over {n_c} labelled rows "
                    f"in the {w.granularity} from {w.window_start.isoformat()}{note}",
                    {"reference": reference, "window": m, "pvalue": pvalue, "provisional": w.provisional},
                )
            ]
        if m.get("rmse") is not None and reference.get("rmse"):
            rise = m["rmse"] / reference["rmse"] - 1
            if rise < ctx.settings.rmse_rise:
                return []
            return [
                self._alert(
                    w,
                    "performance",
                    "rmse",
                    "rmse",
                    _severity(rise / ctx.settings.rmse_rise, t),
                    f"Performance dropped: RMSE {reference['rmse']:.3g} → {m['rmse']:.3g} over {m['n']} "
                    f"labelled rows in the {w.granularity} from {w.window_start.isoformat()}{note}",
                    {"reference": reference, "window": m, "provisional": w.provisional},
                )
            ]
        return []
