"""API keys: random secrets shown once, kept only as SHA-256 hashes, each with scopes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "fc_"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scopes: frozenset[str]
    key_hash: str
    created_at: float

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def hash_key(secret: str) -> str:
    # The secrets are 256-bit random strings, so a plain hash cannot be brute-forced;
    # a slow KDF would only slow every request down.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(name: str, scopes: frozenset[str], now: float) -> tuple[str, ApiKey]:
    """A fresh secret (to show once) and the record to store."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        id=secrets.token_hex(6),
        name=name,
        scopes=scopes,
        key_hash=hash_key(secret),
        created_at=now,
    )
    return secret, record
