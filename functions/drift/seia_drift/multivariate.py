"""Multivariate drift by data reconstruction: a PCA of the reference, and each row's reconstruction error.

Univariate tests see each feature's marginal distribution; drift that lives in the relations between
features (two features whose correlation flips while each keeps its distribution) passes them all.
Here the reference's features are encoded into one matrix (numeric ones standardised, each categorical
one as indicator columns of its most frequent values, both imputed with the reference's mean or mode),
a PCA keeps the components that explain ``variance`` of it (NannyML's default share, 0.65), and each
row's **reconstruction error** is the Euclidean distance between its encoded values and their
projection back from those components. Rows that follow the reference's correlations reconstruct as
well as the reference did; rows that break them do not.

Each hour keeps a mergeable sketch of its rows' errors (count, mean, M2 by Chan's formula, a histogram
on bins fixed by the reference, and per feature the sum of squared residuals), so a window, a day or
any range is a merge. A window is flagged when its mean error leaves the reference's band
(:func:`band`). The fit is a plain JSON-safe dict, stored with the reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seia.stats.reconstruction import Verdict, Z, band, contributions, judge, merge
from seia_drift.repositories.incidents import Cause

__all__ = [
    "MULTIVARIATE",
    "Z",
    "Coded",
    "Columns",
    "Verdict",
    "band",
    "causes",
    "contributions",
    "encode",
    "errors",
    "fit",
    "judge",
    "merge",
    "sketch",
    "sketches_by",
]

MULTIVARIATE = "__multivariate__"
DEFAULT_VARIANCE = 0.65  # NannyML's DataReconstructionDriftCalculator default
TOP_CATEGORIES = 10  # indicator columns per categorical feature: its most frequent values
CAUSE_SHARE = 0.8  # causes: the leading features explaining this share of the change of the error
MAX_CAUSES = 5
CHUNKS = 10  # reference chunks: each chunk's errors come from a PCA fitted on the nine others
HISTOGRAM_BINS = 20  # error histogram: bins at the reference errors' 5% quantiles
BATCH_ROWS = 50_000  # rows encoded and projected at a time (sketches_by)


@dataclass(frozen=True)
class Coded:
    """A categorical column as codes into its distinct values (``pandas.factorize``): value i of the rows is
    ``names[codes[i]]``, code -1 is missing. What the profile step's read holds; encoded without a per-row
    lookup."""

    codes: np.ndarray  # int, one per row
    names: Sequence[str]

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, rows: slice) -> Coded:
        return Coded(self.codes[rows], self.names)


@dataclass(frozen=True)
class Columns:
    """The feature values of some rows: numeric ones (NaN missing) and categorical ones (None missing)."""

    numeric: np.ndarray  # (n, numeric features), float64
    # one column of n values per categorical feature: a sequence (None missing) or the same values coded
    categorical: Sequence[Any]  # Sequence[str | None] | Coded

    @property
    def rows(self) -> int:
        if self.numeric.ndim == 2 and self.numeric.shape[1]:
            return int(self.numeric.shape[0])
        return len(self.categorical[0]) if self.categorical else 0

    def __getitem__(self, rows: slice) -> Columns:
        """Some of the rows (a slice)."""
        n = self.rows
        numeric = self.numeric if self.numeric.ndim == 2 else self.numeric.reshape(n, 0)
        return Columns(numeric[rows], [column[rows] for column in self.categorical])


def canonical(values: Columns) -> Columns:
    """The same rows in an order that depends on their values only, shuffled with a fixed seed.

    The database returns rows in no set order (a restore, a moved tenant or a vacuum changes it), and the
    cross-fitted reference chunks are consecutive rows: sorting first makes the fit the same whatever the
    order the rows were read in, and the fixed shuffle keeps the chunks alike (sorted chunks would differ).

    >>> v = canonical(Columns(np.array([[2.0], [1.0], [np.nan]]), [["b", "a", None]]))
    >>> w = canonical(Columns(np.array([[np.nan], [2.0], [1.0]]), [[None, "b", "a"]]))
    >>> bool((np.nan_to_num(v.numeric) == np.nan_to_num(w.numeric)).all()) and list(v.categorical[0]) == list(w.categorical[0])
    True
    """
    n = values.rows
    if n <= 1:
        return values
    keys: list[np.ndarray] = []
    for column in values.categorical:
        if isinstance(column, Coded):  # the rank of each value among the distinct ones; missing (-1) first
            rank = np.empty(len(column.names) + 1, dtype=np.int64)
            rank[np.argsort(np.array(list(column.names), dtype=object), kind="stable")] = np.arange(len(column.names))
            rank[-1] = -1
            keys.append(rank[np.asarray(column.codes, dtype=np.int64)])
        else:
            keys.append(np.array(["\x00" if v is None else "\x01" + v for v in column], dtype=object).astype(str))
    numeric = values.numeric if values.numeric.ndim == 2 else values.numeric.reshape(n, 0)
    for j in range(numeric.shape[1]):
        keys.append(np.nan_to_num(numeric[:, j], nan=-np.inf))
    order = np.lexsort(keys[::-1]) if keys else np.arange(n)
    order = order[np.random.default_rng(20261201).permutation(n)]
    return Columns(
        numeric[order],
        [
            Coded(np.asarray(column.codes)[order], column.names)
            if isinstance(column, Coded)
            else [column[i] for i in order]
            for column in values.categorical
        ],
    )


def encode(fit: Mapping[str, Any], values: Columns) -> np.ndarray:
    """The rows as the fit's standardised columns: numeric, then each categorical feature's indicators.

    A missing numeric value is the reference mean (0 once standardised); a missing category is the
    reference's mode; a category outside the top values has every indicator 0.
    """
    n = values.rows
    blocks = []
    if fit["numeric"]:
        x = np.array(values.numeric, dtype=np.float64, copy=True)
        means = np.array([c["mean"] for c in fit["numeric"]])
        stds = np.array([c["std"] for c in fit["numeric"]])
        x = (x - means) / stds
        x[~np.isfinite(x)] = 0.0
        blocks.append(x)
    for spec, column in zip(fit["categorical"], values.categorical):
        levels = spec["levels"]
        index = {v: i for i, v in enumerate(levels)}
        if isinstance(column, Coded):  # each distinct value looked up once; code -1 (missing) takes the last entry
            table = np.array([index.get(v, -1) for v in column.names] + [index.get(spec["mode"], -1)], dtype=np.int64)
            codes = table[np.asarray(column.codes, dtype=np.int64)]
        else:
            codes = np.fromiter(
                (index.get(spec["mode"] if v is None else v, -1) for v in column), dtype=np.int64, count=n
            )
        onehot = np.zeros((n, len(levels)))
        hit = codes >= 0
        onehot[np.flatnonzero(hit), codes[hit]] = 1.0
        blocks.append((onehot - np.asarray(spec["means"])) / np.asarray(spec["stds"]))
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _groups(fit: Mapping[str, Any]) -> list[tuple[str, slice]]:
    """Each feature's columns in the encoded matrix."""
    out, at = [], 0
    for c in fit["numeric"]:
        out.append((c["feature"], slice(at, at + 1)))
        at += 1
    for c in fit["categorical"]:
        out.append((c["feature"], slice(at, at + len(c["levels"]))))
        at += len(c["levels"])
    return out


