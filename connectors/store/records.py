"""How records are written into either store: API keys, and customer records packed by
`core.compression` (a record is mostly the same keys and consent proofs every time)."""

from __future__ import annotations

from functools import cache

import orjson

from core.apikeys import ApiKey
from core.compression import Packer


@cache
def _packer() -> Packer:
    return Packer("record")


def dump_key(key: ApiKey) -> bytes:
    return orjson.dumps(
        {
            "id": key.id,
            "name": key.name,
            "scopes": sorted(key.scopes),
            "key_hash": key.key_hash,
            "created_at": key.created_at,
        }
    )


def load_key(raw: bytes | str) -> ApiKey:
    data = orjson.loads(raw)
    return ApiKey(
        id=data["id"],
        name=data["name"],
        scopes=frozenset(data["scopes"]),
        key_hash=data["key_hash"],
        created_at=data["created_at"],
    )


def identities_of(record: bytes | None) -> list[tuple[str, str]]:
    """The normalized identities a stored customer record holds."""
    if not record:
        return []
    return [(i["kind"], i["value"]) for i in orjson.loads(record).get("identities", [])]


def index_terms_of(record: bytes | None) -> set[str]:
    """The audience terms a stored record is indexed under: `r:<region>`, `s:<service>`,
    `n:<network node>` (see `core.audience`)."""
    if not record:
        return set()
    data = orjson.loads(record)
    terms = {f"s:{s}" for s in data.get("services", [])}
    terms |= {f"n:{n}" for n in data.get("network_nodes", [])}
    if data.get("region"):
        terms.add(f"r:{data['region']}")
    return terms


def pack_record(record_json: bytes) -> bytes:
    return _packer().pack(record_json)


def unpack_record(stored: bytes) -> bytes:
    """The record's JSON, whether packed or (as tests may write it) plain."""
    return stored if stored[:1] == b"{" else _packer().unpack(stored)


def without_customer(incident: bytes, customer_id: str) -> bytes | None:
    """The incident record with the customer taken out of its scope; None when the scope
    never named them (then nothing needs writing)."""
    if customer_id.encode() not in incident:
        return None
    data = orjson.loads(incident)
    named = data.get("scope", {}).get("customer_ids", [])
    if customer_id not in named:
        return None
    data["scope"]["customer_ids"] = [c for c in named if c != customer_id]
    return orjson.dumps(data)
