"""`python -m models.simulator --customers 2000 --days 120 --seed 7 --out DIR`"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import datetime

from models.simulator.export import write_jsonl
from models.simulator.world import DEFAULT_END, SimulatorConfig, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.simulator",
        description="Simulate a seeded customer population and write it as files.",
    )
    parser.add_argument("--customers", type=int, default=SimulatorConfig.customers)
    parser.add_argument("--days", type=int, default=SimulatorConfig.days)
    parser.add_argument("--seed", type=int, default=SimulatorConfig.seed)
    parser.add_argument(
        "--end",
        type=datetime.fromisoformat,
        default=DEFAULT_END,
        help="end of the span, UTC (default %(default)s)",
    )
    parser.add_argument("--noise-share", type=float, default=SimulatorConfig.noise_share)
    parser.add_argument("--churn-prior", type=float, default=SimulatorConfig.churn_prior)
    parser.add_argument("--b2b-share", type=float, default=SimulatorConfig.b2b_share)
    parser.add_argument("--out", required=True, help="directory for the files")
    args = parser.parse_args(argv)
    try:
        config = SimulatorConfig(
            customers=args.customers,
            days=args.days,
            end=args.end,
            seed=args.seed,
            noise_share=args.noise_share,
            churn_prior=args.churn_prior,
            b2b_share=args.b2b_share,
        )
    except ValueError as exc:
        parser.error(str(exc))
    began = time.perf_counter()
    world = simulate(config)
    simulated = time.perf_counter() - began
    paths = write_jsonl(world, args.out)
    written = time.perf_counter() - began - simulated
    events = len(world.table)
    reasons = Counter(label.reason for label in world.contacts)
    churned = sum(world.churn.values())
    say = sys.stderr.write
    say(f"customers {len(world.customers)}\n")
    say(f"events {events} ({events / len(world.customers):.1f} per customer)\n")
    say(f"outages {len(world.outages)}\n")
    say(f"contacts {len(world.contacts)}\n")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        say(f"  {reason:<18} {count}\n")
    say(f"churn rate {churned / len(world.churn):.3f}\n")
    folder = paths["events.jsonl"].parent
    say(f"simulated in {simulated:.2f} s, written in {written:.2f} s to {folder}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
