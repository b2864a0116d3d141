"""Regression performance from mergeable sufficient statistics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RegressionMetrics:
    """MAE, RMSE and R² of a window; NaN where undefined."""

    n: int
    mae: float
    rmse: float
    r2: float


@dataclass(frozen=True)
class RegressionSums:
    """Sufficient statistics of a regressor over one window.

    Parameters
    ----------
    n : int
        Rows.
    sum_abs_error, sum_sq_error : float
        :math:`\\sum |e|` and :math:`\\sum e^2`, :math:`e = \\hat y - y`.
    sum_y, sum_y_sq : float
        :math:`\\sum y` and :math:`\\sum y^2` of the actual values.

    Examples
    --------
    >>> RegressionSums.from_arrays([1.0, 2.0], [1.5, 2.0])
    RegressionSums(n=2, sum_abs_error=0.5, sum_sq_error=0.25, sum_y=3.0, sum_y_sq=5.0)
    """

    n: int = 0
    sum_abs_error: float = 0.0
    sum_sq_error: float = 0.0
    sum_y: float = 0.0
    sum_y_sq: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", int(self.n))
        for name in ("sum_abs_error", "sum_sq_error", "sum_y", "sum_y_sq"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.n < 0 or self.sum_abs_error < 0 or self.sum_sq_error < 0 or self.sum_y_sq < 0:
            raise ValueError("n and the sums of absolute or squared values must be non-negative")

    @classmethod
    def from_arrays(cls, y_true: Iterable[float], y_pred: Iterable[float]) -> RegressionSums:
        """Sums from actual and predicted values.

        Raises
        ------
        ValueError
            On length mismatch or non-finite values.

        Examples
        --------
        >>> RegressionSums.from_arrays([], []).n
        0
        """
        y, p = [float(v) for v in y_true], [float(v) for v in y_pred]
        if len(y) != len(p):
            raise ValueError("y_true and y_pred must have the same length")
        if not all(map(math.isfinite, y + p)):
            raise ValueError("values must be finite")
        e = [b - a for a, b in zip(y, p, strict=True)]
        return cls(
            n=len(y),
            sum_abs_error=math.fsum(map(abs, e)),
            sum_sq_error=math.fsum(v * v for v in e),
            sum_y=math.fsum(y),
            sum_y_sq=math.fsum(v * v for v in y),
        )

    def merge(self, other: RegressionSums) -> RegressionSums:
        """Sums of both windows together.

        Examples
        --------
        >>> RegressionSums.from_arrays([1.0], [2.0]).merge(RegressionSums.from_arrays([3.0], [3.0])).sum_y
        4.0
        """
        if not isinstance(other, RegressionSums):
            raise ValueError("can only merge RegressionSums")
        return RegressionSums(
            n=self.n + other.n,
            sum_abs_error=self.sum_abs_error + other.sum_abs_error,
            sum_sq_error=self.sum_sq_error + other.sum_sq_error,
            sum_y=self.sum_y + other.sum_y,
            sum_y_sq=self.sum_y_sq + other.sum_y_sq,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict.

        Examples
        --------
        >>> RegressionSums(n=1, sum_y=2.0, sum_y_sq=4.0).to_dict()["sum_y_sq"]
        4.0
        """
        return {
            "kind": "regression",
            "n": self.n,
            "sum_abs_error": self.sum_abs_error,
            "sum_sq_error": self.sum_sq_error,
            "sum_y": self.sum_y,
            "sum_y_sq": self.sum_y_sq,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegressionSums:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> s = RegressionSums.from_arrays([1.0, 4.0], [2.0, 3.0])
        >>> RegressionSums.from_dict(s.to_dict()) == s
        True
        """
        if data.get("kind", "regression") != "regression":
            raise ValueError(f"not regression sums: kind={data.get('kind')!r}")
        return cls(**{k: v for k, v in data.items() if k != "kind"})


def regression_metrics(sums: RegressionSums) -> RegressionMetrics:
    """MAE, RMSE and R² from sufficient statistics.

    Notes
    -----
    :math:`\\mathrm{MAE} = \\sum|e|/n`, :math:`\\mathrm{RMSE} = \\sqrt{\\sum e^2 / n}`,
    :math:`R^2 = 1 - \\sum e^2 / S_{yy}` with
    :math:`S_{yy} = \\sum y^2 - (\\sum y)^2 / n` (NaN when :math:`S_{yy} \\le 0`).
    :math:`S_{yy}` loses precision when :math:`|\\bar y|` dwarfs the spread of
    :math:`y`, about :math:`10^{-16} \\bar y^2 / s_y^2` relative.

    Examples
    --------
    >>> m = regression_metrics(RegressionSums.from_arrays([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]))
    >>> m.mae, round(m.rmse, 4), m.r2
    (0.3333333333333333, 0.5774, 0.5)
    """
    n = sums.n
    if n == 0:
        return RegressionMetrics(0, math.nan, math.nan, math.nan)
    s_yy = sums.sum_y_sq - sums.sum_y * sums.sum_y / n
    return RegressionMetrics(
        n=n,
        mae=sums.sum_abs_error / n,
        rmse=math.sqrt(sums.sum_sq_error / n),
        r2=1.0 - sums.sum_sq_error / s_yy if s_yy > 0 else math.nan,
    )
