"""How the drift verdict behaves as the window shrinks: figures and ``docs/small_windows.svg``.

    PYTHONPATH=layers/shared/python:. .venv/bin/python docs/small_windows.py [--quick]

prints, for the stationary model of ``tests/support/smallsample.py`` (20 categorical features of 5 to
30 levels, 5,000 reference rows, 60 windows, seeds 0..19), the share of seeds with any drift verdict
and of (feature, window) pairs called drift at each window size, and the per-window detection of a
shift whose true Jensen–Shannon distance is the threshold (0.1) at 1,000 rows. It then draws the JS
distance chance alone reaches at each window size (:func:`seia.stats.drift.js_chance`, the verdict's
bar when above the threshold) against the mean JS of a window without drift (what the verdict compared
with the threshold before), for 5 to 30 cells. No plotting library: the SVG is written by hand.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from seia import stats
from seia.stats.drift import CHANCE_LEVEL
from tests.support import smallsample as s

OUT = Path(__file__).with_name("small_windows.svg")
CELLS = (5, 10, 20, 30)
COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a")


def stationary(rows: int, seeds: range) -> tuple[float, float]:
    noisy, flags = 0, 0
    for seed in seeds:
        refs = s.references(seed)
        n = sum(v == "drift" for w in s.windows(seed, rows) for v in s.verdicts(refs, w).values())
        noisy, flags = noisy + (n > 0), flags + n
    return noisy / len(seeds), flags / (len(seeds) * s.WINDOWS * len(s.FEATURES))


def detection(seeds: range, windows: int = 10) -> list[float]:
    threshold = stats.Thresholds().js_distance
    rate = [0.0] * len(s.FEATURES)
    for seed in seeds:
        refs = s.references(seed)
        shift = {i: s.shifted(s.proportions(i), 0, threshold) for i in range(len(s.FEATURES))}
        for w in s.windows(seed, 1_000, windows, shift):
            for i, verdict in enumerate(s.verdicts(refs, w).values()):
                rate[i] += (verdict == "drift") / (windows * len(seeds))
    return rate


def chance_js(cells: int, n: int, reference: int = s.REFERENCE_ROWS) -> float:
    d = stats.chi2_isf(CHANCE_LEVEL, cells - 1) * (1 / n + 1 / reference)
    return min(1.0, math.sqrt(d / (8 * math.log(2))))


def null_mean_js(cells: int, n: int, reference: int = s.REFERENCE_ROWS) -> float:
    return math.sqrt((cells - 1) * (1 / n + 1 / reference) / (8 * math.log(2)))


def svg(path: Path) -> None:
    w, h, left, right, top, bottom = 640, 400, 60, 150, 30, 50
    sizes = [round(10 ** (2 + 2 * i / 100)) for i in range(101)]  # 100 .. 10,000 rows
    ymax = 0.5

    def xy(n: float, v: float) -> str:
        x = left + (math.log10(n) - 2) / 2 * (w - left - right)
        y = top + (1 - min(v, ymax) / ymax) * (h - top - bottom)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{left}" y="18">JS distance of a window without drift, by rows in the window and cells</text>',
    ]
    for n in (100, 200, 500, 1_000, 2_000, 5_000, 10_000):
        x = xy(n, 0).split(",")[0]
        parts.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{h - bottom}" stroke="#eee"/>')
        parts.append(f'<text x="{x}" y="{h - bottom + 16}" text-anchor="middle">{n:,}</text>')
    for v in (0.1, 0.2, 0.3, 0.4, 0.5):
        y = xy(100, v).split(",")[1]
        parts.append(f'<text x="{left - 8}" y="{y}" text-anchor="end" dy="4">{v:.1f}</text>')
    parts.append(f'<text x="{(w - right + left) / 2}" y="{h - 12}" text-anchor="middle">rows in the window</text>')
    y = xy(100, 0.1).split(",")[1]
    x0, x1 = xy(100, 0).split(",")[0], xy(10_000, 0).split(",")[0]
    parts.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="black" stroke-width="1.5"/>')
    parts.append(f'<text x="{float(x1) + 6}" y="{y}" dy="4">threshold 0.1</text>')
    for k, color in zip(CELLS, COLORS, strict=True):
        bar = " ".join(xy(n, chance_js(k, n)) for n in sizes)
        mean = " ".join(xy(n, null_mean_js(k, n)) for n in sizes)
        parts.append(f'<polyline points="{bar}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<polyline points="{mean}" fill="none" stroke="{color}" stroke-dasharray="5,4"/>')
        ly = top + 20 + 18 * CELLS.index(k)
        parts.append(f'<line x1="{w - right + 10}" y1="{ly}" x2="{w - right + 30}" y2="{ly}" stroke="{color}"/>')
        parts.append(f'<text x="{w - right + 36}" y="{ly}" dy="4">{k} cells</text>')
    ly = top + 20 + 18 * len(CELLS) + 10
    parts += [
        f'<text x="{w - right + 10}" y="{ly}">solid: chance level</text>',
        f'<text x="{w - right + 10}" y="{ly + 16}">(the bar, p = {CHANCE_LEVEL:g})</text>',
        f'<text x="{w - right + 10}" y="{ly + 36}">dashed: mean JS</text>',
        f'<text x="{w - right + 10}" y="{ly + 52}">without drift</text>',
        "</svg>",
    ]
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds instead of 20")
    args = parser.parse_args()
    seeds = range(5 if args.quick else 20)
    for rows in (100, 200, 500, *s.SIZES[2:]):
        quiet, rate = stationary(rows, seeds)
        print(
            f"stationary, {rows:>5} rows a window: seeds with a drift verdict {quiet:.0%}, (feature, window) {rate:.2%}"
        )
    rates = detection(seeds)
    print(
        "shift of JS 0.1 at 1,000 rows, per window: "
        + ", ".join(f"{f} {r:.0%}" for f, r in zip(s.FEATURES, rates, strict=True))
    )
    svg(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
