"""Network outages: episodes in one region for some services. Customers affected by one
call about it far more often while it lasts. Profiles cannot see outages; the runtime
learns of them from incident tooling, which is why every contact is labelled with
whether it fell inside an episode that touched the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.simulator import catalog
from models.simulator.population import DAY, Bools, Floats, Ints, Population
from models.simulator.stream import Moments, iso

HOUR = 3600
# Chance that an episode touches each service: broadband fails most often.
SERVICE_HIT = (0.8, 0.25, 0.4, 0.1)


@dataclass(frozen=True)
class Outages:
    region: Ints
    services: Bools  # (episodes, len(SERVICES))
    start: Floats
    end: Floats
    severity: Floats  # chance an affected customer calls while it lasts

    def __len__(self) -> int:
        return len(self.region)

    def affected(self, pop: Population, cust: Ints, t: Floats | Ints) -> Bools:
        """Whether each (customer, moment) fell inside an episode that touched them."""
        hit = np.zeros(len(cust), dtype=np.bool_)
        for k in range(len(self)):
            during = (t >= self.start[k]) & (t <= self.end[k])
            touched = (pop.region[cust] == self.region[k]) & (
                pop.services[cust] & self.services[k]
            ).any(axis=1)
            hit |= during & touched
        return hit

    def records(self, start_epoch: int) -> list[dict[str, Any]]:
        starts = iso(self.start.astype(np.int64) + start_epoch)
        ends = iso(self.end.astype(np.int64) + start_epoch)
        return [
            {
                "id": f"inc{k + 1:04d}",
                "region": catalog.REGIONS[int(self.region[k])][0],
                "services": [
                    s for s, on in zip(catalog.SERVICES, self.services[k], strict=True) if on
                ],
                "start": starts[k],
                "end": ends[k],
            }
            for k in range(len(self))
        ]


def draw(rng: np.random.Generator, horizon: int) -> Outages:
    """About one episode somewhere every six days, lasting from half an hour to a day."""
    count = int(rng.poisson(horizon / DAY / 6))
    weights = np.array([r[3] for r in catalog.REGIONS])
    region = rng.choice(len(catalog.REGIONS), size=count, p=weights / weights.sum())
    services = rng.random((count, len(catalog.SERVICES))) < np.array(SERVICE_HIT)
    services[~services.any(axis=1), 0] = True
    start = np.floor(rng.uniform(0, horizon - HOUR, count))
    duration = np.clip(rng.lognormal(np.log(3 * HOUR), 0.9, count), 0.5 * HOUR, 24 * HOUR)
    order = np.argsort(start, kind="stable")
    return Outages(
        region=region[order].astype(np.int64),
        services=services[order],
        start=start[order],
        end=np.floor(start + duration)[order],
        severity=rng.uniform(0.02, 0.07, count)[order],
    )


def calls(rng: np.random.Generator, pop: Population, outages: Outages) -> Moments:
    """Outage calls: affected customers ring soon after it starts, while it lasts."""
    custs: list[Ints] = []
    times: list[Floats] = []
    for k in range(len(outages)):
        touched = (pop.region == outages.region[k]) & (pop.services & outages.services[k]).any(
            axis=1
        )
        who = np.flatnonzero(touched & (rng.random(pop.n) < outages.severity[k]))
        length = outages.end[k] - outages.start[k]
        t = outages.start[k] + rng.exponential(min(1.5 * HOUR, length / 3), size=len(who))
        ok = (t < outages.end[k]) & (t < pop.horizon)
        custs.append(who[ok].astype(np.int64))
        times.append(np.floor(t[ok]))
    if not custs:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(custs), np.concatenate(times)
