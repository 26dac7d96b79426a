"""Customers: write, read, find by identity, erase."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.outbox import Outbox
from connectors.store import CustomerStore, Store
from core.batch import check_id
from core.customers import Customer, CustomerIn, Identity
from core.errors import NotFound
from core.identity import IdentityKind, normalize


async def put_customer(
    store: CustomerStore, customer_id: str, body: CustomerIn, default_region: str, now: float
) -> tuple[Customer, bool]:
    """Store the record with normalized identities; True when it is new."""
    check_id("customer_id", customer_id)
    identities = body.normalized_identities(default_region)
    customer = Customer(
        **body.model_dump(exclude={"identities"}),
        identities=[Identity(kind=IdentityKind(k), value=v) for k, v in identities],
        id=customer_id,
        updated_at=datetime.fromtimestamp(now, UTC),
    )
    record = customer.model_dump_json(exclude_defaults=True).encode()
    created = await store.put_customer(customer_id, record, identities)
    return customer, created


async def get_customer(store: CustomerStore, customer_id: str) -> Customer:
    record = await store.get_customer(customer_id)
    if record is None:
        raise NotFound(f"no customer {customer_id!r}")
    return Customer.model_validate_json(record)


async def identify(
    store: CustomerStore, kind: IdentityKind, value: str, default_region: str
) -> str | None:
    return await store.find_customer(kind.value, normalize(kind, value, default_region, kind.value))


async def erase(store: Store, outbox: Outbox, customer_id: str) -> None:
    """Erase the customer everywhere: their queued, scheduled and sent messages, then
    everything the store keeps of them."""
    await outbox.erase_customer(customer_id)
    if not await store.erase_customer(customer_id):
        raise NotFound(f"no customer {customer_id!r}")
