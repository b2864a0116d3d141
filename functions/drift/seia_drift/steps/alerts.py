"""Incidents: each changed window's flags per series, then the incidents of the series it touches.

A window says of each series (kind, subject, condition) that it is flagged or has insufficient data
(stored in alert_windows; an evaluated window without a row is clean). The incidents of a series are
derived from its windows (:mod:`seia_drift.incidents`) from the earliest changed window onwards (or
from the start of the incident still running there), keeping the id and the user's state of each
incident that persists, so a backfill, daily runs and late labels give the same incidents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from seia.repositories.incidents import SEVERITY_RANK, IncidentRow
from seia_drift import incidents as derivation
from seia_drift import multivariate as mv
from seia_drift.incidents import Barrier, Episode, SeriesWindow
from seia_drift.repositories.audit import FINDING_REFERENCE
from seia_drift.repositories.incidents import IncidentRepository, IncidentWrite, NewFlag, Series
from seia_drift.repositories.reference import FeatureBins, ReferenceRepository
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


DATA_QUALITY_CONDITIONS = ("missing_rate", "new_category", "unit_change")
ESTIMATED_METRICS = ("accuracy", "roc_auc")  # estimated metrics that raise incidents (estimated_<metric>)
KIND_OF_SOURCE = {
    "feature": "feature_drift",
    "prediction": "prediction_drift",
    "score": "prediction_drift",
    "label": "label_drift",
}


class AlertStep(Step):
    """Windows whose results changed → their flags → the incidents of the series they touch."""

    name = "alerts"

    def run(self, ctx: Context) -> dict[str, Any]:
        stored, bins = ctx.reference()
        if stored is None:
            return {"skipped": "no reference yet"}
        results, repo = ResultRepository(ctx.conn), IncidentRepository(ctx.conn)
        mark = ctx.state.get(ctx.model.id, self.name)
        windows, change = results.changed_windows(ctx.model.id, mark.change, ctx.model.parent_id)
        g, key = ctx.settings.window, stored.reference_key
        changed = [w for w in windows if w.granularity == g]
        parent = ReferenceRepository(ctx.conn).stored(ctx.model.parent_id) if ctx.model.parent_id else None
        for w in changed:
            flags: list[NewFlag] = []
            if w.status == "ok":
                for r in results.results(ctx.model.id, w.granularity, w.window_start):
                    flags += self._feature_flags(ctx, w, r, bins)
                flags += self._performance_flags(ctx, w, stored.metrics)
                flags += self._estimated_flags(ctx, w, stored.metrics)
            if ctx.model.parent_id is not None and parent is not None and flags:
                # A segment model raises what its parent does not: a series the whole model flags in the same
                # window is the parent's incident, not one more per segment (the segment's window is clean).
                covered = repo.flagged_series(ctx.model.parent_id, parent.reference_key, g, w.window_start)
                flags = [f for f in flags if f.state != "flagged" or (f.kind, f.subject, f.condition) not in covered]
            repo.replace_flags(ctx.model.id, key, g, w.window_start, w.window_end, flags)
        tally = {"opened": 0, "escalated": 0, "resolved": repo.resolve_stale(ctx.model.id, key, FINDING_REFERENCE)}
        if changed:
            for k, v in _derive(ctx, repo, key, min(w.window_start for w in changed)).items():
                tally[k] += v
        ctx.state.set(ctx.model.id, self.name, Watermark(change=change))
        return {"windows": len(windows)} | tally

    def _alert(
        self,
        w: WindowRow,
        kind: str,
        subject: str,
        condition: str,
        severity: str | None,
        message: str,
        details: dict[str, Any],
    ) -> NewFlag:
        assert severity is not None  # a drift verdict always has a severity
        details = details | {"rows": w.rows}
        return NewFlag(kind, subject, condition, "flagged", severity, message, details)

    def _feature_flags(
        self, ctx: Context, w: WindowRow, r: FeatureResult, bins: Mapping[str, FeatureBins]
    ) -> list[NewFlag]:
        if r.feature == mv.MULTIVARIATE:
            return multivariate_flags(w, r)
        source = bins[r.feature].source if r.feature in bins else "feature"
        if r.verdict == "insufficient_data":
            # too few rows for this feature: its series neither extend nor resolve an incident
            series = [(KIND_OF_SOURCE[source], "distribution")]
            series += [("data_quality", c) for c in DATA_QUALITY_CONDITIONS] if source == "feature" else []
            return [NewFlag(kind, r.feature, condition, "insufficient") for kind, condition in series]
        if r.verdict != "drift":
            return []
        s, out = r.statistics, []
        when = f"in the {w.granularity} from {w.window_start.isoformat()}"
        if "distribution" in r.signals:
            kind = KIND_OF_SOURCE[source]
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

    def _performance_flags(self, ctx: Context, w: WindowRow, reference: dict[str, Any] | None) -> list[NewFlag]:
        m, t = w.metrics or {}, ctx.settings.thresholds
        if not reference or (reference.get("n") or 0) < t.min_rows:
            return []
        metric = "accuracy" if reference.get("accuracy") is not None else "rmse" if reference.get("rmse") else None
        if metric is None:
            return []
        if (m.get("n") or 0) < ctx.settings.min_rows or m.get(metric) is None:
            # too few labelled rows yet (late labels may come): neither extends nor resolves
            return [NewFlag("performance", metric, metric, "insufficient")]
        note = f" (provisional: {100 * (w.coverage or 0):.0f}% of rows labelled)" if w.provisional else ""
        if metric == "accuracy":
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
        if metric == "rmse":
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

    def _estimated_flags(self, ctx: Context, w: WindowRow, reference: dict[str, Any] | None) -> list[NewFlag]:
        """An estimated metric (:mod:`seia.stats.estimation`) that dropped from the reference's realized
        value by ``performance_drop.accuracy`` or more, with the reference value above the estimate's
        band. Each flag says what the labels say of it (``details.labels``): ``pending`` while the
        window is provisional, then ``confirmed`` when the realized metric dropped as much, else
        ``refuted`` (an incident whose flagged windows are all refuted is resolved)."""
        m, t = w.metrics or {}, ctx.settings.thresholds
        estimated = m.get("estimated") or {}
        if not reference or not estimated or (reference.get("n") or 0) < t.min_rows:
            return []
        out = []
        threshold = ctx.settings.accuracy_drop
        for metric in ESTIMATED_METRICS:
            ref_value, e = reference.get(metric), estimated.get(metric)
            if ref_value is None or e is None:
                continue
            condition = f"estimated_{metric}"
            if (estimated.get("n") or 0) < ctx.settings.min_rows:
                out.append(NewFlag("performance", metric, condition, "insufficient"))
                continue
            drop = ref_value - e["value"]
            if drop < threshold or (e.get("upper") is not None and e["upper"] >= ref_value):
                continue
            realized = m.get(metric)
            if w.provisional or realized is None:
                labels = "pending"
            else:
                labels = "confirmed" if ref_value - realized >= threshold else "refuted"
            verdict = {
                "pending": "labels pending",
                "confirmed": f"confirmed by labels: realized {realized if realized is None else round(realized, 2)}",
                "refuted": f"refuted by labels: realized {realized if realized is None else round(realized, 2)}",
            }[labels]
            band = f"{e['lower']:.2f}–{e['upper']:.2f}" if e.get("lower") is not None else "n/a"
            out.append(
                self._alert(
                    w,
                    "performance",
                    metric,
                    condition,
                    _severity(drop / threshold, t),
                    f"Estimated {metric.replace('_', ' ')} dropped: {ref_value:.2f} → {e['value']:.2f} "
                    f"(band {band}) over {estimated['n']} rows in the {w.granularity} from "
                    f"{w.window_start.isoformat()}; {verdict}",
                    {"labels": labels, "reference": ref_value, "estimated": e, "realized": realized},
                )
            )
        return out


def multivariate_flags(w: WindowRow, r: FeatureResult) -> list[NewFlag]:
    """The window's multivariate_drift flag: its mean reconstruction error left the reference's band."""
    if r.verdict == "insufficient_data":
        return [NewFlag("multivariate_drift", r.feature, "reconstruction_error", "insufficient")]
    if r.verdict != "drift":
        return []
    s = r.statistics
    assert r.severity is not None  # a drift verdict always has a severity
    top = ", ".join(
        f"{c['feature']} {100 * c['share']:.0f}%" for c in (s.get("contributions") or [])[:3] if c["share"] >= 0.05
    )
    direction = "rose" if s["reconstruction_error"] > s["reconstruction_error_ref"] else "fell"
    message = (
        f"Multivariate drift ({r.severity}) in the {w.granularity} from {w.window_start.isoformat()}: the PCA "
        f"reconstruction error {direction} {_f(s['reconstruction_error_ref'])} → {_f(s['reconstruction_error'])} "
        f"(band {_f(s['lower_threshold'])}–{_f(s['upper_threshold'])}); the relations between features changed"
        + (f" (most of it in {top})" if top else "")
        + f"; {r.rows} rows"
    )
    details = {"effect_ratio": r.effect_ratio, "statistics": s, "rows": w.rows}
    return [NewFlag("multivariate_drift", r.feature, "reconstruction_error", "flagged", r.severity, message, details)]


# -- incidents from flags -------------------------------------------------------------------------
def _derive(ctx: Context, repo: IncidentRepository, key: str, since: datetime) -> dict[str, int]:
    """Re-derive the incidents of every series with a flag or an incident from `since` on."""
    model_id, g = ctx.model.id, ctx.settings.window
    starts: dict[Series, datetime] = {}
    for i in repo.touched(model_id, g, key, since):
        # an incident still running at `since`: its series is walked again from its first window
        if i.first_window_start < since:
            starts[i.series] = min(starts.get(i.series, since), i.first_window_start)
        else:
            starts.setdefault(i.series, since)
    earliest = min(starts.values(), default=since)
    flags: dict[Series, dict[datetime, SeriesWindow]] = {}
    for f in repo.flags(model_id, g, key, earliest):
        flags.setdefault(f.series, {})[f.window_start] = SeriesWindow(
            f.window_start, f.window_end, f.state, f.severity, f.message, f.details
        )
        if f.state == "flagged" and f.window_start >= since:
            starts.setdefault(f.series, since)
    evaluated = repo.windows(model_id, g, earliest)
    existing: dict[Series, list[IncidentRow]] = {}
    for i in repo.since(model_id, g, key, earliest):
        existing.setdefault(i.series, []).append(i)
    tally = {"opened": 0, "escalated": 0, "resolved": 0}
    for series in sorted(starts):
        start, own = starts[series], flags.get(series, {})
        walk = [
            own.get(w.window_start)
            or SeriesWindow(w.window_start, w.window_end, "clean" if w.status == "ok" else "insufficient")
            for w in evaluated
            if w.window_start >= start
        ]
        old = [i for i in existing.get(series, []) if i.first_window_start >= start]
        barriers = [Barrier(i.id, i.first_window_start, i.last_window_end) for i in old if i.resolved_by == "user"]
        found = derivation.episodes(walk, ctx.settings.resolve_after, barriers)
        for k, v in _write(ctx, repo, series, found, old, since).items():
            tally[k] += v
    return tally


def _write(
    ctx: Context,
    repo: IncidentRepository,
    series: Series,
    found: list[Episode],
    old: list[IncidentRow],
    since: datetime,
) -> dict[str, int]:
    """Store the episodes of a series in place of its incidents `old`: an episode keeps the id and the
    user's state of the incident it overlaps; an incident no episode overlaps any more is deleted."""
    model_id, g = ctx.model.id, ctx.settings.window
    kind, subject, condition, key = series
    tally = {"opened": 0, "escalated": 0, "resolved": 0}
    taken: set[int] = set()
    for e in found:
        match = next(
            (i for i in old if e.barrier is not None and i.id == e.barrier.incident_id),
            None,
        ) or next(
            (
                i
                for i in old
                if i.id not in taken
                and derivation.overlaps(
                    i.first_window_start, i.last_window_end, e.first_window_start, e.last_window_end
                )
            ),
            None,
        )
        by_user = match is not None and match.resolved_by == "user"
        refuted = derivation.refuted(kind, condition, e)
        if by_user or e.closed_window_end is not None or refuted:
            status, resolved_by = "resolved", "user" if by_user else "auto"
        else:
            status = "acknowledged" if match is not None and match.acknowledged_at else "open"
            resolved_by = None
        last = e.flagged[-1]
        write = IncidentWrite(
            kind,
            subject,
            condition,
            key,
            g,
            status,
            e.severity,
            e.peak_severity,
            e.first_window_start,
            e.last_window_end,
            len(e.flagged),
            resolved_by,
            None if by_user else e.closed_window_end or (e.last_window_end if refuted else None),
            derivation.summary(kind, subject, condition, g, e, status, ctx.model.segment),
            {"last_message": last.message, "first_message": e.flagged[0].message},
        )
        if match is None:
            incident_id = repo.insert(model_id, write)
            repo.add_change(incident_id, model_id, "opened", e.peak_severity)
            tally["opened"] += 1
            if status == "resolved":
                repo.add_change(incident_id, model_id, "resolved", e.severity)
                tally["resolved"] += 1
            continue
        taken.add(match.id)
        windows_changed = last.window_start >= since or (
            (match.first_window_start, match.last_window_end, match.windows_flagged)
            != (e.first_window_start, e.last_window_end, len(e.flagged))
        )
        repo.update(match.id, write, windows_changed)
        if SEVERITY_RANK[e.peak_severity] > SEVERITY_RANK[match.peak_severity]:
            repo.add_change(match.id, model_id, "escalated", e.peak_severity)
            tally["escalated"] += 1
        if status == "resolved" and match.status != "resolved":
            repo.add_change(match.id, model_id, "resolved", e.severity)
            tally["resolved"] += 1
        elif status != "resolved" and match.status == "resolved":
            repo.add_change(match.id, model_id, "opened", e.severity)
            tally["opened"] += 1
    repo.delete([i.id for i in old if i.id not in taken])
    return tally
