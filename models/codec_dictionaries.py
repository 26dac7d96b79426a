"""Train the compression dictionaries for stored records and profiles.

    python -m models.codec_dictionaries [--customers 3000]

Writes the next version of `core/dictionaries/{record,profile}-N.zdict`, trained on a
simulated population folded through the real profile code. Existing versions are never
touched: stored data names the version it was packed with.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import orjson
import zstandard

from core.compression import DICTIONARIES
from core.customers import Customer, CustomerIn, Identity
from core.events import Catalogue, Event
from core.identity import IdentityKind
from models.simulator import SimulatorConfig, simulate
from predictors import profile
from predictors.profile_codec import Seen

SIZE = 2048


def samples(customers: int) -> tuple[list[bytes], list[bytes]]:
    end = datetime.now(UTC)
    world = simulate(SimulatorConfig(customers=customers, end=end, seed=11))
    catalogue = Catalogue.with_extensions()
    records = []
    for raw in world.customers:
        body = CustomerIn.model_validate({k: v for k, v in raw.items() if k != "id"})
        ids = body.normalized_identities("RU")
        customer = Customer(
            **body.model_dump(exclude={"identities"}),
            identities=[Identity(kind=IdentityKind(k), value=v) for k, v in ids],
            id=raw["id"],
            updated_at=end,
        )
        records.append(customer.model_dump_json(exclude_defaults=True).encode())
    states: dict[str, dict[str, object]] = {}
    for e in world.events:
        ts = datetime.fromisoformat(e["ts"]).timestamp()
        event = Event(e["id"], e["type"], e["customer_id"], ts, e["data"])
        profile.apply(
            states.setdefault(e["customer_id"], {}), Seen(), [event], catalogue, end.timestamp()
        )
    return records, [orjson.dumps(s) for s in states.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=3000)
    args = parser.parse_args()
    records, profiles = samples(args.customers)
    DICTIONARIES.mkdir(exist_ok=True)
    for kind, data in (("record", records), ("profile", profiles)):
        existing = [int(p.stem.rsplit("-", 1)[1]) for p in DICTIONARIES.glob(f"{kind}-*.zdict")]
        version = max(existing, default=0) + 1
        trained = zstandard.train_dictionary(SIZE, list[bytes | bytearray | memoryview](data))
        path = DICTIONARIES / f"{kind}-{version}.zdict"
        path.write_bytes(trained.as_bytes())
        print(f"{path}: {len(data)} samples")


if __name__ == "__main__":
    main()
