"""The incident walk of a series: open at a flag, extend over flags, resolve after resolve_after clean windows;
insufficient windows neither extend nor resolve; a user's resolve ends the episode at its last flagged window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seia_drift.incidents import Barrier, SeriesWindow, episodes, summary

D0 = datetime(2026, 3, 1, tzinfo=UTC)


def _days(states: str) -> list[SeriesWindow]:
    """F flagged (low), H flagged (high), . clean, ? insufficient; one day each from D0."""
    out = []
    for i, s in enumerate(states):
        start = D0 + timedelta(days=i)
        if s in "FH":
            out.append(SeriesWindow(start, start + timedelta(days=1), "flagged", "high" if s == "H" else "low", s))
        else:
            out.append(SeriesWindow(start, start + timedelta(days=1), "clean" if s == "." else "insufficient"))
    return out


def _shape(found) -> list[tuple[int, int, int | None]]:
    """(first day, flagged windows, day after the window that resolved it or None)."""
    return [
        (
            (e.first_window_start - D0).days,
            len(e.flagged),
            None if e.closed_window_end is None else (e.closed_window_end - D0).days,
        )
        for e in found
    ]


def test_one_episode_spans_short_clean_gaps_and_resolves_after_three_clean_windows():
    assert _shape(episodes(_days("FF.F..F...F"), 3)) == [(0, 4, 10), (10, 1, None)]


def test_insufficient_windows_neither_extend_nor_resolve():
    # a naive walk that took ? for clean would resolve on day 3 and open a second incident on day 5
    assert _shape(episodes(_days("F.?.?F"), 3)) == [(0, 2, None)]
    # nor do they extend: the episode still counts one flagged window
    assert _shape(episodes(_days("F???..."), 3)) == [(0, 1, 7)]


def test_resolve_after_one_closes_at_the_first_clean_window():
    assert _shape(episodes(_days("F.F"), 1)) == [(0, 1, 2), (2, 1, None)]


def test_severity_is_the_last_flagged_and_the_peak_the_worst():
    [e] = episodes(_days("FHF"), 3)
    assert (e.severity, e.peak_severity) == ("low", "high")


def test_a_manual_resolve_ends_the_episode_at_its_last_flagged_window_and_a_new_flag_opens_another():
    barrier = Barrier(7, D0, D0 + timedelta(days=2))  # resolved by a user after days 0 and 1
    found = episodes(_days("FFFF"), 3, [barrier])
    assert _shape(found) == [(0, 2, None), (2, 2, None)]
    assert found[0].barrier == barrier and found[1].barrier is None


def test_resolve_after_must_be_at_least_one():
    with pytest.raises(ValueError, match="resolve_after"):
        episodes(_days("F"), 0)


def test_the_summary_is_one_plain_sentence():
    [e] = episodes(_days("FH.F..."), 3)
    assert summary("feature_drift", "age", "distribution", "day", e, "resolved") == (
        "Feature age drifted in 3 days between 2026-03-01 and 2026-03-04 (at worst high); "
        "resolved, clean again since 2026-03-05."
    )
    [e] = episodes(_days("F"), 3)
    assert summary("performance", "accuracy", "accuracy", "day", e, "open") == (
        "Accuracy dropped in the day of 2026-03-01 (at worst low); still open."
    )
