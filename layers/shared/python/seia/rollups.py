"""Daily rollups of numeric sketches: a day's bin counts as one fixed-width integer, so that the query
path adds up a year of them in pure Python (no numpy in the query function) at the cost of one big-integer
addition per day and feature.

Each bin's count is a 48-bit little-endian field (a count of up to 2.8e14 per bin over any range);
``int.from_bytes`` of the stored bytes adds all bins at once, and the sum is split into bins once,
at the end. Categorical rollups are small dicts of counts and are merged as dicts.

Examples
--------
>>> total = wide(pack_counts([1, 0, 7])) + wide(pack_counts([2, 5, 0]))
>>> unpack_counts(total, 3)
[3, 5, 7]
>>> unpack_counts(wide_sparse([2], [4]) + total, 3)
[3, 5, 11]
"""

from __future__ import annotations

from collections.abc import Sequence

WIDTH = 6  # bytes per bin


def pack_counts(counts: Sequence[int]) -> bytes:
    """The stored form of dense bin counts."""
    return b"".join(int(c).to_bytes(WIDTH, "little") for c in counts)


def wide(data: bytes) -> int:
    """Stored counts as one integer; the integers of several add up to their merged counts."""
    return int.from_bytes(data, "little")


def wide_sparse(bins: Sequence[int], counts: Sequence[int]) -> int:
    """The integer of packed hourly counts (:mod:`seia.sparse`: non-empty bins and their counts).

    Written into bytes and converted once: adding shifted integers bin by bin would cost a big-integer
    addition per bin (a dense hour has hundreds)."""
    if not bins:
        return 0
    data = bytearray(WIDTH * (max(bins) + 1))
    for b, c in zip(bins, counts):
        data[WIDTH * b : WIDTH * (b + 1)] = int(c).to_bytes(WIDTH, "little")
    return int.from_bytes(data, "little")


def unpack_counts(total: int, size: int) -> list[int]:
    """Dense counts of a sum of :func:`wide` integers."""
    data = total.to_bytes(size * WIDTH, "little")
    return [int.from_bytes(data[i : i + WIDTH], "little") for i in range(0, size * WIDTH, WIDTH)]
