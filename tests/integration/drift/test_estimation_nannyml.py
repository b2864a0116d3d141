"""Seia's estimate against NannyML 0.13's CBPE (bench/estimation.py), where its virtualenv exists.

``.local/venvs/nannyml`` is the benchmark's scratch environment (``make bench BENCH_ARGS="--only
estimation"`` creates it); nannyml never enters the functions, so without it this test is skipped.
"""

from __future__ import annotations

import pytest

from bench.history import VENV

pytestmark = pytest.mark.skipif(
    not (VENV / "bin" / "python").exists(), reason="no NannyML virtualenv (.local/venvs/nannyml)"
)


def test_the_estimates_match_nannyml_cbpe_and_cover_the_realized_value_as_often():
    from bench import estimation

    figures = estimation.measure()
    for task in ("binary", "multiclass"):
        for metric in estimation.METRICS:
            f = figures[task][metric]
            assert f["diff"] <= 0.01, (task, metric, f)
            assert f["seia_in"] >= f["nannyml_in"], (task, metric, f)
