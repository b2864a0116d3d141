"""Daily rollup counts (seia/rollups.py): a year of days added as integers equals adding them bin by bin."""

from __future__ import annotations

import random

from seia.rollups import WIDTH, pack_counts, unpack_counts, wide, wide_sparse
from seia.sparse import sparse


def test_a_year_of_days_adds_up_bin_by_bin():
    rng = random.Random(7)
    days = [[rng.choice((0, 0, 1, 5, 1000, 2**40)) for _ in range(513)] for _ in range(365)]
    total = sum(wide(pack_counts(d)) for d in days)
    assert unpack_counts(total, 513) == [sum(col) for col in zip(*days)]


def test_packed_hours_and_stored_days_merge_alike():
    hour = [0, 3, 0, 0, 9]
    day = [1, 1, 1, 1, 1]
    assert unpack_counts(wide_sparse(*sparse(hour)) + wide(pack_counts(day)), 5) == [1, 4, 1, 1, 10]


def test_a_count_fills_its_field_without_touching_the_next():
    biggest = 2 ** (8 * WIDTH) - 1
    assert unpack_counts(wide(pack_counts([biggest, 0, 7])), 3) == [biggest, 0, 7]
    assert len(pack_counts([0] * 513)) == 513 * WIDTH
