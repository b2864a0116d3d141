"""Incidents from per-window flags: one per episode of a series (model, kind, subject, condition, reference).

An episode opens at a flagged window, extends over the later flagged windows (counting them), and is
resolved by ``resolve_after`` consecutive clean windows; a window with insufficient data neither
extends nor resolves it. A user's resolve closes it at the end of its last flagged window: a flag after
that opens a new episode.

The walk is a pure function of the series' windows, so the incidents of a history are the same
whether it is derived in one run or window by window, and when old windows are re-evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seia.repositories.incidents import SEVERITY_RANK


@dataclass(frozen=True)
class SeriesWindow:
    """What one evaluated window says about a series."""

    window_start: datetime
    window_end: datetime
    state: str  # flagged, clean, insufficient
    severity: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Barrier:
    """An incident a user resolved: an episode that starts within it ends with it."""

    incident_id: int
    first_window_start: datetime
    last_window_end: datetime


@dataclass
class Episode:
    flagged: list[SeriesWindow]
    closed_window_end: datetime | None = None  # resolved by clean windows: the end of the last of them
    clean_since: datetime | None = None  # the first of those clean windows
    barrier: Barrier | None = None

    @property
    def first_window_start(self) -> datetime:
        return self.flagged[0].window_start

    @property
    def last_window_end(self) -> datetime:
        return self.flagged[-1].window_end

    @property
    def severity(self) -> str:
        severity = self.flagged[-1].severity
        assert severity is not None  # a flagged window has a severity
        return severity

    @property
    def peak_severity(self) -> str:
        return max((w.severity or "low" for w in self.flagged), key=SEVERITY_RANK.__getitem__)


def episodes(windows: list[SeriesWindow], resolve_after: int, barriers: Sequence[Barrier] = ()) -> list[Episode]:
    """The episodes of a series, from its windows in time order.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> day = lambda i, s: SeriesWindow(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i),
    ...                                 datetime(2026, 1, 2, tzinfo=UTC) + timedelta(days=i), s, "low")
    >>> states = ["flagged", "clean", "insufficient", "flagged", "clean", "clean", "clean", "flagged"]
    >>> [(e.first_window_start.day, len(e.flagged), e.closed_window_end is not None)
    ...  for e in episodes([day(i, s) for i, s in enumerate(states)], resolve_after=3)]
    [(1, 2, True), (8, 1, False)]
    """
    if resolve_after < 1:
        raise ValueError("resolve_after must be at least 1")
    out: list[Episode] = []
    current: Episode | None = None
    clean = 0
    for w in windows:
        if current is not None and current.barrier and w.window_start >= current.barrier.last_window_end:
            out.append(current)
            current, clean = None, 0
        if w.state == "flagged":
            if current is None:
                barrier = next(
                    (b for b in barriers if b.first_window_start <= w.window_start < b.last_window_end), None
                )
                current = Episode([w], barrier=barrier)
            else:
                current.flagged.append(w)
                current.clean_since = None
            clean = 0
        elif w.state == "clean" and current is not None:
            clean += 1
            if clean == 1:
                current.clean_since = w.window_start
            if clean >= resolve_after and current.barrier is None:
                current.closed_window_end = w.window_end
                out.append(current)
                current, clean = None, 0
    if current is not None:
        out.append(current)
    return out


def refuted(kind: str, condition: str, episode: Episode) -> bool:
    """An estimated-performance episode whose every flagged window the labels refuted: resolved.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> w = lambda labels: SeriesWindow(t, t, "flagged", "low", "", {"labels": labels})
    >>> refuted("performance", "estimated_accuracy", Episode([w("refuted"), w("refuted")]))
    True
    >>> refuted("performance", "estimated_accuracy", Episode([w("refuted"), w("pending")]))
    False
    """
    return (
        kind == "performance"
        and condition.startswith("estimated_")
        and all(w.details.get("labels") == "refuted" for w in episode.flagged)
    )


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def _when(t: datetime, granularity: str) -> str:
    return t.strftime("%Y-%m-%d %H:00 UTC" if granularity == "hour" else "%Y-%m-%d")


def summary(
    kind: str, subject: str, condition: str, granularity: str, episode: Episode, status: str, segment: str | None = None
) -> str:
    """One sentence in plain words: what (in which segment), on how many windows, when, how bad, and where it
    stands."""
    what = {
        "feature_drift": f"Feature {subject} drifted",
        "prediction_drift": f"Predictions ({subject}) drifted",
        "label_drift": "Labels drifted",
        "performance": "RMSE rose"
        if condition == "rmse"
        else f"Estimated {subject.replace('_', ' ')} dropped"
        if condition.startswith("estimated_")
        else f"{subject.capitalize()} dropped",
        "multivariate_drift": "The relations between features drifted (multivariate reconstruction error)",
    }.get(kind)
    if what is None:
        what = {
            "missing_rate": f"{subject} was missing more often than in the reference",
            "new_category": f"{subject} had categories never seen in the reference",
            "unit_change": f"{subject} looked rescaled (a unit change?)",
        }.get(condition, f"Data quality of {subject} ({condition})")
    if segment is not None:
        field, _, value = segment.partition(":")
        what += f" in {field} = {value}"
    n = len(episode.flagged)
    first, last = episode.first_window_start, episode.flagged[-1].window_start
    if n == 1:
        when = f"in the {granularity} of {_when(first, granularity)}"
    else:
        when = f"in {n} {granularity}s between {_when(first, granularity)} and {_when(last, granularity)}"
    labels = {w.details.get("labels") for w in episode.flagged} if condition.startswith("estimated_") else set()
    if status == "resolved" and labels == {"refuted"}:
        where = "resolved: the labels refuted the estimate"
    elif status == "resolved" and episode.closed_window_end is not None and episode.clean_since is not None:
        where = f"resolved, clean again since {_when(episode.clean_since, granularity)}"
    elif status == "resolved":
        where = "resolved by a user"
    else:
        where = "still open"
    if "confirmed" in labels and status != "resolved":
        where += ", confirmed by labels"
    elif labels == {"pending"}:
        where += ", labels pending"
    return f"{what} {when} (at worst {episode.peak_severity}); {where}."
