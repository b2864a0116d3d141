"""Rows of the reference tables (drift_references, drift_features).

The drift engine writes them (``seia_drift.repositories.reference``) and the query API reads them
(``seia.repositories.drift``); each keeps its own SQL, both use these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredReference:
    """A model's reference (drift_references): what its results are computed against."""

    reference_key: str
    source: str
    window_start: datetime | None
    window_end: datetime | None
    rows: int
    labeled: int
    performance: dict | None
    metrics: dict | None


@dataclass(frozen=True)
class FeatureBins:
    """A feature's bins, segments and reference sketch (drift_features), fixed from the reference."""

    feature: str
    kind: str
    source: str
    position: int
    edges: list[float] | None
    segments: list[float] | None
    reference: dict
