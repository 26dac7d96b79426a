"""Rolling-window totals at read time, from daily buckets or day bitmaps.

A W-day window is the W calendar days (UTC) ending today; the previous one the W before.
Totals come in the order [7, prev 7, 30, prev 30, 90, prev 90].
"""

from __future__ import annotations

from typing import Any

WINDOWS = (7, 30, 90)


def bucket_totals(flat: list[Any], stride: int, today: int) -> tuple[list[int], list[float]]:
    """Counts and sums from a flat [day, count, (sum,) ...] list."""
    counts = [0] * 6
    sums = [0.0] * 6
    for at in range(0, len(flat), stride):
        age = today - flat[at]
        for slot, width in enumerate(WINDOWS):
            if age < width:
                k = slot * 2
            elif age < 2 * width:
                k = slot * 2 + 1
            else:
                continue
            counts[k] += flat[at + 1]
            if stride == 3:
                sums[k] += flat[at + 2]
    return counts, sums


def bitmap_totals(anchor: int, hex_mask: str, today: int) -> list[int]:
    """Days with activity, from a bitmap whose bit i is day `anchor - i`."""
    mask = int(hex_mask, 16)
    shift = today - anchor  # bit i is (shift + i) days old
    out = []
    for width in WINDOWS:
        current = max(0, width - shift)
        previous = max(0, 2 * width - shift)
        out.append((mask & ((1 << current) - 1)).bit_count())
        out.append(((mask >> current) & ((1 << (previous - current)) - 1)).bit_count())
    return out
