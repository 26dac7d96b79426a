"""Training tables from a simulated world, built with the runtime's own code paths.

Every customer's events are folded in time order with `predictors.profile.apply` (as
live ingest would, each with `now` at its own time), and the feature row of a contact
is read with `predictors.features.fill` from the state just BEFORE that contact: what
the IVR sees when the call arrives. Churn rows are read at the end of the span.

    python -m models.dataset --customers 20000 --seed 7 --out data/train

writes `reasons.csv` (every feature, `utterance`, `reason`, `customer_id`, `ts`) and
`churn.csv` (every feature, `churned` as 0/1, `customer_id`).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.events import Catalogue, Event
from models.simulator import SimulatorConfig, World, simulate
from models.simulator.stream import iso
from predictors.features import FEATURES, WIDTH, fill
from predictors.profile import apply
from predictors.profile_codec import Seen

Matrix = npt.NDArray[np.float32]
REASON_FILE, CHURN_FILE = "reasons.csv", "churn.csv"


@dataclass(frozen=True)
class Examples:
    """Reason rows (one per contact, in time order) and churn rows (one per customer)."""

    reason_x: Matrix
    reasons: list[str]
    texts: list[str]
    customer_ids: list[str]
    ts: list[float]
    churn_x: Matrix
    churned: list[bool]
    churn_ids: list[str]


def reason_examples(
    world: World,
) -> tuple[Matrix, list[str], list[str], list[str], list[float]]:
    """(features, reasons, utterances, customer ids, contact times) per contact."""
    ex = build(world)
    return ex.reason_x, ex.reasons, ex.texts, ex.customer_ids, ex.ts


def churn_examples(world: World) -> tuple[Matrix, list[bool]]:
    """(features at the end of the span, churned) per customer, in `world.customers` order."""
    ex = build(world)
    return ex.churn_x, ex.churned


def build(world: World, catalogue: Catalogue | None = None) -> Examples:
    """Both tables in one pass over the events."""
    catalogue = catalogue or Catalogue.with_extensions()
    table = world.table
    types = table.types
    contact_code = types.index("contact") if "contact" in types else -1
    product_codes = {types.index(t) for t in ("product_activated", "product_deactivated")
                     if t in types}  # fmt: skip
    labels = {int(label.event_id[1:]) - 1: label for label in world.contacts}
    start = table.start_epoch
    end = world.config.end.timestamp()
    kinds = table.type_of.tolist()
    stamps = table.t.tolist()
    by_customer = np.argsort(table.cust, kind="stable")  # time order within each customer
    bounds = np.searchsorted(table.cust[by_customer], np.arange(len(world.customers) + 1))
    walk = by_customer.tolist()

    reason_x = np.zeros((len(labels), WIDTH), dtype=np.float32)
    churn_x = np.zeros((len(world.customers), WIDTH), dtype=np.float32)
    rows: list[tuple[int, int]] = []  # (table position, row in reason_x) to sort by time
    width = table.id_width
    data = table.data
    for c, record in enumerate(world.customers):
        cid = record["id"]
        mine = walk[bounds[c] : bounds[c + 1]]
        profile = _as_of_start(record, [p for p in mine if kinds[p] in product_codes], table)
        state: dict[str, Any] = {}
        seen = Seen()
        for p in mine:
            kind = kinds[p]
            ts = float(stamps[p] + start)
            if kind == contact_code:
                label = labels[p]
                fill(reason_x[len(rows)], state, profile, ts, label.affected_by_outage)
                rows.append((p, len(rows)))
            elif kind in product_codes:
                _switch(profile, types[kind], data[p]["product"])
            event = Event(f"e{p + 1:0{width}d}", types[kind], cid, ts, data[p])
            apply(state, seen, (event,), catalogue, ts)
        fill(churn_x[c], state, record, end)

    rows.sort()
    order = [k for _, k in rows]
    positions = np.array([p for p, _ in rows], dtype=np.int64)
    chosen = [labels[p] for p, _ in rows]
    return Examples(
        reason_x=reason_x[order],
        reasons=[label.reason for label in chosen],
        texts=[label.utterance for label in chosen],
        customer_ids=[label.customer_id for label in chosen],
        ts=(table.t[positions] + start).astype(np.float64).tolist(),
        churn_x=churn_x,
        churned=[world.churn[c["id"]] for c in world.customers],
        churn_ids=[c["id"] for c in world.customers],
    )


def _as_of_start(record: dict[str, Any], changes: list[int], table: Any) -> dict[str, Any]:
    """What `fill` reads of the customer record, with the products held at the start:
    the record is as of the end, so the span's switches are undone, latest first."""
    held = list(record.get("products", ()))
    for p in reversed(changes):
        product = table.data[p]["product"]
        if table.types[table.type_of[p]] == "product_activated":
            if product in held:
                held.remove(product)
        elif product not in held:
            held.append(product)
    return {
        "segment": record.get("segment", "b2c"),  # defaults are not stored
        "monthly_revenue": record.get("monthly_revenue"),
        "services": record.get("services", ()),
        "products": held,
    }


def _switch(profile: dict[str, Any], type_: str, product: str) -> None:
    held: list[str] = profile["products"]
    if type_ == "product_activated" and product not in held:
        held.append(product)
    elif type_ == "product_deactivated" and product in held:
        held.remove(product)


def write_csv(examples: Examples, directory: str | Path) -> dict[str, Path]:
    """Write `reasons.csv` and `churn.csv` into `directory` (created if missing)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {REASON_FILE: out / REASON_FILE, CHURN_FILE: out / CHURN_FILE}
    stamps = iso(np.asarray(examples.ts, dtype=np.int64))
    with paths[REASON_FILE].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES, "utterance", "reason", "customer_id", "ts"])
        for values, text, reason, cid, stamp in zip(
            _numbers(examples.reason_x),
            examples.texts,
            examples.reasons,
            examples.customer_ids,
            stamps,
            strict=True,
        ):
            writer.writerow([*values, text, reason, cid, stamp])
    with paths[CHURN_FILE].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES, "churned", "customer_id"])
        for values, flag, cid in zip(
            _numbers(examples.churn_x), examples.churned, examples.churn_ids, strict=True
        ):
            writer.writerow([*values, int(flag), cid])
    return paths


def _numbers(x: Matrix) -> list[list[str]]:
    # Seven significant digits: float32 precision, and whole numbers stay whole ("3").
    return [[f"{v:.7g}" for v in row] for row in x.tolist()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.dataset",
        description="Simulate a population and write reason and churn training tables.",
    )
    parser.add_argument("--customers", type=int, default=SimulatorConfig.customers)
    parser.add_argument("--days", type=int, default=SimulatorConfig.days)
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument("--noise-share", type=float, default=SimulatorConfig.noise_share)
    parser.add_argument("--out", required=True, help="directory for the tables")
    args = parser.parse_args(argv)
    try:
        config = SimulatorConfig(
            customers=args.customers, days=args.days, seed=args.seed, noise_share=args.noise_share
        )
    except ValueError as exc:
        parser.error(str(exc))
    began = time.perf_counter()
    world = simulate(config)
    simulated = time.perf_counter() - began
    examples = build(world)
    built = time.perf_counter() - began - simulated
    paths = write_csv(examples, args.out)
    written = time.perf_counter() - began - simulated - built
    say = sys.stderr.write
    say(f"reason rows {len(examples.reasons)}, churn rows {len(examples.churned)}\n")
    say(f"simulated in {simulated:.1f} s, folded in {built:.1f} s, written in {written:.1f} s")
    say(f" to {paths[REASON_FILE].parent}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
