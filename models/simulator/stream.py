"""The event stream in columns while it is drawn, then sorted into one table.

Generators add whole batches of one event type (customer positions, times, and the
`data` objects); nothing per event but the `data` dict is a Python object until the
table is read, so a world of 100k customers stays affordable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.simulator.population import DAY, Activity, Floats, Ints, Population

# Sign-ins, shopping and calls by local hour: quiet at night, peaks late morning and evening.
_HOURLY = np.array(
    [3, 1.5, 1, 1, 1, 2, 6, 12, 18, 22, 25, 25, 24, 23, 22, 21, 21, 22, 24, 26, 25, 20, 12, 6]
)
HOURLY_SHARE = _HOURLY / _HOURLY.sum()

# Moments when a situation arose for customers: (customer positions, times).
Moments = tuple[Ints, Floats]


class EventStream:
    """Batches of events in the order they were drawn."""

    def __init__(self) -> None:
        self._types: list[str] = []
        self._type_of: list[Ints] = []
        self._cust: list[Ints] = []
        self._t: list[Ints] = []
        self._data: list[dict[str, Any]] = []
        self.size = 0

    def add(self, type_: str, cust: Ints, t: Floats | Ints, data: list[dict[str, Any]]) -> int:
        """Append a batch; return the row of its first event (for later reference)."""
        if not (len(cust) == len(t) == len(data)):
            raise ValueError(f"{type_}: batch columns differ in length")
        if type_ not in self._types:
            self._types.append(type_)
        code = self._types.index(type_)
        first = self.size
        self._type_of.append(np.full(len(cust), code, dtype=np.int64))
        self._cust.append(np.asarray(cust, dtype=np.int64))
        self._t.append(np.floor(np.asarray(t)).astype(np.int64))
        self._data.extend(data)
        self.size += len(cust)
        return first

    def columns(
        self, type_: str, cust: Ints, t: Floats | Ints, **fields: Sequence[Any] | NDArray[Any]
    ) -> int:
        """Append a batch whose `data` has the same fields in every event."""
        names = list(fields)
        values = [f.tolist() if isinstance(f, np.ndarray) else list(f) for f in fields.values()]
        # Dict displays are several times faster than dict(zip(...)) per event.
        data: list[dict[str, Any]]
        if not names:
            data = [{} for _ in range(len(cust))]
        elif len(names) == 1:
            (a,) = names
            data = [{a: x} for x in values[0]]
        elif len(names) == 2:
            a, b = names
            data = [{a: x, b: y} for x, y in zip(*values, strict=True)]
        elif len(names) == 3:
            a, b, c = names
            data = [{a: x, b: y, c: z} for x, y, z in zip(*values, strict=True)]
        else:
            data = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
        return self.add(type_, cust, t, data)

    def table(self, start_epoch: int) -> EventTable:
        """Sort by time; ties keep the order drawn, so causes precede their effects."""
        t = np.concatenate(self._t) if self._t else np.zeros(0, dtype=np.int64)
        order = np.argsort(t, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        cat = np.concatenate

        def sort(parts: list[Ints]) -> Ints:
            return cat(parts)[order] if parts else np.zeros(0, dtype=np.int64)

        return EventTable(
            types=tuple(self._types),
            type_of=sort(self._type_of),
            cust=sort(self._cust),
            t=t[order],
            data=_reorder(self._data, order),
            rank=rank,
            start_epoch=start_epoch,
        )


def _reorder(items: list[dict[str, Any]], order: Ints) -> list[dict[str, Any]]:
    # An object array gathers in C: about twice as fast as a list comprehension.
    boxed = np.empty(len(items), dtype=object)
    boxed[:] = items
    out: list[dict[str, Any]] = boxed[order].tolist()
    return out


@dataclass(frozen=True)
class EventTable:
    """All events sorted by time; the k-th has id `e` + k+1 (zero-padded)."""

    types: tuple[str, ...]
    type_of: Ints
    cust: Ints
    t: Ints
    data: list[dict[str, Any]]
    rank: Ints  # drawn row -> sorted position
    start_epoch: int

    def __len__(self) -> int:
        return len(self.t)

    @property
    def id_width(self) -> int:
        return max(8, len(str(len(self.t))))

    def event_id(self, position: int) -> str:
        return f"e{position + 1:0{self.id_width}d}"

    def iter_dicts(
        self, customer_ids: Sequence[str], chunk: int = 65536
    ) -> Iterator[dict[str, Any]]:
        width = self.id_width
        for lo in range(0, len(self.t), chunk):
            hi = min(lo + chunk, len(self.t))
            stamps = iso(self.t[lo:hi] + self.start_epoch)
            kinds = self.type_of[lo:hi].tolist()
            custs = self.cust[lo:hi].tolist()
            for k in range(hi - lo):
                yield {
                    "id": f"e{lo + k + 1:0{width}d}",
                    "type": self.types[kinds[k]],
                    "customer_id": customer_ids[custs[k]],
                    "ts": stamps[k],
                    "data": self.data[lo + k],
                }


def iso(epoch_seconds: NDArray[np.int64]) -> list[str]:
    """UTC ISO-8601 stamps like 2026-10-02T12:34:56Z."""
    stamps = np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), timezone="UTC")
    return [str(s) for s in stamps.tolist()]


def in_daytime(rng: np.random.Generator, pop: Population, cust: Ints, t: Floats) -> Floats:
    """Move each moment to a local hour typical for people, within the same local day."""
    offset = pop.utc_offset[cust]
    local_day = np.floor((t + offset) / DAY) * DAY
    hour = rng.choice(24, size=len(t), p=HOURLY_SHARE)
    second = hour * 3600 + rng.integers(0, 3600, size=len(t))
    return np.asarray(local_day + second - offset, dtype=np.float64)


def not_at_night(rng: np.random.Generator, pop: Population, cust: Ints, t: Floats) -> Floats:
    """Push moments that fall in the local night (0-7h) to the next morning; never earlier."""
    local = (t + pop.utc_offset[cust]) % DAY
    night = local < 7 * 3600
    morning = 7 * 3600 - local + rng.uniform(0, 5 * 3600, size=len(t))
    return np.where(night, t + morning, t)


def within(horizon: int, t: Floats) -> NDArray[np.bool_]:
    return (t >= 0) & (t < horizon)


def poisson_moments(
    rng: np.random.Generator, pop: Population, per_day: Floats, kind: Activity
) -> Moments:
    """Daytime moments of a Poisson process per customer, thinned by their activity."""
    counts = rng.poisson(per_day * pop.horizon / DAY)
    cust = np.repeat(np.arange(pop.n, dtype=np.int64), counts)
    t = rng.uniform(0, pop.horizon, size=len(cust))
    keep = rng.random(len(cust)) < pop.activity(cust, t, kind)
    cust, t = cust[keep], t[keep]
    t = np.floor(in_daytime(rng, pop, cust, t))
    inside = within(pop.horizon, t)
    return cust[inside], t[inside]
