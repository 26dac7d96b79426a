"""API keys on requests: `Authorization: Bearer <key>`, `X-API-Key: <key>`, or HTTP
Basic with the key as the password (VoiceXML browsers that can set no header take
`https://ivr:<key>@host/` URLs).

Looked-up keys are cached for a short time so that the IVR's hot path does not pay a
store round trip for authentication; a revoked key stops working within `CACHE_SECONDS`.
"""

from __future__ import annotations

import base64
import binascii

from connectors.store import KeyStore
from core.apikeys import ApiKey, hash_key
from core.clock import Clock
from core.errors import Forbidden, Unauthorized

CACHE_SECONDS = 10.0


class KeyRing:
    def __init__(self, store: KeyStore, clock: Clock, bootstrap: ApiKey | None = None) -> None:
        self._store = store
        self._clock = clock
        self._bootstrap = bootstrap
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def lookup(self, secret: str) -> ApiKey | None:
        key_hash = hash_key(secret)
        if self._bootstrap is not None and key_hash == self._bootstrap.key_hash:
            return self._bootstrap
        now = self._clock.now()
        cached = self._cache.get(key_hash)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        key = await self._store.get_api_key(key_hash)
        if len(self._cache) > 10_000:
            self._cache.clear()  # only junk keys pile up this far
        self._cache[key_hash] = (now, key)
        return key

    def forget(self) -> None:
        self._cache.clear()

    async def authorize(self, header: str | None, scope: str) -> ApiKey:
        if not header:
            raise Unauthorized("an API key is required (Authorization: Bearer <key>)")
        key = await self.lookup(_secret(header))
        if key is None:
            raise Unauthorized("unknown or revoked API key")
        if not key.allows(scope):
            raise Forbidden(f"this key lacks the {scope!r} scope", scope=scope)
        return key


def _secret(header: str) -> str:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return header.strip()
