"""Window totals from bitmaps agree with counting the days by hand."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from predictors.profile import HORIZON_DAYS, _mark_day
from predictors.profile_codec import Seen
from predictors.windows import WINDOWS, bitmap_totals

TODAY = 2500


@given(st.lists(st.integers(TODAY - 400, TODAY), max_size=60), st.integers(0, 200))
def test_bitmap_windows_count_distinct_days(days: list[int], later: int) -> None:
    bitmaps: dict[str, list[Any]] = {}
    for day in days:
        _mark_day(bitmaps, "login", day)
    today = TODAY + later
    expected = []
    kept = {d for d in days if max(days) - d < HORIZON_DAYS}
    for width in WINDOWS:
        expected.append(len({d for d in kept if today - d < width}))
        expected.append(len({d for d in kept if width <= today - d < 2 * width}))
    anchor, mask = bitmaps["login"] if days else (0, "0")
    got = bitmap_totals(anchor, mask, today) if days else [0] * 6
    assert got == expected


def test_seen_prunes_by_kind() -> None:
    seen = Seen()
    seen.add(b"aaaaaa", 100, short_lived=False)
    seen.add(b"bbbbbb", 100, short_lived=True)
    seen.add(b"cccccc", 110, short_lived=True)
    seen.prune(keep_from=90, keep_short_from=105)
    assert b"aaaaaa" in seen and b"bbbbbb" not in seen and b"cccccc" in seen
    assert len(Seen(bytes(seen.raw))) == 2