def _residuals(x: np.ndarray, components: np.ndarray) -> np.ndarray:
    residual: np.ndarray = x - (x @ components.T) @ components
    return residual


def errors(fit: Mapping[str, Any], values: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Each row's reconstruction error, and its squared residual per feature (rows × features)."""
    residual = _residuals(encode(fit, values), np.asarray(fit["components"]))
    return _split(fit, residual)


def _split(fit: Mapping[str, Any], residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    squared = residual * residual
    per_feature = np.column_stack([squared[:, s].sum(axis=1) for _, s in _groups(fit)])
    return np.sqrt(squared.sum(axis=1)), per_feature


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and principal axes (rows) of x's covariance.

    From the p × p scatter matrix (``einsum``'s own loop, then ``eigh``), not an SVD of the n × p
    rows: the same axes, and no multi-threaded LAPACK call on a tall matrix (on a busy host its
    threads fought over the cores and one fit took seconds instead of a tenth of one).
    """
    centred = x - x.mean(axis=0)
    scatter = np.einsum("ij,ik->jk", centred, centred, optimize=False) / max(len(x), 1)
    return _eigen(scatter)


def _eigen(scatter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(scatter)
    order = np.argsort(values)[::-1]
    return np.maximum(values[order], 0.0), vectors[:, order].T


def _signed(axes: np.ndarray) -> np.ndarray:
    """Principal axes with their signs fixed (largest coordinate positive), so the fit is reproducible."""
    signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
    signed: np.ndarray = axes * signs[:, None]
    return signed


def _components(x: np.ndarray, k: int) -> np.ndarray:
    """The first k principal axes of x (rows centred), signs fixed so the fit is reproducible."""
    return _signed(_spectrum(x)[1][:k])


class _Scatters:
    """The covariance of x and of x without any one of its chunks, from each chunk's sums (one pass over
    the rows, where a scatter matrix of each "all but one chunk" would pass over them once per chunk).

    The rows are centred on the mean of all of them first, so the sums of squares carry no large mean
    (the chunks' own means, of order 1/√rows, are taken out exactly: S = Q − n·m·mᵀ).
    """

    def __init__(self, x: np.ndarray, bounds: np.ndarray):
        centre = x.mean(axis=0)
        self.rows, self.sums, self.squares = [], [], []
        for a, b in zip(bounds[:-1], bounds[1:]):
            part = x[a:b] - centre
            self.rows.append(b - a)
            self.sums.append(part.sum(axis=0))
            self.squares.append(np.einsum("ij,ik->jk", part, part, optimize=False))
        self.total_rows = sum(self.rows)
        self.total_sum = np.sum(self.sums, axis=0)
        self.total_squares = np.sum(self.squares, axis=0)

    def whole(self) -> np.ndarray:
        n = max(self.total_rows, 1)
        mean = self.total_sum / n
        scatter: np.ndarray = self.total_squares / n - np.outer(mean, mean)
        return scatter

    def without(self, chunk: int) -> np.ndarray:
        n = max(self.total_rows - self.rows[chunk], 1)
        mean = (self.total_sum - self.sums[chunk]) / n
        scatter: np.ndarray = (self.total_squares - self.squares[chunk]) / n - np.outer(mean, mean)
        return scatter


def fit(
    features: Sequence[tuple[str, str, int]], values: Columns, variance: float = DEFAULT_VARIANCE
) -> dict[str, Any] | None:
    """Fit the reconstruction on the reference's rows.

    Parameters
    ----------
    features : sequence of (name, kind, position)
        The model's features in the order of ``values``: numeric ones first, then categorical ones;
        ``position`` (their place in the stored rows) is kept in the fit for the readers of new rows.
    values : Columns
        The reference rows.
    variance : float
        Share of the encoded columns' variance the kept components explain (0 < variance < 1): the
        fewest components whose cumulative share exceeds it (scikit-learn's rule for a float
        ``n_components``, which NannyML uses).

    Returns
    -------
    dict or None
        The fit (JSON-safe), or None when there is nothing to reconstruct: fewer than two encoded
        columns or fewer than ``2 * CHUNKS`` rows.

    Notes
    -----
    The band needs the reference's error as new rows would see it; errors of the rows a PCA was
    fitted on are biased low (the fit adapts to their noise). So the reference is cut into
    ``CHUNKS`` consecutive chunks and each chunk's errors come from a PCA with the same number of
    components fitted on the other chunks (cross-fitting): their mean and standard deviation, and
    the spread of the chunk means, define the band (:func:`band`).
    """
    if not 0 < variance < 1:
        raise ValueError(f"variance must be in (0, 1), got {variance}")
    n = values.rows
    names = [f for f, _, _ in features]
    numeric_names = [(f, pos) for f, k, pos in features if k == "numeric"]
    categorical_names = [(f, pos) for f, k, pos in features if k == "categorical"]
    spec: dict[str, Any] = {"numeric": [], "categorical": []}
    for j, (name, position) in enumerate(numeric_names):
        numbers = values.numeric[:, j]
        finite = numbers[np.isfinite(numbers)]
        mean = float(finite.mean()) if finite.size else 0.0
        std = float(finite.std()) if finite.size else 0.0
        spec["numeric"].append({"feature": name, "position": position, "mean": mean, "std": std if std > 0 else 1.0})
    for (name, position), column in zip(categorical_names, values.categorical):
        counts = _value_counts(column)
        levels = sorted(counts, key=lambda v: (-counts[v], v))[:TOP_CATEGORIES]
        if not levels:
            continue
        spec["categorical"].append(
            {"feature": name, "position": position, "levels": levels, "mode": levels[0], "means": [], "stds": []}
        )
    kept = {c["feature"] for c in spec["numeric"]} | {c["feature"] for c in spec["categorical"]}
    cat_index = {name: i for i, (name, _) in enumerate(categorical_names)}
    categorical = [values.categorical[cat_index[c["feature"]]] for c in spec["categorical"]]
    # indicator means and spreads over the (mode-imputed) reference
    for c, column in zip(spec["categorical"], categorical):
        c["means"], c["stds"] = [0.0] * len(c["levels"]), [1.0] * len(c["levels"])  # raw indicators first
        raw = encode({"numeric": [], "categorical": [c]}, Columns(np.zeros((n, 0)), [column]))
        c["means"] = raw.mean(axis=0).tolist()
        c["stds"] = [s if s > 0 else 1.0 for s in raw.std(axis=0).tolist()]
    x = encode(spec, Columns(values.numeric, categorical))
    p = x.shape[1]
    if p < 2 or n < 2 * CHUNKS:
        return None
    bounds = np.linspace(0, n, CHUNKS + 1).astype(int)
    scatters = _Scatters(x, bounds)
    eigenvalues, axes = _eigen(scatters.whole())
    share = eigenvalues / max(float(eigenvalues.sum()), 1e-300)
    k = int(np.searchsorted(np.cumsum(share), variance, side="right")) + 1
    k = max(1, min(k, p - 1))
    components = _signed(axes[:k])
    # cross-fitted errors of the reference (see Notes)
    ref_errors = np.empty(n)
    ref_sq = np.empty((n, len(_groups(spec))))
    chunk_means = []
    for j, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        axes = _signed(_eigen(scatters.without(j))[1][:k])  # the PCA of the other chunks
        ref_errors[a:b], ref_sq[a:b] = _split(spec, _residuals(x[a:b], axes))
        chunk_means.append(float(ref_errors[a:b].mean()))
    edges = np.unique(np.quantile(ref_errors, np.linspace(0, 1, HISTOGRAM_BINS + 1)[1:-1]))
    mean = float(ref_errors.mean())
    in_sample = float(_split(spec, _residuals(x, components))[0].mean())
    spec.update(
        features=[f for f in names if f in kept],
        components=components.tolist(),
        n_components=k,
        explained_variance=float(share[:k].sum()),
        variance=variance,
        reference={
            "n": n,
            "mean": mean,
            "m2": float(((ref_errors - mean) ** 2).sum()),
            "mean_in_sample": in_sample,
            "chunk_rows": float(n / CHUNKS),
            "chunk_means": chunk_means,
            "contributions": (ref_sq.mean(axis=0)).tolist(),
        },
        edges=edges.tolist(),
    )
    spec["reference"]["histogram"] = np.bincount(
        np.searchsorted(edges, ref_errors, side="right"), minlength=len(edges) + 1
    ).tolist()
    return spec


def _value_counts(column: Any) -> dict[str, int]:
    """How often each value of a categorical column occurs (missing ones left out)."""
    if isinstance(column, Coded):
        codes = np.asarray(column.codes, dtype=np.int64)
        counts = np.bincount(codes[codes >= 0], minlength=len(column.names))
        return {name: int(c) for name, c in zip(column.names, counts.tolist()) if c}
    out: dict[str, int] = {}
    for v in column:
        if v is not None:
            out[v] = out.get(v, 0) + 1
    return out


# -- hourly sketches ----------------------------------------------------------------------------------
def sketch(fit: Mapping[str, Any], values: Columns) -> dict[str, Any]:
    """The mergeable sketch of some rows' reconstruction errors.

    ``n``, ``mean``, ``m2`` (sum of squared deviations), ``histogram`` (counts on the fit's
    ``edges``), ``sq`` (per feature of ``fit["features"]``, the sum of squared residuals).
    """
    e, sq = errors(fit, values)
    return _sketch(fit, e, sq)


def sketches_by(
    fit: Mapping[str, Any], groups: np.ndarray, values: Columns, batch: int = BATCH_ROWS
) -> dict[int, dict[str, Any]]:
    """One sketch per value of ``groups`` (e.g. the rows' epoch hours), the rows projected once, ``batch``
    rows at a time (the encoded matrix and its residuals are several times the size of the values)."""
    n = values.rows
    if n <= batch:
        e, sq = errors(fit, values)
    else:
        parts = [errors(fit, values[a : a + batch]) for a in range(0, n, batch)]
        e, sq = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    order = np.argsort(groups, kind="stable")
    keys, starts = np.unique(groups[order], return_index=True)
    ends = [*starts[1:].tolist(), len(order)]
    return {int(key): _sketch(fit, e[order[a:b]], sq[order[a:b]]) for key, a, b in zip(keys, starts, ends)}


def _sketch(fit: Mapping[str, Any], e: np.ndarray, sq: np.ndarray) -> dict[str, Any]:
    n = len(e)
    if not n:
        return empty(fit)
    mean = float(e.mean())
    return {
        "n": n,
        "mean": mean,
        "m2": float(((e - mean) ** 2).sum()),
        "histogram": np.bincount(
            np.searchsorted(np.asarray(fit["edges"]), e, side="right"), minlength=len(fit["edges"]) + 1
        ).tolist(),
        "sq": sq.sum(axis=0).tolist(),
    }


def empty(fit: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "n": 0,
        "mean": 0.0,
        "m2": 0.0,
        "histogram": [0] * (len(fit["edges"]) + 1),
        "sq": [0.0] * len(fit["features"]),
    }


def causes(windows: Sequence[Mapping[str, Any]]) -> list[Cause]:
    """Features ranked by their part of the change of the reconstruction error over an incident's
    flagged windows (their statistics, as :func:`judge` stored them): each feature's mean squared
    residual per row in the windows together (weighted by rows) against the reference's.

    A feature whose own distribution did not move can still rank first: the residual grows on the
    features whose relation to the others broke (for two features whose correlation flipped, those two).
    """
    rows = 0
    ref: dict[str, float] = {}
    cur: dict[str, float] = {}
    for w in windows:
        n = int(w.get("rows") or 0)
        for c in w.get("contributions") or []:
            ref[c["feature"]] = c["ref"]
            cur[c["feature"]] = cur.get(c["feature"], 0.0) + n * c["cur"]
        rows += n
    if not rows or not ref:
        return []
    merged = contributions(
        {"features": list(ref), "reference": {"contributions": list(ref.values())}},
        {"n": rows, "sq": [cur.get(f, 0.0) for f in ref]},
    )
    rising = sum(c["cur"] for c in merged) >= sum(c["ref"] for c in merged)
    out: list[Cause] = []
    explained = 0.0
    # The leading features that together explain most of the change (CAUSE_SHARE), at most MAX_CAUSES: a
    # feature with a sliver of it is not a cause, and listing every feature would name the calm ones too.
    for c in sorted(merged, key=lambda c: -c["share"]):
        if c["share"] <= 0 or explained >= CAUSE_SHARE or len(out) >= MAX_CAUSES:
            break
        explained += c["share"]
        verb = "rose" if rising else "fell"
        sentence = (
            f"{c['feature']}: its squared reconstruction residual {verb} {c['ref']:.3g} → {c['cur']:.3g} per row, "
            f"{100 * c['share']:.0f}% of the change of the reconstruction error: its relation to the other "
            "features changed (its own distribution need not have)"
        )
        out.append(Cause(c["feature"], None, c["share"], sentence, {"cause": "multivariate", **c}))
    return out
