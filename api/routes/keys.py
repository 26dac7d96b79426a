"""API key management (admin scope): the secret is shown once, then only its hash exists."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, field_validator

from api.deps import AdminKey, ClockDep, KeyRingDep, StoreDep
from api.responses import OrjsonResponse, json_response
from core.apikeys import new_key
from core.errors import NotFound
from core.settings import SCOPES

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    scopes: list[str] = Field(min_length=1, json_schema_extra={"items": {"enum": list(SCOPES)}})

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}; scopes: {', '.join(SCOPES)}")
        return value


@router.post("", response_class=OrjsonResponse, status_code=201)
async def create_key(body: NewKey, store: StoreDep, clock: ClockDep, _: AdminKey) -> OrjsonResponse:
    """Create a key; the response is the only time its secret is shown."""
    secret, key = new_key(body.name, frozenset(body.scopes), clock.now())
    await store.put_api_key(key)
    return json_response(
        {"id": key.id, "name": key.name, "scopes": sorted(key.scopes), "key": secret}, 201
    )


@router.get("", response_class=OrjsonResponse)
async def list_keys(store: StoreDep, _: AdminKey) -> OrjsonResponse:
    """Keys by id, name and scopes (never their secrets)."""
    keys = await store.list_api_keys()
    return json_response(
        [
            {"id": k.id, "name": k.name, "scopes": sorted(k.scopes), "created_at": k.created_at}
            for k in keys
        ]
    )


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: str, store: StoreDep, keys: KeyRingDep, _: AdminKey) -> Response:
    """Revoke a key at once in this process (others within the key cache time)."""
    if not await store.revoke_api_key(key_id):
        raise NotFound(f"no key {key_id!r}")
    keys.forget()
    return Response(status_code=204)
