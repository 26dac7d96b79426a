"""A seeded synthetic population of a telecom, retail and banking provider's customers:
customer records, event streams, outage episodes, labelled contacts and churn labels.

    world = simulate(SimulatorConfig(customers=2000, seed=7))
    write_jsonl(world, "data/sim")

The demo, the default models, the tests and the benchmarks all use it.
"""

from models.simulator.catalog import CONTACT_REASONS
from models.simulator.export import FILES, iter_batches, iter_events, put_body, write_jsonl
from models.simulator.world import ContactLabel, SimulatorConfig, World, simulate

__all__ = [
    "CONTACT_REASONS",
    "FILES",
    "ContactLabel",
    "SimulatorConfig",
    "World",
    "iter_batches",
    "iter_events",
    "put_body",
    "simulate",
    "write_jsonl",
]
